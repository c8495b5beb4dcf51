"""Evaluation during training: every K epochs, the full metrics into `metrics.csv`."""

from __future__ import annotations

import csv
from pathlib import Path

import keras

from ganlib.metrics.evaluate import evaluate


def flat_row(result: dict) -> dict:
    """Scalars only: lists (the class histogram) go into the CSV as one column per entry."""
    row = {}
    for key, value in result.items():
        if isinstance(value, list):
            row.update({f"{key}_{i}": v for i, v in enumerate(value)})
        else:
            row[key] = value
    return row


class PeriodicEvaluation(keras.callbacks.Callback):
    def __init__(self, out_dir, every: int = 1, n: int = 10_000, seed: int = 0, data=None):
        super().__init__()
        self.path = Path(out_dir) / "metrics.csv"
        self.every, self.n, self.seed, self.data = every, n, seed, data

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        result = evaluate(self.model, self.n, self.seed, data=self.data, cas=False)
        row = {"epoch": epoch + 1, **flat_row(result)}
        new = not self.path.exists()
        with self.path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        print(f"\nepoch {epoch + 1}: FID {result['fid']:.3f} (real floor {result['fid_real_floor']:.3f}), "
              f"KID {result['kid']:.4f}, classes {result['classes_covered']}/10")
