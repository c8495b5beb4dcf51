"""Does the study's precision change its answer? Each named variant's exported best configuration
trained by `python -m ganlib.train` at two precisions over the same seeds, everything else equal,
and its FID (10,000 samples, test split) compared between them.

    python -m sweeps.study.precision_control EXPORT_DIR --variants cgan,dcgan [--seeds 6]
        [--epochs 2] [--precisions mixed_bfloat16,float32] [--data mnist.npz]

Each run is a folder EXPORT_DIR/precision_control/<variant>_<precision>_s<seed>/ (a finished one
is not trained again, so an interrupted control goes on where it stopped). Writes
EXPORT_DIR/precision_control.csv (a row a run) and precision_control.md: per variant, each
precision's median FID with its bootstrap interval, the ratio of medians, Cliff's delta and
Mann-Whitney's p beside the smallest p its seeds allow.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ganlib.divergence import bad_fid
from ganlib.precision import PRECISIONS as ALLOWED
from sweeps.study import statistics
from sweeps.study.tables import spread
from sweeps.study.throughput import configurations

PRECISIONS = ("mixed_bfloat16", "float32")


def command(variant: str, hyperparameters: dict, precision: str, seed: int, out, args) -> list:
    """The run's `python -m ganlib.train` command line; `args`: the control's parsed options."""
    sets = [
        item for key, value in hyperparameters.items() for item in ("--set", f"{key}={json.dumps(value)}")
    ]
    return [
        *(sys.executable, "-m", "ganlib.train", "--variant", variant, "--epochs", str(args.epochs)),
        *("--seed", str(seed), "--precision", precision, "--eval-samples", str(args.eval_samples)),
        *("--out", str(out)),
        *(["--data", str(args.data)] if args.data else []),
        *(["--per-class", str(args.per_class)] if args.per_class else []),
        *sets,
    ]


def finished(out: Path) -> dict | None:
    """The run's record once it ended: scored, or diverged (in training or by its FID), which
    training it again with the same seed would repeat; None while it has not."""
    record = out / "run.json"
    if not record.is_file():
        return None
    found = json.loads(record.read_text())
    return found if "metrics" in found or found.get("diverged") else None


def fid_of(record: dict) -> float:
    """The run's FID; NaN for a diverged run (comparison ranks it worst and counts it)."""
    fid = float(record.get("metrics", {}).get("fid", math.nan))
    return math.nan if record.get("diverged") or bad_fid(fid) else fid


def comparison(runs: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """Per variant: the seeds scored and diverged at each precision, each precision's median FID
    [95% bootstrap interval], first / second's ratio of medians, Cliff's delta (positive: first's
    FIDs tend higher), Mann-Whitney's p and the ratio of medians it detects with 80% power."""
    rows = []
    for variant, mine in runs.groupby("variant"):
        a = mine.loc[mine["precision"] == first, "fid"].to_numpy(float)
        b = mine.loc[mine["precision"] == second, "fid"].to_numpy(float)
        lost = [int(np.sum(~np.isfinite(x))) for x in (a, b)]
        # a diverged run is the worst FID (statistics: +inf), not a seed left out: a precision
        # that loses runs must not look better for it
        a, b = (np.where(np.isfinite(x), x, np.inf) for x in (a, b))
        row = {"variant": variant, "seeds": f"{len(a)} vs {len(b)}", "diverged": f"{lost[0]} vs {lost[1]}"}
        for name, values in ((first, a), (second, b)):
            median, low, high = statistics.median_interval(values)
            row.update({f"fid_{name}": median, f"fid_{name}_low": low, f"fid_{name}_high": high})
        row.update(
            ratio=statistics.ratio_of_medians(a, b),
            cliffs_delta=statistics.cliffs_delta(a, b),
            p=statistics.mann_whitney(a, b),
            smallest_p=statistics.smallest_p(len(a), len(b)),
            # what "no difference" could have told: the smallest ratio these seeds detect
            detectable_ratio=statistics.detectable_ratio(a, b),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, first: str, second: str, epochs: int) -> str:
    lines = [
        f"# FID at {first} against {second}",
        "",
        f"Each variant's best configuration, {epochs} epochs of `python -m ganlib.train` a run, the same "
        "seeds at both precisions; FID against the test split, a diverged run counted as the worst "
        "(an infinite FID). Median [95% bootstrap interval]; ratio = median at the first over "
        "median at the second; Mann-Whitney p (two-sided) beside the smallest p these seeds allow, "
        "and the ratio of medians (either way) the test detects with 80% power at these seeds.",
        "",
        f"| variant | seeds | diverged | {first} | {second} | ratio | Cliff's delta | p | smallest p "
        "| detectable ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in table.iterrows():
        cells = [
            spread(r[f"fid_{name}"], r[f"fid_{name}_low"], r[f"fid_{name}_high"], ".1f")
            for name in (first, second)
        ]
        lines.append(
            f"| {r['variant']} | {r['seeds']} | {r['diverged']} | {cells[0]} | {cells[1]} | "
            f"{r['ratio']:.3f} | {r['cliffs_delta']:+.2f} | {r['p']:.3g} | {r['smallest_p']:.3g} | "
            f"{r['detectable_ratio']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sweeps.study.precision_control", description=__doc__.splitlines()[0]
    )
    parser.add_argument("export_dir")
    parser.add_argument("--variants", required=True, help="comma-separated exported variants")
    parser.add_argument("--seeds", type=int, default=6, help="seeds 0..N-1 at each precision (default 6)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs a run (default 2)")
    parser.add_argument("--precisions", default=",".join(PRECISIONS), help="two, comma-separated")
    parser.add_argument("--eval-samples", type=int, default=10_000, help="FID samples (default 10,000)")
    parser.add_argument(
        "--per-class", type=int, default=None, help="train on N digits a class (a quick look)"
    )
    parser.add_argument("--data", default=None)
    args = parser.parse_args(argv)
    export_dir = Path(args.export_dir)
    found = configurations(export_dir)
    wanted = args.variants.split(",")
    precisions = args.precisions.split(",")
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        allowed = ", ".join(found) or f"none: {export_dir} has no best/VARIANT/config.json"
        print(f"error: --variants {','.join(unknown)} not exported; exported: {allowed}", file=sys.stderr)
        return 2
    if len(set(precisions)) != 2 or len(precisions) != 2 or not set(precisions) <= set(ALLOWED):
        print(
            f"error: --precisions {args.precisions!r} is not allowed: two different ones of "
            f"{', '.join(ALLOWED)}",
            file=sys.stderr,
        )
        return 2
    if args.seeds < 2 or args.epochs < 1 or args.eval_samples < 1:
        print(
            f"error: --seeds {args.seeds} / --epochs {args.epochs} / --eval-samples {args.eval_samples}: "
            "need at least 2 seeds, 1 epoch and 1 sample",
            file=sys.stderr,
        )
        return 2
    rows = []
    for variant in wanted:
        for seed in range(args.seeds):
            for precision in precisions:
                out = export_dir / "precision_control" / f"{variant}_{precision}_s{seed}"
                record = finished(out)
                if record is None:
                    print(f"[{variant}] {precision}, seed {seed}: training {args.epochs} epochs", flush=True)
                    hyperparameters = found[variant]["hyperparameters"]
                    done = subprocess.run(command(variant, hyperparameters, precision, seed, out, args))
                    record = finished(out)
                    if record is None:  # failed (not diverged): left out, tried again next time
                        print(f"[{variant}] {precision}, seed {seed}: failed, exit {done.returncode} ({out})")
                        continue
                fid = fid_of(record)
                rows.append(
                    {"variant": variant, "precision": precision, "seed": seed, "fid": fid}
                    | {"diverged": bool(record.get("diverged"))}
                )
                said = "diverged" if math.isnan(fid) else f"FID {fid:.1f}"
                print(f"[{variant}] {precision}, seed {seed}: {said}", flush=True)
    runs = pd.DataFrame(rows, columns=["variant", "precision", "seed", "fid", "diverged"])
    runs.to_csv(export_dir / "precision_control.csv", index=False)
    if not np.isfinite(runs["fid"].astype(float)).any():
        print(f"error: no run was scored; see {export_dir / 'precision_control'}", file=sys.stderr)
        return 1
    table = comparison(runs, *precisions)
    text = markdown(table, *precisions, args.epochs)
    (export_dir / "precision_control.md").write_text(text)
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
