"""Reading `python -m ganlib.train --eval-every 1` runs for the scripts beside this file; a run
folder without what a script needs ends it with one line and exit status 2."""

import sys
from pathlib import Path

import pandas as pd


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def metrics(run: str) -> pd.DataFrame:
    """The run's per-epoch evaluations, indexed by epoch."""
    path = Path(run) / "metrics.csv"
    if not path.is_file():
        fail(f"{run} has no metrics.csv: give a folder of a `python -m ganlib.train --eval-every 1` run")
    return pd.read_csv(path).set_index("epoch")


def row(run: str, table: pd.DataFrame, epoch: int) -> pd.Series:
    """One epoch's evaluation of a run."""
    if epoch not in table.index:
        fail(
            f"epoch {epoch} is not in {run}/metrics.csv: "
            f"it has epochs {table.index.min()}-{table.index.max()}"
        )
    return table.loc[epoch]
