"""When a run has diverged: one rule for `python -m ganlib.train` and for every sweep trial.

A run has diverged when a loss is not finite or past DIVERGED_LOSS, or its FID is not finite or
past FID_CAP. The loss bound ends a run that has left any regime a GAN recovers from before it
burns its budget on the way to NaN (a WGAN-GP critic at lr 1.0 passes 1e11 within 50 steps); no
set of images in [-1, 1] scores an FID near the cap on the shipped evaluator (uniform noise, the
worst seen, scores about 2e3), so past it the images themselves are not numbers.
"""

from __future__ import annotations

import math

DIVERGED_LOSS = 1.0e8
FID_CAP = 1.0e4
# What a diverged sweep trial reports as its FID: past the cap, yet finite, so that neither a
# scheduler's rung comparisons nor Optuna's TPE break on NaN or inf.
SENTINEL_FID = 1.0e6


def bad_losses(logs: dict | None) -> dict[str, float]:
    """The losses among Keras's logs that say the run diverged (empty when none does)."""
    bad = {}
    for key, value in (logs or {}).items():
        if key.endswith("loss"):
            value = float(value)
            if not math.isfinite(value) or abs(value) > DIVERGED_LOSS:
                bad[key] = value
    return bad


def bad_fid(fid) -> bool:
    return fid is None or not math.isfinite(float(fid)) or float(fid) > FID_CAP
