"""sweeps/search/ray_adapter.py: the private Ray API the sweep relies on, checked against the pinned
Ray; each test fails when the pinned version changes what the adapter relies on (or fixes what
it works around). And the public routes that replaced private access: a searcher's last report as
an intermediate value, and unfinished trials read from the saved experiment state."""

from __future__ import annotations

import glob
import json
import os
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# what sweeps/search/ray_adapter.py was written against: a new minor version must be checked again
VERIFIED = {"ray": "2.60", "optuna": "5.0"}


def test_the_installed_and_pinned_ray_and_optuna_are_the_versions_the_adapter_was_checked_against():
    import optuna
    import ray

    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"ray[tune]=={VERIFIED['ray']}.*" in pins and f"optuna=={VERIFIED['optuna']}.*" in pins, pins
    assert ray.__version__.startswith(VERIFIED["ray"] + "."), ray.__version__
    assert optuna.__version__.startswith(VERIFIED["optuna"] + "."), optuna.__version__


@pytest.fixture(scope="module")
def local_ray():
    import ray

    from sweeps.search.ray_adapter import start_local_ray

    start_local_ray(num_cpus=1, include_dashboard=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_start_local_ray_binds_this_machines_ray_to_127_0_0_1(local_ray):
    assert local_ray.util.get_node_ip_address() == "127.0.0.1"
    assert {node["NodeManagerAddress"] for node in local_ray.nodes() if node["Alive"]} == {"127.0.0.1"}


def saved_statuses(staging: str) -> list[str]:
    path = sorted(glob.glob(os.path.join(staging, "experiment_state-*.json")))[-1]
    return [json.loads(entry[0])["status"] for entry in json.loads(Path(path).read_text())["trial_data"]]


def test_a_stopped_paused_trial_is_saved_as_terminated_only_through_the_adapter(local_ray, tmp_path):
    from ray import tune
    from ray.air.execution import FixedResourceManager
    from ray.train._internal.storage import StorageContext
    from ray.tune.execution.tune_controller import TuneController
    from ray.tune.experiment import Trial

    from sweeps.search.experiment_state import unfinished_trials
    from sweeps.search.per_variant import _VariantView
    from sweeps.search.ray_adapter import save_stopped_trial

    class Idle(tune.Trainable):
        def step(self):
            return {"done": True}

    tune.register_trainable("idle", Idle)
    storage = StorageContext(storage_path=str(tmp_path), experiment_dir_name="exp")
    controller = TuneController(storage=storage, resource_manager_factory=FixedResourceManager)
    trial = Trial("idle", stub=False, storage=storage, config={"run": {"variant": "gan"}})
    controller.add_trial(trial)
    controller._set_trial_status(trial, Trial.PAUSED)  # what KeepsAFinalist's PAUSE leaves: no actor
    controller.save_to_dir()  # the experiment state, saved while the trial is paused
    staging = storage.experiment_driver_staging_path
    assert saved_statuses(staging) == [Trial.PAUSED]
    # what a scheduler is handed (SchedulerPerVariant narrows Ray's wrapper to a variant's view)
    view = _VariantView(controller._wrapped(), "gan")
    assert type(controller._wrapped()).__name__ == "TrialRunnerWrapper"
    assert view._tune_controller is controller

    view.stop_trial(trial)
    controller.save_to_dir()
    # Ray 2.60's own stop leaves the saved state at PAUSED (if this fails, Ray saves the stop
    # itself now and save_stopped_trial can go)
    assert trial.status == Trial.TERMINATED and saved_statuses(staging) == [Trial.PAUSED]
    assert unfinished_trials(staging) == 1

    save_stopped_trial(view, trial)
    controller.save_to_dir()
    assert saved_statuses(staging) == [Trial.TERMINATED]
    assert unfinished_trials(staging) == 0


def test_save_stopped_trial_leaves_a_controller_without_saved_state_alone():
    from scheduler_replay import ReplayController

    from sweeps.search.ray_adapter import save_stopped_trial

    save_stopped_trial(ReplayController(scheduler=None), object())


def test_a_trials_last_report_reaches_the_stored_study_as_an_intermediate_value(tmp_path):
    import optuna
    from ray.tune.search import ConcurrencyLimiter

    from sweeps.search.searcher import StoredOptunaSearch

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    searcher = ConcurrencyLimiter(
        StoredOptunaSearch(
            space={"x": optuna.distributions.FloatDistribution(0.0, 1.0)},
            metric="fid",
            mode="min",
            study_name="s",
            storage=optuna.storages.RDBStorage(storage),
            sampler=optuna.samplers.RandomSampler(seed=0),
        ),
        max_concurrent=2,
    )
    assert searcher.suggest("a") and searcher.suggest("b")
    searcher.on_trial_result("a", {"fid": 9.0, "training_iteration": 1})
    searcher.on_trial_complete("a", {"fid": 7.0, "training_iteration": 2})  # stopped or finished at report 2
    # told twice: the limiter passes it on once
    searcher.on_trial_complete("a", {"fid": 7.0, "training_iteration": 2})
    searcher.on_trial_complete("b", error=True)
    trials = optuna.load_study(study_name="s", storage=storage).trials
    assert trials[0].intermediate_values == {1: 9.0, 2: 7.0} and trials[0].value == 7.0
    assert trials[0].state == optuna.trial.TrialState.COMPLETE
    assert trials[1].intermediate_values == {} and trials[1].state == optuna.trial.TrialState.FAIL
