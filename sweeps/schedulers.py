"""Early stopping for a sweep, by name: the rule `--scheduler` picks, with rungs in training images."""

from __future__ import annotations

SCHEDULERS = {
    "asha": "ASHA's rungs and rule, the best floor(n/eta) at a rung go on, judged again at every report, "
            "always leaving a trial that runs its whole budget: sweeps/asha.py",
    "ray_asha": "Ray's ASHAScheduler, each trial judged once per rung",
    "none": "every trial runs its whole budget, to measure what early stopping saves",
}


def make_scheduler(name: str, preset):
    """Rungs in training images: a trial may be stopped after grace_rounds reports, then at every
    eta-fold of that, up to its budget."""
    from ray.tune.schedulers import ASHAScheduler

    from sweeps.asha import RejudgingASHA

    if name == "none":
        return None
    from ganlib.divergence import FID_CAP

    rungs = {"time_attr": "training_images", "metric": "fid", "mode": "min", "max_t": preset.max_training_images,
             "grace_period": preset.grace_rounds * preset.eval_every_images, "reduction_factor": preset.reduction_factor}
    return RejudgingASHA(**rungs, cap=FID_CAP) if name == "asha" else ASHAScheduler(**rungs)
