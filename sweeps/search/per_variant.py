"""Every variant's sweep in one Ray Tune experiment, so the cluster's slots are shared across
variants, while each variant keeps its own TPE, its own concurrency limit, its own early stopping
and the same number of trials.

Ray Tune runs one searcher and one scheduler per experiment; these two route each trial to its
variant's own (a trial's variant is `config["run"]["variant"]`). One experiment a variant would
leave slots idle: a variant's `max_concurrent` caps its busy slots, and its last trials finish
alone (benchmarks/README.md: cluster slot utilisation).
"""

from __future__ import annotations

import os
import pickle
import tempfile

from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler
from ray.tune.search import Searcher


def variant_of(trial) -> str:
    return trial.config["run"]["variant"]


class SearchPerVariant(Searcher):
    """Each variant's own searcher (a ConcurrencyLimiter around its Optuna TPE) behind one.

    A new trial goes to the variant with the fewest trials so far whose searcher can suggest one
    now (below its concurrency limit), so variants advance together and each gets `num_samples`.
    """

    def __init__(self, searchers: dict, runs: dict, num_samples: int, metric: str = "fid", mode: str = "min"):
        super().__init__(metric=metric, mode=mode)
        self.searchers, self.runs, self.num_samples = searchers, runs, num_samples
        self.suggested = dict.fromkeys(searchers, 0)
        self.variant_of: dict[str, str] = {}

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        for searcher in self.searchers.values():
            searcher.set_search_properties(metric, mode, config, **spec)
        return True

    def suggest(self, trial_id: str):
        open_variants = [v for v in self.searchers if self.suggested[v] < self.num_samples]
        if not open_variants:
            return Searcher.FINISHED
        # sorted is stable: on a tie, the sweep's order
        for variant in sorted(open_variants, key=lambda v: self.suggested[v]):
            point = self.searchers[variant].suggest(trial_id)
            if point is None:
                continue
            if point == Searcher.FINISHED:
                self.suggested[variant] = self.num_samples
                continue
            self.suggested[variant] += 1
            self.variant_of[trial_id] = variant
            return {**point, "run": self.runs[variant]}
        return None

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self.variant_of:
            self.searchers[self.variant_of[trial_id]].on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        if trial_id in self.variant_of:
            self.searchers[self.variant_of[trial_id]].on_trial_complete(trial_id, result=result, error=error)

    # Ray saves the searcher with the experiment state (for --resume): each variant's searcher
    # saves itself as Ray would save it alone, into this one file with the routing.
    def save(self, checkpoint_path: str) -> None:
        saved = {}
        with tempfile.TemporaryDirectory() as folder:
            for variant, searcher in self.searchers.items():
                searcher.save(os.path.join(folder, variant))
                with open(os.path.join(folder, variant), "rb") as handle:
                    # the limiter's own record (its live trials) is not in what it saves
                    saved[variant] = (searcher.get_state(), handle.read())
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(
                {"suggested": self.suggested, "variant_of": self.variant_of, "searchers": saved}, handle
            )

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as handle:
            state = pickle.load(handle)
        with tempfile.TemporaryDirectory() as folder:
            for variant, searcher in self.searchers.items():
                limiter_state, saved = state["searchers"][variant]
                with open(os.path.join(folder, variant), "wb") as handle:
                    handle.write(saved)
                searcher.restore(os.path.join(folder, variant))
                searcher.set_state(limiter_state)
        self.suggested, self.variant_of = state["suggested"], state["variant_of"]


class _VariantView:
    """The part of Ray's controller a variant's scheduler sees: its own trials only."""

    # and no searcher: Ray's PBT refuses to run beside one (a model of config -> score that mutated
    # configs would mislead); under PBT the searcher here only hands out each population's random
    # starting points (sweeps/search/population.py: PopulationStart)
    search_alg = None

    def __init__(self, controller, variant: str):
        self._controller, self._variant = controller, variant

    def get_trials(self):
        return [trial for trial in self._controller.get_trials() if variant_of(trial) == self._variant]

    def get_live_trials(self):
        return [trial for trial in self._controller.get_live_trials() if variant_of(trial) == self._variant]

    def __getattr__(self, name):
        return getattr(self._controller, name)


class SchedulerPerVariant(TrialScheduler):
    """Each variant's own stopping rule (KeepsAFinalist around ASHA) behind one.

    New trials start in the order they were suggested, whatever their variant; which paused trial
    resumes, and which are stopped once a finalist exists, each variant's rule decides over its
    own trials."""

    def __init__(self, schedulers: dict):
        self.schedulers = schedulers
        self._metric, self._mode = "fid", "min"
        self._turn = 0

    def set_search_properties(self, metric, mode, **spec) -> bool:
        return all(
            scheduler.set_search_properties(metric, mode, **spec) for scheduler in self.schedulers.values()
        )

    def _route(self, tune_controller, trial):
        variant = variant_of(trial)
        return self.schedulers[variant], _VariantView(tune_controller, variant)

    def on_trial_add(self, tune_controller, trial) -> None:
        scheduler, view = self._route(tune_controller, trial)
        scheduler.on_trial_add(view, trial)

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        scheduler, view = self._route(tune_controller, trial)
        return scheduler.on_trial_result(view, trial, result)

    def on_trial_complete(self, tune_controller, trial, result: dict) -> None:
        scheduler, view = self._route(tune_controller, trial)
        scheduler.on_trial_complete(view, trial, result)

    def on_trial_error(self, tune_controller, trial) -> None:
        scheduler, view = self._route(tune_controller, trial)
        scheduler.on_trial_error(view, trial)

    def on_trial_remove(self, tune_controller, trial) -> None:
        scheduler, view = self._route(tune_controller, trial)
        scheduler.on_trial_remove(view, trial)

    def choose_trial_to_run(self, tune_controller):
        for trial in tune_controller.get_trials():
            if trial.status == Trial.PENDING:
                return trial
        variants = list(self.schedulers)
        self._turn = (self._turn + 1) % len(variants)  # no variant always first to resume a paused trial
        for variant in variants[self._turn :] + variants[: self._turn]:
            chosen = self.schedulers[variant].choose_trial_to_run(_VariantView(tune_controller, variant))
            if chosen is not None:
                return chosen
        return None

    def debug_string(self) -> str:
        return "; ".join(
            f"{variant}: {scheduler.debug_string()}" for variant, scheduler in self.schedulers.items()
        )
