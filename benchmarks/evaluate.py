"""Time a full `evaluate` of 10,000 samples from the seed paper's generator on this machine:
sampling, evaluator features and every metric, with the reference statistics already cached; with
`--cas`, the classification accuracy score's classifier too (what each budget of the study's final
stage pays, for the weights and for their average). `--threads 1` is a trial's share.

    python benchmarks/evaluate.py [--data mnist.npz] [--n 10000] [--repeats 3]
    python benchmarks/evaluate.py --cas --threads 1 --width 0.25   # a study budget's, a generator
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from ganlib import registry
from ganlib.metrics import evaluate, features_and_probabilities, fid, kid, prdc, sample
from ganlib.metrics.cas import classification_accuracy_score
from ganlib.metrics.reference import reference


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=None)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=float, default=1.0, help="the generator's width (the study's: 0.25)")
    parser.add_argument("--cas", action="store_true", help="time the CAS classifier's training too")
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow's intra- and inter-op threads")
    args = parser.parse_args()
    if args.threads:  # a sweep's trial runs on one thread (sweeps/search/resources.py)
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    model = registry.build("gan", {"width": args.width})
    start = time.perf_counter()
    ref = reference(args.data)
    print(f"reference statistics (first use, then cached): {time.perf_counter() - start:.2f} s")
    evaluate(model, 1000, seed=0, data=args.data)  # warm-up: traces the generator and evaluator

    totals, parts = [], {"sample": [], "features": [], "fid": [], "kid": [], "prdc": []}
    if args.cas:
        parts["cas"] = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        evaluate(model, args.n, seed=repeat, data=args.data, cas=args.cas)
        totals.append(time.perf_counter() - start)
        t = time.perf_counter()
        images, _labels = sample(model, args.n, repeat)
        parts["sample"].append(time.perf_counter() - t)
        t = time.perf_counter()
        feats, probs = features_and_probabilities(images)
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
        if args.cas:  # the seed's generator is unconditional: the evaluator's labels, as the study's
            t = time.perf_counter()
            classification_accuracy_score(
                images, np.argmax(probs, axis=1), ref.images, ref.labels, seed=repeat
            )
            parts["cas"].append(time.perf_counter() - t)
    median = statistics.median(totals)
    target = "" if args.cas else f" (target < 10 s): {'met' if median < 10 else 'MISSED'}"
    print(f"evaluate n={args.n}: median {median:.2f} s over {args.repeats} runs{target}")
    for name, values in parts.items():
        print(f"  {name:<9} {statistics.median(values):.2f} s")
    print(f"evaluate_seconds={median:.3f}")


if __name__ == "__main__":
    main()
