"""Early stopping that always leaves a finalist: a stopping rule (Ray's ASHAScheduler) inside
`KeepsAFinalist`.

A stopping rule on its own can stop every trial of a variant: Ray's ASHA stops the trials behind the
leader, and when the leader then diverges or fails, nothing is left to run the whole budget. Until
some trial has run its whole budget:
- the leader, the best running trial at the highest rung any running trial has reached, always
  goes on;
- a trial the rule would stop is paused instead (its checkpoint kept, its slot freed), and when no
  trial is running any more (the leader diverged or failed) the best paused one resumes.
Once a trial has run its whole budget, paused trials are stopped and the rule stops trials outright.
So a sweep whose trials did not all diverge or fail ends with at least one trial that ran its whole
budget (tests/test_finalist.py checks it over many generated sweeps).

After `--resume` the rungs are rebuilt from the trials' own result files, wherever Ray stored them
(a local folder or a bucket): Ray saves a scheduler's start state, not what it recorded. The
records are also written to `rungs-VARIANT.json` in the experiment's folder whenever they change,
for a person to read (and the resume test to check).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from ganlib.errors import check_range, require
from sweeps.search.ray_adapter import save_stopped_trial


class Rungs:
    """ASHA's rungs (grace, grace * eta, ... below max_t) and each one's recorded rewards (higher is
    better): where each trial stands."""

    def __init__(self, grace_period: float, max_t: float, reduction_factor: float):
        check_range("grace_period", grace_period, 0, max_t, low_open=True)
        check_range("reduction_factor", reduction_factor, 1.0, 100.0, low_open=True)
        milestones, milestone = [], grace_period
        while milestone < max_t:
            milestones.append(milestone)
            milestone *= reduction_factor
        self.recorded: dict[float, dict[str, float]] = {m: {} for m in milestones}

    def record(self, trial_id: str, time: float, reward: float) -> None:
        """A trial's reward at the first report at or past each rung (as Ray's ASHA records it)."""
        if not math.isfinite(reward):
            return
        for milestone, rewards in self.recorded.items():
            if time >= milestone and trial_id not in rewards:
                rewards[trial_id] = reward

    def standing(self, trial_id: str) -> tuple[int, float]:
        """(how many rungs the trial has passed, its reward at the last of them): higher is ahead."""
        passed = [rewards[trial_id] for rewards in self.recorded.values() if trial_id in rewards]
        return (len(passed), passed[-1]) if passed else (0, -math.inf)


def diverged(result: dict, metric: str, cap: float) -> bool:
    """A report that ends its trial without a usable score: the trial said so, or its metric is
    not finite or at the sweep's cap (what a diverged trial reports)."""
    value = result.get(metric)
    return bool(result.get("diverged")) or value is None or not math.isfinite(value) or abs(value) >= cap


class KeepsAFinalist(FIFOScheduler):
    """A stopping rule (Ray's ASHAScheduler) that can never stop every trial.

    The rule decides; until some trial has run its whole budget, this keeps the leader (the best
    running trial at the highest rung any running trial has reached) going whatever the rule says,
    and pauses, rather than stops, the others it would stop; when no trial is running any more (the
    leader diverged or failed) the best paused one resumes. Once a trial has run its whole budget,
    the paused ones are stopped and the rule's stops stand. So a sweep whose trials did not all
    diverge or fail ends with at least one trial that ran its whole budget, whatever the rule.
    """

    def __init__(
        self,
        rule,
        time_attr: str,
        metric: str,
        mode: str,
        max_t: float,
        grace_period: float,
        reduction_factor: float,
        cap: float = math.inf,
        rungs_file: str = "rungs.json",
    ):
        super().__init__()
        require(mode in ("min", "max"), f"mode={mode!r} is not allowed: choose min or max")
        self.rule, self.rungs_file = rule, rungs_file
        self._metric, self._mode, self._time_attr = metric, mode, time_attr
        self._max_t, self._cap = max_t, cap
        self._sign = 1.0 if mode == "max" else -1.0
        self.rungs = Rungs(grace_period, max_t, reduction_factor)  # what any ASHA records: the standings
        self.running: dict[str, int] = {}  # trial id -> order of arrival (ties go to the earlier)
        self._arrivals = 0
        self.paused: dict[str, Trial] = {}
        self.finalists: set[str] = set()
        self.num_stopped = 0
        self._storage = None  # a trial's StorageContext: where rungs.json goes

    def set_search_properties(self, metric, mode, **spec) -> bool:
        # the Tuner's own metric and mode (for Ray's "current best trial") must be the ones judged here
        return metric in (None, self._metric) and mode in (None, self._mode)

    # ---- Ray's hooks ---------------------------------------------------------------------------
    def on_trial_add(self, tune_controller, trial) -> None:
        self.rule.on_trial_add(tune_controller, trial)
        self._storage = self._storage or getattr(trial, "storage", None)
        if getattr(trial, "last_result", None) and self._time_attr in trial.last_result:
            self._rebuild(tune_controller, trial)
            self._write_rungs()
        if getattr(trial, "status", Trial.PENDING) not in (Trial.TERMINATED, Trial.ERROR):
            self._arrivals += 1
            self.running.setdefault(trial.trial_id, self._arrivals)

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        decision = self.rule.on_trial_result(tune_controller, trial, result)
        if self._time_attr not in result or self._metric not in result:
            return decision
        if diverged(result, self._metric, self._cap):
            return TrialScheduler.STOP
        if result[self._time_attr] >= self._max_t:
            self.finalists.add(trial.trial_id)
            return TrialScheduler.STOP
        self.rungs.record(trial.trial_id, result[self._time_attr], self._sign * result[self._metric])
        self._write_rungs()
        if decision != TrialScheduler.STOP or (not self.finalists and self.leader() == trial.trial_id):
            return TrialScheduler.CONTINUE if decision == TrialScheduler.STOP else decision
        self.running.pop(trial.trial_id, None)
        if self.finalists:
            self.num_stopped += 1
            return TrialScheduler.STOP
        self.paused[trial.trial_id] = trial
        return TrialScheduler.PAUSE

    def on_trial_complete(self, tune_controller, trial, result: dict) -> None:
        self.rule.on_trial_complete(tune_controller, trial, result)
        self.running.pop(trial.trial_id, None)
        self.paused.pop(trial.trial_id, None)
        if not result or self._time_attr not in result or diverged(result, self._metric, self._cap):
            return
        self.rungs.record(trial.trial_id, result[self._time_attr], self._sign * result[self._metric])
        self._write_rungs()
        if result[self._time_attr] >= self._max_t:
            self.finalists.add(trial.trial_id)

    def on_trial_error(self, tune_controller, trial) -> None:
        self.rule.on_trial_error(tune_controller, trial)
        self.running.pop(trial.trial_id, None)
        self.paused.pop(trial.trial_id, None)

    def on_trial_remove(self, tune_controller, trial) -> None:
        self.rule.on_trial_remove(tune_controller, trial)
        self.running.pop(trial.trial_id, None)
        self.paused.pop(trial.trial_id, None)

    def choose_trial_to_run(self, tune_controller):
        trials = tune_controller.get_trials()
        for trial in trials:
            if trial.status == Trial.PENDING:
                return trial
        paused = [trial for trial in trials if trial.status == Trial.PAUSED]
        if self.finalists:
            for trial in paused:  # a finalist exists: what was paused to keep one is stopped now
                self.paused.pop(trial.trial_id, None)
                self.num_stopped += 1
                tune_controller.stop_trial(trial)
                save_stopped_trial(tune_controller, trial)
            return None
        if paused and not any(trial.status == Trial.RUNNING for trial in trials):
            best = max(paused, key=lambda trial: self.rungs.standing(trial.trial_id))
            self.paused.pop(best.trial_id, None)
            self.running[best.trial_id] = 0  # resumed as the only one running: the leader
            return best
        return None

    def debug_string(self) -> str:
        return (
            f"{self.rule.debug_string()}; kept for a finalist: paused={len(self.paused)}, "
            f"finalists={len(self.finalists)}, stopped once one existed={self.num_stopped}"
        )

    # ---- the finalist guarantee ----------------------------------------------------------------
    def leader(self) -> str | None:
        """The running trial at the highest rung any running trial has reached, best there."""
        if not self.running:
            return None
        return max(
            self.running, key=lambda trial_id: (*self.rungs.standing(trial_id), -self.running[trial_id])
        )

    def rung_records(self) -> dict[str, dict[str, float]]:
        """Each rung's recorded metric values (not rewards), by trial id, as rungs.json holds them."""
        return {
            f"{m:g}": {t: self._sign * r for t, r in rewards.items()}
            for m, rewards in self.rungs.recorded.items()
        }

    def _write_rungs(self) -> None:
        # into the driver's staging folder, which Ray copies to the storage (folder or bucket) with
        # its experiment state: a file written to the storage directly is overwritten by that copy
        if self._storage is None:
            return
        folder = Path(self._storage.experiment_driver_staging_path)
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"time_attr": self._time_attr, "metric": self._metric, "rungs": self.rung_records()}, indent=1
        )
        (folder / f".{self.rungs_file}.partial").write_text(text)
        (folder / f".{self.rungs_file}.partial").replace(folder / self.rungs_file)

    # ---- --resume --------------------------------------------------------------------------------
    def _rebuild(self, tune_controller, trial) -> None:
        """A restored trial's reports, from its result file, fed to the rule and to the standings
        as if they had just come in (the rule's decisions on them are history, not acted on)."""
        for result in read_results(trial):
            if (
                self._time_attr not in result
                or self._metric not in result
                or diverged(result, self._metric, self._cap)
            ):
                continue
            if result[self._time_attr] >= self._max_t:
                self.finalists.add(trial.trial_id)
                continue
            self.rule.on_trial_result(tune_controller, trial, result)
            self.rungs.record(trial.trial_id, result[self._time_attr], self._sign * result[self._metric])


def read_results(trial) -> list[dict]:
    """Every report of a trial, from the result.json Ray keeps beside its checkpoints."""
    from ray.air.constants import EXPR_RESULT_FILE

    storage = trial.storage
    try:
        path = f"{storage.trial_fs_path}/{EXPR_RESULT_FILE}"
        with storage.storage_filesystem.open_input_stream(path) as handle:
            text = handle.read().decode()
    except (FileNotFoundError, OSError):
        return [trial.last_result]
    return [json.loads(line) for line in text.splitlines() if line.strip()]
