"""Is bfloat16's speed bought with quality? The same training budget in float32 and in
mixed_bfloat16, several seeds each, and the FID (10,000 samples) each run reaches.

    python benchmarks/precision_quality.py [--variant gan] [--steps 468] [--seeds 0,1] [--data mnist.npz]

Each run is `python -m ganlib.train` in its own process (the dtype policy is process-wide), so the
figures are what a user gets. Prints one line per run, then per precision the mean FID and the
seed-to-seed spread, and whether bfloat16's mean lies within float32's run-to-run noise
(|difference of means| <= the larger of the two seed ranges).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PRECISIONS = ("float32", "mixed_bfloat16")


def run(variant, precision, seed, steps, data, out: Path) -> dict:
    command = [
        sys.executable,
        "-m",
        "ganlib.train",
        "--variant",
        variant,
        "--epochs",
        "1",
        "--steps",
        str(steps),
        "--seed",
        str(seed),
        "--precision",
        precision,
        "--out",
        str(out),
    ]
    if data:
        command += ["--data", data]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads((out / "run.json").read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="gan")
    parser.add_argument(
        "--steps", type=int, default=468, help="generator steps (468 = one epoch at batch 128)"
    )
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    fids = {p: [] for p in PRECISIONS}
    rates = {p: [] for p in PRECISIONS}
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            for precision in PRECISIONS:  # interleaved, so drift in the machine's speed hits both
                record = run(
                    args.variant, precision, seed, args.steps, args.data, Path(folder) / f"{precision}-{seed}"
                )
                fid, rate = record["metrics"]["fid"], record["images_per_s"]
                fids[precision].append(fid)
                rates[precision].append(rate)
                print(
                    f"{args.variant} {precision:15s} seed {seed}: FID {fid:8.2f}  images/s {rate:6.1f}  "
                    f"classes {record['metrics']['classes_covered']}",
                    flush=True,
                )
    for precision in PRECISIONS:
        print(
            f"{precision:15s} mean FID {statistics.mean(fids[precision]):8.2f}  seed range "
            f"{max(fids[precision]) - min(fids[precision]):7.2f}  "
            f"images/s {statistics.median(rates[precision]):6.1f}"
        )
    difference = statistics.mean(fids["mixed_bfloat16"]) - statistics.mean(fids["float32"])
    noise = max(max(v) - min(v) for v in fids.values())
    speedup = statistics.median(rates["mixed_bfloat16"]) / statistics.median(rates["float32"])
    print(
        f"bf16_minus_f32_fid={difference:.2f} seed_noise={noise:.2f} "
        f"within_noise={abs(difference) <= noise or difference < 0} "
        f"fit_speedup={speedup:.3f}"
    )


if __name__ == "__main__":
    main()
