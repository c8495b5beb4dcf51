"""The seed GAN's figures over training seeds at chosen epochs: the median and its 95% bootstrap
interval, inside each figure's range.

    python docs/results/seed_gan/spread.py OUT.md RUN_DIR [RUN_DIR ...] [--epochs 1 10]

Each RUN_DIR is a `python -m ganlib.train --eval-every 1` run of the same settings with its own
`--seed`; the table's interval is over those runs (sweeps/study/statistics.py's `median_interval`).
"""

import argparse
import math
from pathlib import Path

from seed_runs import metrics, row

from sweeps.study.statistics import median_interval

# column: (heading, format, the figure's range: its interval stays inside)
COLUMNS = {
    "fid": ("FID", ".1f", (0.0, math.inf)),
    "kid": ("KID x1000", ".1f", (-math.inf, math.inf)),  # the unbiased estimator can dip below 0
    "precision": ("precision", ".3f", (0.0, 1.0)),
    "recall": ("recall", ".3f", (0.0, 1.0)),
    "classes_covered": ("classes covered", ".1f", (0.0, 10.0)),
}

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("runs", nargs="+")
parser.add_argument("--epochs", type=int, nargs="+", default=[1, 10])
args = parser.parse_args()

tables = {run: metrics(run) for run in args.runs}
seeds = ", ".join(str(int(table["seed"].iloc[0])) for table in tables.values())
lines = [
    f"Seeds {seeds}: median [95% bootstrap interval over seeds]; each seed's own value in parentheses, "
    "in that order.",
    "",
    "| epoch | " + " | ".join(heading for heading, _, _ in COLUMNS.values()) + " |",
    "| ---: |" + " ---: |" * len(COLUMNS),
]
for epoch in args.epochs:
    rows = [row(run, table, epoch) for run, table in tables.items()]
    cells = []
    for column, (_, spec, (least, most)) in COLUMNS.items():
        values = [r[column] for r in rows]
        median, low, high = median_interval(values, low=least, high=most)
        each = " / ".join(format(v, spec) for v in values)
        cells.append(f"{median:{spec}} [{low:{spec}}, {high:{spec}}] ({each})")
    lines.append(f"| {epoch} | " + " | ".join(cells) + " |")
Path(args.out).write_text("\n".join(lines) + "\n")
print("\n".join(lines))
