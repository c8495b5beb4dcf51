"""The seed GAN's FID and classes covered per epoch, from a `python -m ganlib.train --eval-every 1` run:

    python docs/results/seed_gan/plot_fid.py RUN_DIR OUT.png
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

metrics = pd.read_csv(f"{sys.argv[1]}/metrics.csv")
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(metrics["epoch"], metrics["fid"], marker=".", label="FID (10,000 samples, test split)")
ax.axhline(metrics["fid_real_floor"].iloc[0], color="gray", linestyle=":", label="real-data floor")
ax.set_yscale("log")
ax.set_xlabel("epoch (469 steps of 128 images)")
ax.set_ylabel("FID, main evaluator")
ax.legend()
ax.set_title("Seed GAN, exact settings (Adam 1e-4, batch 128, noise 100), seed 0", fontsize=10)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=100)
