"""Each variant's search: Ray's OptunaSearch with a seeded TPE, the papers' defaults as the first
trial, and the study kept in an Optuna storage for optuna-dashboard and optuna.load_study."""

from __future__ import annotations

from ray.tune.result import TRAINING_ITERATION
from ray.tune.search.optuna import OptunaSearch


class StoredOptunaSearch(OptunaSearch):
    """Ray's OptunaSearch, with the report a trial ended on kept as an intermediate value too.

    Ray hands the searcher a result only when it goes on; the one a trial stopped or finished at
    arrives at completion, as its final value. Passing it on as a result first gives the stored
    study the FID at every report, as the trial's history has it. The sweep's ConcurrencyLimiter
    hands on each trial's completion once, and only for a trial this searcher suggested."""

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
        if result and self.metric in result and TRAINING_ITERATION in result:
            self.on_trial_result(trial_id, result)
        super().on_trial_complete(trial_id, result=result, error=error)


def variant_seed(seed: int, variant: str) -> int:
    """A variant's own searcher seed: with one seed for all, every variant's random start-up
    drew the same points (their importance rows came out identical)."""
    from ganlib import registry

    return seed + 7919 * (1 + registry.names().index(variant))


def make_searcher(variant: str, run: dict, preset, study_name: str, storage_url: str) -> StoredOptunaSearch:
    import optuna

    from sweeps.search import spaces

    return StoredOptunaSearch(
        space=spaces.optuna_space(variant, run["fixed"]),
        metric="fid",
        mode="min",
        # every trial's hyperparameters, its FID at each report and its state, in a study named
        # after the experiment (optuna-dashboard URL; optuna.load_study(study_name=..., storage=URL))
        study_name=study_name,
        storage=optuna.storages.RDBStorage(storage_url),
        points_to_evaluate=[spaces.paper_defaults_point(variant, run["fixed"])],
        sampler=optuna.samplers.TPESampler(
            seed=variant_seed(run["seed"], variant), n_startup_trials=preset.tpe_startup_trials
        ),
    )
