"""Each variant's training step through XLA (`jit_compile`) against the plain graph, in one process
per variant: the same initial weights and batches, the losses of every step compared, then
steady-state milliseconds per step in alternating windows.

    python benchmarks/xla.py [--variants all] [--width 0.5] [--steps 50] [--windows 6 --window 20]
        [--precision float32] [--data mnist.npz]
    python benchmarks/xla.py --against bfloat16 --threads 1 ...   # the same, mixed_bfloat16 for XLA

Prints one line per variant (`variant=... plain_ms=... other_ms=... speedup=... loss_gap=...`) and a
Markdown table at the end. `loss_gap` is the largest relative difference between the plain and the
XLA run's losses over the first `--steps` steps, `plain_gap` the same between two plain runs: XLA
fuses and reorders floating-point work, so bitwise equality is not expected, and a GAN's steps
amplify any difference; a gap well past the plain runs' own means XLA computes another step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure(variant: str, args) -> dict:
    """In this process: two runs of `variant` from the same seed, the plain graph and XLA (or, with
    --against bfloat16, the plain graph in mixed_bfloat16)."""
    import keras
    import tensorflow as tf

    from ganlib.run import Run

    if args.threads:  # a sweep's trial runs on one thread (sweeps/search/resources.py)
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    overrides = {"width": args.width}
    runs = {}
    losses = {}
    other = args.against
    # "again": the plain graph once more, so the other run's gap is read against the gap two plain
    # runs already have (multithreaded reductions are not bitwise reproducible)
    for name in ("plain", other, "again"):
        precision = "mixed_bfloat16" if name == "bfloat16" else args.precision
        run = Run(variant, overrides, seed=0, data=args.data, per_class=args.per_class, precision=precision)
        run.model.jit_compile = name == "xla"
        if name == "xla" and not run.model.jit_compile:  # Keras fell back to the plain graph
            raise SystemExit(f"{variant}: Keras refused jit_compile for this model")
        recorded = []
        record = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs, into=recorded: into.append(
                {k: float(v) for k, v in logs.items() if k.endswith("loss")}
            )
        )
        run.train(run.dataset(repeat=True), steps_per_epoch=args.steps, callbacks=[record])
        runs[name], losses[name] = run, recorded
    gap, noise = (largest_gap(losses["plain"], losses[name]) for name in (other, "again"))
    runs.pop("again")
    datasets = {name: run.dataset(seed=1, repeat=True) for name, run in runs.items()}
    times = {name: [] for name in runs}
    first = {name: [] for name in runs}
    for _ in range(args.windows):  # alternating, so a slow minute of the machine hits both
        for name, run in runs.items():
            ends = []
            clock = keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda batch, logs, into=ends: into.append(time.perf_counter())
            )
            start = time.perf_counter()
            run.train(datasets[name], steps_per_epoch=args.window, callbacks=[clock])
            # the first step of a `fit` carries what the call sets up (Keras traces, and XLA
            # compiles its cluster, again in every call): timed apart from the steady steps
            first[name].append((ends[0] - start) * 1000)
            times[name].append((ends[-1] - ends[0]) / (len(ends) - 1) * 1000)
    plain_ms, other_ms = statistics.median(times["plain"]), statistics.median(times[other])
    return {
        "variant": variant,
        "against": other,
        "precision": args.precision,
        "width": args.width,
        "threads": args.threads,
        "plain_ms": plain_ms,
        "other_ms": other_ms,
        "speedup": plain_ms / other_ms,
        "plain_first_ms": statistics.median(first["plain"]),
        "other_first_ms": statistics.median(first[other]),
        "per_window_ratio_min": min(p / x for p, x in zip(times["plain"], times[other])),
        "per_window_ratio_max": max(p / x for p, x in zip(times["plain"], times[other])),
        "loss_gap": gap,
        "plain_gap": noise,
        "steps_compared": len(losses["plain"]),
    }


def largest_gap(first: list[dict], second: list[dict]) -> float:
    """The largest relative difference between two runs' losses, step by step."""
    gap = 0.0
    for one, other in zip(first, second):
        for key, value in one.items():
            gap = max(gap, abs(other[key] - value) / max(abs(value), 1e-12))
    return gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="all")
    parser.add_argument("--width", type=float, default=0.5, help="the cpu preset's")
    parser.add_argument("--steps", type=int, default=50, help="steps whose losses are compared")
    parser.add_argument("--windows", type=int, default=6)
    parser.add_argument("--window", type=int, default=20, help="steps per timed window")
    parser.add_argument("--precision", default="float32")
    parser.add_argument(
        "--against",
        choices=("xla", "bfloat16"),
        default="xla",
        help="what the plain float graph is timed against: XLA, or the plain graph in mixed_bfloat16",
    )
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow's threads (0: its default)")
    parser.add_argument("--per-class", type=int, default=500)
    parser.add_argument("--data", default=None)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # a variant, in this process
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(measure(args.one, args)), flush=True)
        return
    from ganlib import registry

    variants = registry.names() if args.variants == "all" else args.variants.split(",")
    rows = []
    for variant in variants:
        command = [sys.executable, __file__, "--one", variant, *sys.argv[1:]]
        done = subprocess.run(command, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            print(f"variant={variant} failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        row = json.loads(lines[-1].removeprefix("RESULT "))
        rows.append(row)
        print(
            " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
            flush=True,
        )
    print(
        f"\n| variant | plain ms/step | {args.against} ms/step | speedup (window range) | first step of a "
        f"fit, plain / {args.against} ms | loss gap {args.against}, plain again |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['variant']} | {row['plain_ms']:.1f} | {row['other_ms']:.1f} | {row['speedup']:.2f} "
            f"({row['per_window_ratio_min']:.2f}-{row['per_window_ratio_max']:.2f}) | "
            f"{row['plain_first_ms']:.0f} / {row['other_first_ms']:.0f} | "
            f"{row['loss_gap']:.1e}, {row['plain_gap']:.1e} over {row['steps_compared']} |"
        )


if __name__ == "__main__":
    main()
