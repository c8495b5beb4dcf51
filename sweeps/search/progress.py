"""The sweep's console: one line per trial report, with the trial's variant, that variant's best
FID so far, how many trials are done and an estimate of the time left, instead of Ray's trial
tables (those come back with --verbose); and one line for a trial that fails, with the first line
of its error."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

from ray.tune import Callback

from ganlib.divergence import SENTINEL_FID


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def settings_of(trial) -> dict:
    config = trial.config.get("final", trial.config)  # the final stage's trials keep theirs under "final"
    return config.get("run", {})


def variant_of(trial) -> str:
    return settings_of(trial).get("variant", "?")


class ReportLines(Callback):
    """Prints a line a report, e.g. `[gan] trial 3ab2c1d0 report 2: FID 812.3 (gan's best 790.1); 5/33
    trials done, 0m42s in, about 5m10s left`.

    The time left assumes every trial runs its whole budget, so early stopping makes it an upper bound."""

    def __init__(self, variants: list[str], num_samples: int, max_rounds: int):
        self.trials, self.max_rounds = len(variants) * num_samples, max_rounds
        self.start, self.reports, self.best = time.time(), 0, dict.fromkeys(variants, math.inf)
        self.last_fid: dict[str, float] = {}

    def setup(self, total_num_samples: int | None = None, **info):
        # after --resume Ray restores this callback as pickled when the sweep began: the counts
        # below come from the trials themselves, so restored finished trials count as done
        self.start, self.reports = time.time(), 0
        self.trials = total_num_samples or self.trials  # Ray's count (a grid's points included)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.reports += 1
        variant, fid = variant_of(trial), result.get("fid", math.nan)
        if result.get("replaced"):  # PBT copied a better member's state into this one
            was = self.last_fid.get(trial.trial_id, math.nan)
            print(
                f"[{variant}] trial {trial.trial_id} replaced (its FID was "
                f"{'diverged' if was >= SENTINEL_FID else f'{was:.1f}'}): now from {result['replaced']}",
                flush=True,
            )
        self.last_fid[trial.trial_id] = fid
        if fid < SENTINEL_FID:
            self.best[variant] = min(self.best.get(variant, math.inf), fid)
        for other in trials:  # after --resume, the restored trials' last reports count too
            last = (other.last_result or {}).get("fid", math.nan)
            if last < SENTINEL_FID:
                self.best[variant_of(other)] = min(self.best.get(variant_of(other), math.inf), last)
        done, rounds_left = self.progress(trials, trial, result)
        spent = time.time() - self.start
        left = spent / self.reports * rounds_left
        outcome = "diverged" if result.get("diverged") else f"FID {fid:.1f}"
        print(
            f"[{variant}] trial {trial.trial_id} report {result.get('round', '?')}: {outcome} "
            f"({variant}'s best {self.best.get(variant, math.inf):.1f}); {done}/{self.trials} trials done, "
            f"{duration(spent)} in, about {duration(left)} left",
            flush=True,
        )

    def progress(self, trials, reporting, result) -> tuple[int, int]:
        """Trials finished (or failed for good), and the reports still to come if every unfinished
        trial ran its whole budget (so early stopping makes the time left an upper bound)."""
        done, rounds_left = 0, max(0, self.trials - len(trials)) * self.max_rounds
        for trial in trials:
            # the reporting trial is still RUNNING when its last report (done) comes in
            if trial.status in ("TERMINATED", "ERROR") or (trial is reporting and result.get("done")):
                done += 1
                continue
            last = result if trial is reporting else (trial.last_result or {})
            settings = settings_of(trial)
            # a later budget's run carries on from an earlier one's rounds: its own reports count
            # from there, Ray's training_iteration from 0
            rounds = last.get("round") or last.get("training_iteration") or settings.get("from_rounds") or 0
            rounds_left += max(0, settings.get("max_rounds", self.max_rounds) - int(rounds))
        return done, rounds_left

    def on_trial_recover(self, iteration, trials, trial, **info):
        print(
            f"[{variant_of(trial)}] trial {trial.trial_id} failed ({first_error_line(trial)}); "
            f"Ray retries it from its last checkpoint",
            flush=True,
        )

    def on_trial_error(self, iteration, trials, trial, **info):
        print(
            f"[{variant_of(trial)}] trial {trial.trial_id} failed for good: {first_error_line(trial)} "
            f"(traceback: {trial.path}/error.txt)",
            flush=True,
        )


class WaitingForNodes(Callback):
    """One line when trials have waited `patience` seconds with none running and no node has joined:
    on a new cluster the usual first-hour failures (a GPU quota of 0, an IAM or image error) stop
    every worker launch, and only the head's autoscaler log says so."""

    def __init__(self, patience: float, count_nodes=None, clock=time.monotonic):
        self.patience, self.clock, self.count_nodes = patience, clock, count_nodes or alive_nodes
        self.since, self.nodes, self.said = None, None, False

    def on_step_end(self, iteration, trials, **info):
        waiting = sum(trial.status == "PENDING" for trial in trials)
        if not waiting or any(trial.status == "RUNNING" for trial in trials):
            self.since, self.said = None, False
            return
        now, nodes = self.clock(), self.count_nodes()
        if self.since is None or nodes != self.nodes:  # a new wait, or a node came and the wait starts over
            self.since, self.nodes, self.said = now, nodes, False
        elif not self.said and now - self.since >= self.patience:
            self.said = True
            print(
                f"waiting: {waiting} trials have waited {duration(now - self.since)} with none running, "
                f"and no node has joined the cluster's {nodes}; on the head, `ray status` shows pending "
                f"and failed launches and /tmp/ray/session_latest/logs/monitor.out the autoscaler's errors "
                f"(docs/cloud.md: the first hour)",
                flush=True,
            )


def alive_nodes() -> int:
    import ray

    return sum(bool(node.get("Alive")) for node in ray.nodes())


# an exception's own line in a traceback: `module.Name: message`, Name ending like an exception's
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Missing|Interrupt|Exit)): (.*)$")


def first_error_line(trial) -> str:
    """The exception that ended the trial's last try, as `Name: message`: the innermost one that is
    not Ray's wrapper (an error in a trial's setup reaches the driver as Ray's ActorDiedError
    around it). Read from the error file Ray appends to on the driver before calling back."""
    text = ""
    try:
        text = Path(trial.error_file).read_text().rsplit("Failure # ", 1)[-1]
    except (OSError, TypeError):
        try:
            text = str(trial.get_error() or "")
        except Exception:  # an error Ray could not read back: its file's name is all there is
            pass
    found = [m for m in map(_EXCEPTION_LINE.match, (line.strip() for line in text.splitlines())) if m]
    own = [m for m in found if not m.group(1).startswith("ray.")] or found
    if not own:
        return "unknown error (see the trial's error.txt)"
    name, message = own[-1].groups()
    return f"{name.rsplit('.', 1)[-1]}: {message}"[:500]
