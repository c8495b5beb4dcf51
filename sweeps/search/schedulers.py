"""The sweep's scheduler, by name: ASHA's early stopping with rungs in training images, always inside
KeepsAFinalist (sweeps/search/finalist.py), so no rule can leave a variant without a finalist; or
Population Based Training (sweeps/search/population.py), which stops no member that has not
diverged."""

from __future__ import annotations

from ganlib.errors import ConfigError

DEFAULT = "ray_asha"
SCHEDULERS = {
    "ray_asha": "Ray's ASHAScheduler, each trial judged once per rung",
    "pbt": "Ray's PopulationBasedTraining, a population per variant: the worst quarter copies the best "
    "quarter's state and mutates its learning rates, beta1, critic steps and loss weights at every "
    "report; --num-samples is the population",
    "pb2": "Ray's PB2 (Parker-Holder et al. 2020): PBT whose new values come from a Gaussian-process "
    "bandit over the population's results instead of random perturbation",
    "none": "every trial runs its whole budget, to measure what early stopping saves",
}
# the schedulers whose trials are a population that copies and mutates (sweeps/search/population.py)
POPULATION = ("pbt", "pb2")


def make_scheduler(name: str, preset, variants: list[str], runs: dict | None = None, mutate=None, seed=0):
    """The sweep's scheduler: each variant its own rule (one experiment holds them all, and an FID
    means something else from one variant to the next); None for `none`. PBT needs each variant's
    run (what the preset fixes) and the --mutate ranges."""
    if name == "none":
        return None
    from sweeps.search.per_variant import SchedulerPerVariant

    if name in POPULATION:
        import random

        import numpy as np

        from sweeps.search.population import make_rule

        # Ray's PBT draws its copies and mutations from Python's random module, PB2 from NumPy's too
        random.seed(seed)
        np.random.seed(seed)
        return SchedulerPerVariant(
            {
                variant: make_rule(variant, runs[variant]["fixed"], preset, mutate, name)
                for variant in variants
            }
        )
    return SchedulerPerVariant(
        {variant: variant_rule(name, preset, f"rungs-{variant}.json") for variant in variants}
    )


def variant_rule(name: str, preset, rungs_file: str = "rungs.json"):
    """One variant's rule, rungs in training images: a trial may be stopped after grace_rounds
    reports, then at every eta-fold of that, up to its budget; a trial that runs its whole budget
    is always left."""
    if name != "ray_asha":
        raise ConfigError(f"scheduler {name!r} has no stopping rule: choose ray_asha")
    from ray.tune.schedulers import ASHAScheduler

    from ganlib.divergence import FID_CAP
    from sweeps.search.finalist import KeepsAFinalist

    rungs = {
        "time_attr": "training_images",
        "metric": "fid",
        "mode": "min",
        "max_t": preset.max_training_images,
        "grace_period": preset.grace_rounds * preset.eval_every_images,
        "reduction_factor": preset.reduction_factor,
    }
    return KeepsAFinalist(ASHAScheduler(**rungs), **rungs, cap=FID_CAP, rungs_file=rungs_file)
