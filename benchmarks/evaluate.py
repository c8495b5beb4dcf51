"""Time a full `evaluate` of 10,000 samples from the seed paper's generator on this machine:
sampling, evaluator features and every metric, with the reference statistics already cached.

    python benchmarks/evaluate.py [--data mnist.npz] [--n 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from ganlib import registry
from ganlib.metrics import evaluate, features_and_probabilities, fid, kid, prdc, sample
from ganlib.metrics.reference import reference


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=None)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    model = registry.build("gan")
    start = time.perf_counter()
    ref = reference(args.data)
    print(f"reference statistics (first use, then cached): {time.perf_counter() - start:.2f} s")
    evaluate(model, 1000, seed=0, data=args.data)  # warm-up: traces the generator and evaluator

    totals, parts = [], {"sample": [], "features": [], "fid": [], "kid": [], "prdc": []}
    for repeat in range(args.repeats):
        start = time.perf_counter()
        evaluate(model, args.n, seed=repeat, data=args.data)
        totals.append(time.perf_counter() - start)
        t = time.perf_counter()
        images, _ = sample(model, args.n, repeat)
        parts["sample"].append(time.perf_counter() - t)
        t = time.perf_counter()
        feats, _ = features_and_probabilities(images)
        parts["features"].append(time.perf_counter() - t)
        t = time.perf_counter()
        fid(feats, ref.features)
        parts["fid"].append(time.perf_counter() - t)
        t = time.perf_counter()
        kid(feats, ref.features)
        parts["kid"].append(time.perf_counter() - t)
        t = time.perf_counter()
        prdc(ref.features, feats, ref.radii)
        parts["prdc"].append(time.perf_counter() - t)
    median = statistics.median(totals)
    print(
        f"evaluate n={args.n}: median {median:.2f} s over {args.repeats} runs (target < 10 s): "
        f"{'met' if median < 10 else 'MISSED'}"
    )
    for name, values in parts.items():
        print(f"  {name:<9} {statistics.median(values):.2f} s")
    print(f"evaluate_seconds={median:.3f}")


if __name__ == "__main__":
    main()
