"""Every variant, trained briefly at its default batch size: throughput, and what a short run
already buys (FID; for conditional variants, the evaluator's accuracy on the intended labels).

    python benchmarks/variants.py [--steps 300] [--width 1.0] [--variants gan,cgan] [--data mnist.npz]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--variants", default="all")
    parser.add_argument("--eval-samples", type=int, default=2000)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    from ganlib import registry
    from ganlib.run import Run

    names = registry.names() if args.variants == "all" else args.variants.split(",")
    print(f"{'variant':<10} {'batch':>5} {'images/s':>9} {'FID':>8} {'classes':>7} {'cond. acc':>9}")
    for name in names:
        run = Run(name, {"width": args.width}, seed=0, data=args.data)
        batch = run.config["batch_size"]
        dataset = run.dataset(repeat=True)
        run.train(dataset, steps_per_epoch=2)  # trace
        start = time.perf_counter()
        run.train(dataset, steps_per_epoch=args.steps)
        rate = args.steps * run.images_per_step / (time.perf_counter() - start)
        scores = run.evaluate(args.eval_samples, every_metric=False)
        accuracy = scores.get("conditional_accuracy")
        print(
            f"{name:<10} {batch:>5} {rate:>9.0f} {scores['fid']:>8.1f} {scores['classes_covered']:>7} "
            f"{'' if accuracy is None else f'{accuracy:.3f}':>9}",
            flush=True,
        )


if __name__ == "__main__":
    main()
