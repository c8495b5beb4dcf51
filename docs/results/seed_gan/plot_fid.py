"""The seed GAN's FID per epoch, from `python -m ganlib.train --eval-every 1` runs:

    python docs/results/seed_gan/plot_fid.py RUN_DIR OUT.png [OTHER_SEED_RUN_DIR ...]

The first run is the long one; shorter runs of the same settings with other seeds are drawn over
it, so the early epochs show their spread over seeds.
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from seed_runs import fail, metrics  # noqa: E402

if len(sys.argv) < 3:
    fail("usage: plot_fid.py RUN_DIR OUT.png [OTHER_SEED_RUN_DIR ...]")
tables = [metrics(run) for run in [sys.argv[1], *sys.argv[3:]]]
fig, ax = plt.subplots(figsize=(7, 4))
for i, table in enumerate(tables):
    ax.plot(
        table.index,
        table["fid"],
        marker="." if i == 0 else None,
        linewidth=1.5 if i == 0 else 1,
        label=f"seed {int(table['seed'].iloc[0])}"
        + (" (FID on 10,000 samples, test split)" if i == 0 else ""),
    )
ax.axhline(tables[0]["fid_real_floor"].iloc[0], color="gray", linestyle=":", label="real-data floor")
ax.set_yscale("log")
ax.set_xlabel("epoch (468 steps of 128 images)")
ax.set_ylabel("FID, main evaluator")
ax.legend()
ax.set_title("Seed GAN, exact settings (Adam 1e-4, batch 128, noise 100)", fontsize=10)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=100)
