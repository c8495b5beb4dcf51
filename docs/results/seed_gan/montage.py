"""The seed GAN's sample grids at chosen epochs side by side, each titled with its epoch and FID:

    python docs/results/seed_gan/montage.py RUN_DIR OUT.png [EPOCH ...]   (default: 1 10 100)
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

run, out = sys.argv[1], sys.argv[2]
epochs = [int(e) for e in sys.argv[3:]] or [1, 10, 100]
fid = pd.read_csv(f"{run}/metrics.csv").drop_duplicates("epoch", keep="last").set_index("epoch")["fid"]
fig, axes = plt.subplots(1, len(epochs), figsize=(4 * len(epochs), 4.4))
for ax, epoch in zip(axes, epochs):
    ax.imshow(mpimg.imread(f"{run}/samples_epoch_{epoch:03d}.png"), cmap="gray")
    ax.set_title(f"epoch {epoch}: FID {fid[epoch]:.1f}")
    ax.axis("off")
fig.suptitle("Seed GAN at its exact settings (seed 0): the same noise at each epoch", fontsize=10)
fig.tight_layout()
fig.savefig(out, dpi=100)
