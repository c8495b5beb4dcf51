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
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def variant_of(trial) -> str:
    return trial.config.get("run", {}).get("variant", "?")


class ReportLines(Callback):
    """Prints `[gan] trial 3ab2c1d0 report 2: FID 812.3 (gan's best 790.1); 5/33 trials done, 0m42s in, about 5m10s left`.

    The time left assumes every trial runs its whole budget, so early stopping makes it an upper bound."""

    def __init__(self, variants: list[str], num_samples: int, max_rounds: int):
        self.trials, self.planned = len(variants) * num_samples, len(variants) * num_samples * max_rounds
        self.start, self.reports, self.done, self.best = time.time(), 0, 0, dict.fromkeys(variants, math.inf)

    def setup(self, **info):
        self.start = time.time()  # also after --resume, which restores this callback as pickled

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.reports += 1
        variant, fid = variant_of(trial), result.get("fid", math.nan)
        if fid < SENTINEL_FID:
            self.best[variant] = min(self.best.get(variant, math.inf), fid)
        spent = time.time() - self.start
        left = spent * (self.planned / self.reports - 1) if self.reports < self.planned else 0.0
        outcome = "diverged" if result.get("diverged") else f"FID {fid:.1f}"
        print(f"[{variant}] trial {trial.trial_id} report {result.get('round', '?')}: {outcome} "
              f"({variant}'s best {self.best.get(variant, math.inf):.1f}); {self.done}/{self.trials} trials done, "
              f"{duration(spent)} in, about {duration(left)} left", flush=True)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.done += 1

    def on_trial_recover(self, iteration, trials, trial, **info):
        print(f"[{variant_of(trial)}] trial {trial.trial_id} failed ({first_error_line(trial)}); "
              f"Ray retries it from its last checkpoint", flush=True)

    def on_trial_error(self, iteration, trials, trial, **info):
        self.done += 1
        print(f"[{variant_of(trial)}] trial {trial.trial_id} failed for good: {first_error_line(trial)} "
              f"(traceback: {trial.path}/error.txt)", flush=True)


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
