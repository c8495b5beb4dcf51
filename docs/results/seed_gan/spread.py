"""The seed GAN's figures over training seeds at chosen epochs: mean and 95% t interval.

    python docs/results/seed_gan/spread.py OUT.md RUN_DIR [RUN_DIR ...] [--epochs 1 10]

Each RUN_DIR is a `python -m ganlib.train --eval-every 1` run of the same settings with its own
`--seed`; the table's interval is over those runs (sweeps/study/final_stage.py's `interval`).
"""

import argparse
from pathlib import Path

from seed_runs import metrics, row

from sweeps.study.final_stage import interval

# column: (heading, format)
COLUMNS = {
    "fid": ("FID", ".1f"),
    "kid": ("KID x1000", ".1f"),
    "precision": ("precision", ".3f"),
    "recall": ("recall", ".3f"),
    "classes_covered": ("classes covered", ".1f"),
}

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("runs", nargs="+")
parser.add_argument("--epochs", type=int, nargs="+", default=[1, 10])
args = parser.parse_args()

tables = {run: metrics(run) for run in args.runs}
seeds = ", ".join(str(int(table["seed"].iloc[0])) for table in tables.values())
lines = [
    f"Seeds {seeds}: mean [95% t interval over seeds]; each seed's own value in parentheses, in that order.",
    "",
    "| epoch | " + " | ".join(heading for heading, _ in COLUMNS.values()) + " |",
    "| ---: |" + " ---: |" * len(COLUMNS),
]
for epoch in args.epochs:
    rows = [row(run, table, epoch) for run, table in tables.items()]
    cells = []
    for column, (_, spec) in COLUMNS.items():
        values = [r[column] for r in rows]
        mean, low, high, n = interval(values)
        each = " / ".join(format(v, spec) for v in values)
        cells.append(
            f"{mean:{spec}} [{low:{spec}}, {high:{spec}}] ({each})" if n > 1 else f"{mean:{spec}} (n={n})"
        )
    lines.append(f"| {epoch} | " + " | ".join(cells) + " |")
Path(args.out).write_text("\n".join(lines) + "\n")
print("\n".join(lines))
