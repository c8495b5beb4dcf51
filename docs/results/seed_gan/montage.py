"""The seed GAN's sample grids at chosen epochs side by side, each titled with its epoch and FID:

python docs/results/seed_gan/montage.py RUN_DIR OUT.png [EPOCH ...]   (default: 1 10 100)
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from seed_runs import fail, metrics, row  # noqa: E402

if len(sys.argv) < 3:
    fail("usage: montage.py RUN_DIR OUT.png [EPOCH ...]")
run, out = sys.argv[1], sys.argv[2]
epochs = [int(e) for e in sys.argv[3:]] or [1, 10, 100]
table = metrics(run)
grids = [Path(run) / f"samples_epoch_{epoch:03d}.png" for epoch in epochs]
for grid in grids:
    if not grid.is_file():
        fail(f"{grid} is missing: choose epochs whose grid the run saved")
fig, axes = plt.subplots(1, len(epochs), figsize=(4 * len(epochs), 4.4), squeeze=False)
for ax, epoch, grid in zip(axes[0], epochs, grids):
    ax.imshow(mpimg.imread(grid), cmap="gray")
    ax.set_title(f"epoch {epoch}: FID {row(run, table, epoch)['fid']:.1f}")
    ax.axis("off")
fig.suptitle("Seed GAN at its exact settings (seed 0): the same noise at each epoch", fontsize=10)
fig.tight_layout()
fig.savefig(out, dpi=100)
