"""Figures: sample grids and loss curves, written as PNG with matplotlib's Agg backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def tile(images: np.ndarray, ncols: int, pad: int = 2) -> np.ndarray:
    """(n, 28, 28[, 1]) images in [-1, 1] -> one 2-D mosaic in [0, 1], `ncols` per row."""
    images = np.asarray(images, dtype=np.float32).reshape((len(images), 28, 28))
    images = (np.clip(images, -1.0, 1.0) + 1.0) / 2.0
    nrows = int(np.ceil(len(images) / ncols))
    mosaic = np.ones((nrows * (28 + pad) + pad, ncols * (28 + pad) + pad), dtype=np.float32)
    for index, image in enumerate(images):
        row, col = divmod(index, ncols)
        top, left = pad + row * (28 + pad), pad + col * (28 + pad)
        mosaic[top : top + 28, left : left + 28] = image
    return mosaic


def save_grid(images: np.ndarray, path, ncols: int = 10, title: str | None = None, row_labels=None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mosaic = tile(images, ncols)
    figure, axis = plt.subplots(
        figsize=(mosaic.shape[1] / 40 + 0.6, mosaic.shape[0] / 40 + (0.5 if title else 0.1))
    )
    axis.imshow(mosaic, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    axis.set_xticks([])
    if row_labels is not None:
        axis.set_yticks(
            [2 + 30 * i + 14 for i in range(len(row_labels))], [str(label) for label in row_labels]
        )
    else:
        axis.set_yticks([])
    if title:
        axis.set_title(title, fontsize=9)
    figure.tight_layout(pad=0.2)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_losses(steps: pd.DataFrame, path, title: str = "losses") -> Path:
    """Both networks' losses against training step, raw and smoothed (EMA over ~2% of the run)."""
    path = Path(path)
    figure, axis = plt.subplots(figsize=(7, 3.5))
    span = max(1, len(steps) // 50)
    for column, colour in (("d_loss", "tab:blue"), ("g_loss", "tab:orange")):
        if column in steps:
            axis.plot(steps["step"], steps[column], color=colour, alpha=0.25, linewidth=0.8)
            axis.plot(steps["step"], steps[column].ewm(span=span).mean(), color=colour, label=column)
    axis.set_xlabel("generator step")
    axis.set_ylabel("loss")
    axis.set_title(title)
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
