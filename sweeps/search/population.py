"""Population Based Training (Jaderberg et al. 2017) for one variant: Ray's PopulationBasedTraining
over the hyperparameters that may change mid-run (ganlib.registry.MUTABLE), each member started
from a random point of the variant's search space, diverged members replaced or stopped.

TPE is not used with PBT: a member's hyperparameters change as it trains, so no point of the space
has a score of its own for TPE to model; the members start from random draws (the first from the
papers' defaults), as Ray's PBT samples them itself.
"""

from __future__ import annotations

import json
import math

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler
from ray.tune.search import Searcher

from ganlib import registry
from ganlib.errors import ConfigError
from sweeps.search import spaces
from sweeps.search.finalist import diverged

QUANTILE_FRACTION = 0.25  # Ray's default and Jaderberg et al.'s truncation selection: the worst
# quarter copies from the best quarter


def parse_ranges(pairs: list[str]) -> dict[str, tuple[float, float]]:
    """`--mutate NAME=LOW:HIGH` pairs -> {name: (low, high)}, refused in one line when malformed."""
    ranges = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        low, colon, high = text.partition(":")
        try:
            if not sep or not colon:
                raise ValueError
            ranges[name] = (float(low), float(high))
        except ValueError:
            raise ConfigError(
                f"--mutate {pair!r} is not allowed: write --mutate NAME=LOW:HIGH, "
                "e.g. --mutate g_lr=1e-5:1e-3"
            ) from None
    return ranges


def check_ranges(variants: list[str], ranges: dict[str, tuple[float, float]]) -> None:
    """Each range names a mutable hyperparameter of a selected variant and stays inside what that
    variant allows, or the sweep is refused in one line."""
    for name, (low, high) in ranges.items():
        if name not in registry.MUTABLE:
            raise ConfigError(
                f"--mutate {name}: {name!r} cannot change mid-run; mutable are "
                f"{', '.join(sorted(registry.MUTABLE))}"
            )
        having = [v for v in variants if name in registry.get(v).defaults]
        if not having:
            raise ConfigError(f"--mutate {name}: no selected variant has a hyperparameter {name!r}")
        if not low < high:
            raise ConfigError(f"--mutate {name}={low:g}:{high:g} is not allowed: need LOW < HIGH")
        for variant in having:
            allowed = registry.get(variant).allowed[name]
            for value in (low, high):
                value = int(value) if getattr(allowed, "integer", False) and value == int(value) else value
                if not allowed.contains(value):
                    raise ConfigError(
                        f"--mutate {name}={low:g}:{high:g} is not allowed for {variant}: "
                        f"{name} must {allowed.describe()}"
                    )


def mutation_space(variant: str, fixed: dict, ranges: dict | None = None) -> dict:
    """What PBT may mutate for `variant`: its searched hyperparameters in MUTABLE, each over its
    search range (or `ranges`' one): {name: (low, high, log)} for numbers, {name: [values]} for
    choices and integers (PBT then moves one step left or right)."""
    ranges = ranges or {}
    space = {}
    for name, distribution in spaces.optuna_space(variant, fixed).items():
        if name not in registry.MUTABLE:
            continue
        if isinstance(distribution, CategoricalDistribution):
            space[name] = list(distribution.choices)
        elif isinstance(distribution, IntDistribution):
            low, high = ranges.get(name, (distribution.low, distribution.high))
            space[name] = list(range(math.ceil(low), math.floor(high) + 1))
        elif isinstance(distribution, FloatDistribution):
            low, high = ranges.get(name, (distribution.low, distribution.high))
            space[name] = (float(low), float(high), distribution.log)
    return space


def ray_mutations(space: dict) -> dict:
    """The mutation space as Ray's PBT takes it."""
    from ray import tune

    return {
        name: values
        if isinstance(values, list)
        else (tune.loguniform if values[2] else tune.uniform)(values[0], values[1])
        for name, values in space.items()
    }


def keep_inside(space: dict):
    """PBT's explore step multiplies a number by 0.8 or 1.2, which can leave its range (beta1 0.9 x 1.2):
    the value is put back at the nearest end. PB2 proposes any number between a list's ends: it is
    moved to the nearest of the list's values (an integer for n_critic, one of WGAN-GP's betas)."""

    def explore(config: dict) -> dict:
        for name, values in space.items():
            if name not in config:
                continue
            if not isinstance(values, list):
                config[name] = min(max(config[name], values[0]), values[1])
            elif config[name] not in values and all(isinstance(v, (int, float)) for v in values):
                config[name] = min(values, key=lambda value: abs(value - config[name]))
        return config

    return explore


def pb2_bounds(space: dict) -> dict:
    """The mutation space as PB2 takes it: an interval per number (a list of numbers spans its ends;
    choices that are not numbers stay each member's own)."""
    bounds = {}
    for name, values in space.items():
        if not isinstance(values, list):
            bounds[name] = [values[0], values[1]]
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and len(values) > 1:
            bounds[name] = [min(values), max(values)]
    return bounds


def make_rule(variant: str, fixed: dict, preset, ranges: dict | None, method: str = "pbt"):
    """One variant's PBT, synchronous (every member reaches the same training images before the
    worst copy the best: asynchronous PBT on fewer slots than members compares a fresh score with
    stale ones, and was seen copying one waiting member's same early state into another six times
    over), perturbed at every report, burn-in the preset's grace period, inside ReplacesDiverged."""
    from ray.tune.schedulers import PopulationBasedTraining
    from ray.tune.schedulers.pb2 import PB2

    from ganlib.divergence import FID_CAP

    space = mutation_space(variant, fixed, ranges)
    if not space:
        raise ConfigError(f"--scheduler {method}: {variant} has no hyperparameter left to mutate (all fixed)")
    common = {
        # Report k is k rounds' worth of images for every member (a round's real count may pass it
        # by up to a step, which differs with n_critic): synchronous PBT lets a member on only while
        # it is behind the next meeting point, and on the real counts a member 64 images ahead of
        # the others was seen waiting for ever once they had finished.
        "time_attr": "budget_images",
        "metric": "fid",
        "mode": "min",
        "perturbation_interval": preset.eval_every_images,  # every report
        "quantile_fraction": QUANTILE_FRACTION,
        "custom_explore_fn": keep_inside(space),
        "synch": True,
    }
    if method == "pb2":
        rule = PB2(hyperparam_bounds=pb2_bounds(space), **common)
    else:
        rule = PopulationBasedTraining(
            burn_in_period=preset.grace_rounds * preset.eval_every_images,
            hyperparam_mutations=ray_mutations(space),
            **common,
        )
    return ReplacesDiverged(rule, cap=FID_CAP)


class ReplacesDiverged(TrialScheduler):
    """A variant's PBT, where a member that diverges is replaced by a copy of a better one (PBT's own
    exploit, at the next point where the members meet: the diverged member scores worst) or, where
    PBT does not copy into it (in its burn-in, or more diverged at once than the worst quarter), is
    stopped at its next report; the others run their whole budget. So a variant ends without a
    finalist only when every member diverged."""

    def __init__(self, pbt, cap: float):
        self.pbt, self._cap = pbt, cap
        self._metric, self._mode = "fid", "min"
        self.waiting: dict[str, dict] = {}  # diverged member -> the config it diverged with
        self.replaced_diverged = 0
        self.stopped_diverged = 0
        self.unblocked = 0

    def set_search_properties(self, metric, mode, **spec) -> bool:
        return metric in (None, self._metric) and mode in (None, self._mode)

    def on_trial_add(self, tune_controller, trial) -> None:
        self.pbt.on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        config = trial.config  # PBT's copy gives the member a new config object
        failed = "fid" in result and diverged(result, self._metric, self._cap)
        if trial.trial_id in self.waiting:
            if self.waiting.pop(trial.trial_id) is not config:
                self.replaced_diverged += 1  # copied into where the members met; this report is the copy's
            elif failed:  # not copied into, and no better than when it diverged
                self.stopped_diverged += 1
                return TrialScheduler.STOP
        decision = self.pbt.on_trial_result(tune_controller, trial, result)
        if not failed:
            return decision
        if trial.config is not config:  # copied into at once
            self.replaced_diverged += 1
            return decision
        if decision in (TrialScheduler.PAUSE, TrialScheduler.NOOP):  # waits where PBT may copy into it
            self.waiting[trial.trial_id] = config
            return decision
        self.stopped_diverged += 1
        return TrialScheduler.STOP

    def on_trial_complete(self, tune_controller, trial, result: dict) -> None:
        self.waiting.pop(trial.trial_id, None)
        self.pbt.on_trial_complete(tune_controller, trial, result)

    def on_trial_error(self, tune_controller, trial) -> None:
        self.waiting.pop(trial.trial_id, None)
        self.pbt.on_trial_error(tune_controller, trial)

    def on_trial_remove(self, tune_controller, trial) -> None:
        self.waiting.pop(trial.trial_id, None)
        self.pbt.on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller):
        chosen = self.pbt.choose_trial_to_run(tune_controller)
        if chosen is not None:
            return chosen
        trials = tune_controller.get_trials()
        waiting = [trial for trial in trials if trial.status in (Trial.PENDING, Trial.PAUSED)]
        if waiting and not any(trial.status == Trial.RUNNING for trial in trials):
            # no member running and PBT starts none: the population would wait for ever
            self.unblocked += 1
            return min(waiting, key=lambda trial: (trial.last_result or {}).get("budget_images", 0))
        return None

    def debug_string(self) -> str:
        return (
            f"{self.pbt.debug_string()}; diverged members replaced {self.replaced_diverged}, "
            f"stopped {self.stopped_diverged}; waiting members started {self.unblocked}"
        )


class PopulationStart(Searcher):
    """One variant's population: the papers' defaults first, then random draws from its search
    space (Optuna's RandomSampler, seeded per variant), all drawn at once so a resumed sweep
    proposes the same members."""

    def __init__(self, variant: str, run: dict, size: int, seed: int):
        import optuna

        super().__init__(metric="fid", mode="min")
        space = spaces.optuna_space(variant, run["fixed"])
        quiet = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # "A new study created in memory"
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        optuna.logging.set_verbosity(quiet)
        draws = [study.ask(space).params for _ in range(max(0, size - 1))]
        self.points = [spaces.paper_defaults_point(variant, run["fixed"]), *draws][:size]
        self.count = 0

    def suggest(self, trial_id: str):
        if self.count >= len(self.points):
            return Searcher.FINISHED
        self.count += 1
        return dict(self.points[self.count - 1])

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        pass

    def get_state(self) -> dict:
        return {"count": self.count}

    def set_state(self, state: dict) -> None:
        self.count = state["count"]

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "w") as handle:
            json.dump({"count": self.count, "points": self.points}, handle)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as handle:
            saved = json.load(handle)
        self.count, self.points = saved["count"], saved["points"]
