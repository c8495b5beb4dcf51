"""sweeps/search/ray_adapter.py: the private Ray API the sweep relies on, checked against the pinned
Ray; each test fails when the pinned version changes what the adapter relies on (or fixes what
it works around). And the public routes that replaced private access: a searcher's last report as
an intermediate value, and unfinished trials read from the saved experiment state."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from pathlib import Path

import pytest
from processes import free_port, ray_agent_port_flags, stop_marked

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


PROBE = """
import json, ray
from sweeps.search.ray_adapter import start_local_ray
start_local_ray(num_cpus=2, include_dashboard=False)
print(json.dumps({"cpus": ray.cluster_resources().get("CPU"), "gcs": ray.get_runtime_context().gcs_address}))
ray.shutdown()
"""


@pytest.mark.integration
def test_a_local_sweeps_ray_starts_its_own_beside_one_that_ray_start_recorded():
    """`ray start` (a `ray up` head on this machine, a user's own) records its address where
    ray.init without one looks; the sweep's local Ray must still start here, with its CPU count."""
    temp = Path(tempfile.mkdtemp(prefix="grs-", dir="/tmp"))  # short: socket paths under 108 bytes
    mark = uuid.uuid4().hex
    env = {**os.environ, "RAY_TMPDIR": str(temp), "GANLIB_TEST_NODE": mark}
    env.pop("RAY_ADDRESS", None)
    ports = [f"--port={free_port()}", *ray_agent_port_flags()]
    ray_cli = Path(sys.executable).resolve().parent / "ray"
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--node-ip-address=127.0.0.1", "--num-cpus=1"]
        + ["--include-dashboard=false", "--block", *ports],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        recorded_file = temp / "ray" / "ray_current_cluster"
        deadline = time.time() + 120
        while not recorded_file.exists() and time.time() < deadline:
            time.sleep(0.5)
        recorded = recorded_file.read_text().strip()
        probe = subprocess.run(
            [sys.executable, "-c", PROBE], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
        )
        assert probe.returncode == 0, probe.stderr[-2000:]
        started = json.loads(probe.stdout.strip().splitlines()[-1])
        assert started["cpus"] == 2 and started["gcs"] != recorded, (started, recorded)
    finally:
        stop_marked(mark)
        head.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


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
