"""Inside a trial, before TensorFlow starts: threads matching the trial's CPUs, and GPU memory
that leaves room for the other trials sharing the device.

Only the last block runs on a GPU machine; everything else is exercised on CPUs.
"""

from __future__ import annotations

import os
import re


def configure_tensorflow(cpus: float, gpu_fraction: float = 0.0, gpu_memory_mb: int | None = None) -> dict:
    """Must run before the first TensorFlow op of the process (TF refuses thread changes after)."""
    threads = max(1, int(round(cpus)))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    gpus = tf.config.list_physical_devices("GPU")
    memory_limit = None
    if gpus:  # GPU-only path: four trials at 0.25 must not each grab the whole card
        if gpu_memory_mb and gpu_fraction:
            memory_limit = int(gpu_fraction * gpu_memory_mb)
            for gpu in gpus:
                tf.config.set_logical_device_configuration(
                    gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=memory_limit)]
                )
        else:
            for gpu in gpus:
                tf.config.experimental.set_memory_growth(gpu, True)
    return {"threads": threads, "gpus_visible": len(gpus), "gpu_memory_limit_mb": memory_limit}


# TensorFlow 2.21 logs from C++ through absl before absl is initialised, straight to file
# descriptor 2, and TF_CPP_MIN_LOG_LEVEL no longer reaches those lines; absl's own warning about
# it comes first. Glog-style lines: severity letter, month and day, time, thread, file:line].
_CPP_LOG_LINE = re.compile(
    rb"^(?:\x1b\[[0-9;]*m)?"
    rb"(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]]+\]"
    rb"|WARNING: All log messages before absl::InitializeLog)"
)


def quiet_worker_logs() -> None:
    """In a trial worker: drop TensorFlow's C++ log lines from its stderr (everything else, Python
    tracebacks included, passes through) and Ray's per-trial notices below warnings."""
    import logging
    import threading

    for name in ("absl", "ray.tune", "ray.train"):
        logging.getLogger(name).setLevel(logging.ERROR)
    read_end, write_end = os.pipe()
    original = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward():
        with os.fdopen(read_end, "rb") as pipe, os.fdopen(original, "wb", buffering=0) as stderr:
            for line in pipe:
                if not _CPP_LOG_LINE.match(line):
                    stderr.write(line)

    threading.Thread(target=forward, name="quiet-stderr", daemon=True).start()
