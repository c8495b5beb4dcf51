"""Peak memory (RSS) of one gpu-preset trial's work, per variant, on this machine's CPU.

    python benchmarks/trial_memory.py [--variants gan,stylegan] [--steps 20]

Each variant runs in a fresh process, as a trial's worker would: the gpu preset's full-width model
on the whole training split, `--steps` training steps, a report's FID on the preset's
`eval_samples`, then the full evaluation on `final_eval_samples`. Prints the process's peak RSS and
a baseline process that only imports TensorFlow and Keras, so the ratio says what a trial adds.
On a GPU node TensorFlow's CUDA libraries add host memory on top (an estimate; see
benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def one_trial(variant: str, steps: int, data) -> dict:
    from ganlib.run import Run
    from sweeps.search import presets

    preset = presets.get("gpu")
    run = Run(variant, dict(preset.fixed), data=data, hold_out_validation=True)
    run.train(run.dataset(repeat=True), steps_per_epoch=steps)
    after_training = peak_rss_mb()
    run.evaluate(preset.eval_samples, split="validation", every_metric=False)
    after_report = peak_rss_mb()
    run.evaluate(preset.final_eval_samples)
    return {
        "variant": variant,
        "batch_size": run.config["batch_size"],
        **run.parameters,
        "rss_train_mb": after_training,
        "rss_report_mb": after_report,
        "rss_peak_mb": peak_rss_mb(),
    }


def baseline() -> dict:
    import keras  # noqa: F401
    import tensorflow as tf

    tf.constant(1.0).numpy()
    return {"variant": "(import only)", "rss_peak_mb": peak_rss_mb()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="all")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--data", default=None, help="mnist.npz (default: $GANLIB_MNIST)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(baseline() if args.one == "-" else one_trial(args.one, args.steps, args.data)))
        return 0
    from ganlib import registry

    variants = registry.names() if args.variants == "all" else args.variants.split(",")
    rows = []
    for variant in ["-", *variants]:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                variant,
                "--steps",
                str(args.steps),
                *(["--data", args.data] if args.data else []),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            print(done.stderr[-2000:], file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]["rss_peak_mb"]
    print(f"\n{'variant':<15}{'batch':>6}{'peak RSS MB':>13}{'x import-only':>15}")
    for row in rows[1:]:
        print(
            f"{row['variant']:<15}{row['batch_size']:>6}{row['rss_peak_mb']:>13.0f}"
            f"{row['rss_peak_mb'] / base:>15.2f}"
        )
    print(f"{'(import only)':<15}{'':>6}{base:>13.0f}{1:>15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
