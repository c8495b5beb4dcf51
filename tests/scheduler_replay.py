"""A test double of the part of Ray's TuneController a scheduler talks to, and `replay`, which runs
a scheduler over given FID curves without Ray: for judging a stopping rule on generated sweeps
(tests/test_finalist.py, tests/test_per_variant.py) and on a kept sweep's own trials
(benchmarks/sweep_costs.py imports it from here)."""

from __future__ import annotations

import math

from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler


class ReplayedTrial:
    """What a scheduler reads of Ray's Trial."""

    def __init__(self, trial_id: str, variant: str):
        self.trial_id = trial_id
        self.status = Trial.PENDING
        self.last_result: dict = {}
        self.config = {"run": {"variant": variant}}


class ReplayController:
    """The part of Ray's TuneController a scheduler talks to, for `replay`."""

    def __init__(self, scheduler):
        self.scheduler, self.trials = scheduler, []

    def get_trials(self):
        return list(self.trials)

    def stop_trial(self, trial) -> None:
        if trial.status == Trial.PAUSED:
            self.scheduler.on_trial_remove(self, trial)
        trial.status = Trial.TERMINATED


def replay(
    scheduler,
    curves: dict[str, list[float]],
    slots: int,
    time_attr: str,
    time_per_report: float = 1,
    cap: float = math.inf,
    variants: dict[str, str] | None = None,
    max_concurrent: int | None = None,
) -> dict[str, int]:
    """Reports each trial makes under `scheduler` when its metric at each report is given by its
    curve (NaN, or a value at or past `cap`, ends the trial as diverged there, as a trainable that
    reports the sweep's sentinel FID does): trials start in the curves' order, `slots` at a time,
    one report each per tick. As with Ray's ConcurrencyLimiter, a paused trial keeps its slot for
    new trials but frees it for the trials the scheduler chooses to run.

    With `variants` (trial id -> variant) the trials belong to several variants sharing the slots,
    each variant at most `max_concurrent` (default: `slots`) trials started and unfinished, as
    sweeps.search.per_variant runs them."""
    controller = ReplayController(scheduler)
    reports, waiting = dict.fromkeys(curves, 0), list(curves)
    variants = variants or dict.fromkeys(curves, "")
    limit = max_concurrent or slots

    def with_status(*statuses):
        return [trial for trial in controller.trials if trial.status in statuses]

    def has_room(trial_id: str) -> bool:
        live = with_status(Trial.RUNNING, Trial.PAUSED, Trial.PENDING)
        return len([t for t in live if variants[t.trial_id] == variants[trial_id]]) < limit

    while True:  # one tick: fill the free slots, then every running trial reports once
        while len(with_status(Trial.RUNNING)) < slots:
            chosen = scheduler.choose_trial_to_run(controller)
            startable = [trial_id for trial_id in waiting if has_room(trial_id)]
            if chosen is None and startable:
                waiting.remove(startable[0])
                trial = ReplayedTrial(startable[0], variants[startable[0]])
                controller.trials.append(trial)
                scheduler.on_trial_add(controller, trial)
                continue
            if chosen is None:
                break
            chosen.status = Trial.RUNNING
        running = with_status(Trial.RUNNING)
        if not running:
            if waiting or with_status(Trial.PAUSED, Trial.PENDING):
                raise RuntimeError(
                    f"replay: nothing runs, yet {len(waiting)} trials wait and "
                    f"{len(with_status(Trial.PAUSED))} are paused"
                )
            return reports
        for trial in running:
            reports[trial.trial_id] += 1
            value = curves[trial.trial_id][reports[trial.trial_id] - 1]
            result = {time_attr: reports[trial.trial_id] * time_per_report, scheduler.metric: value}
            trial.last_result = result
            last = reports[trial.trial_id] >= len(curves[trial.trial_id])
            ended = last or not math.isfinite(value) or abs(value) >= cap
            if ended:  # the trainable says done (budget or divergence): Ray completes it, no on_trial_result
                trial.status = Trial.TERMINATED
                scheduler.on_trial_complete(controller, trial, result)
                continue
            decision = scheduler.on_trial_result(controller, trial, result)
            if decision == TrialScheduler.STOP:
                trial.status = Trial.TERMINATED
                scheduler.on_trial_complete(controller, trial, result)
            elif decision == TrialScheduler.PAUSE:
                trial.status = Trial.PAUSED
