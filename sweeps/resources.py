"""Inside a trial, before TensorFlow starts: threads matching the trial's CPUs, and GPU memory
that leaves room for the other trials sharing the device.

Only the last block runs on a GPU machine; everything else is exercised on CPUs.
"""

from __future__ import annotations

import os


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
                tf.config.set_logical_device_configuration(gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=memory_limit)])
        else:
            for gpu in gpus:
                tf.config.experimental.set_memory_growth(gpu, True)
    return {"threads": threads, "gpus_visible": len(gpus), "gpu_memory_limit_mb": memory_limit}
