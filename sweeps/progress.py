"""The sweep's console: one line per trial report, with the variant's place among the sweep's
variants, the best FID so far and an estimate of the time left, instead of Ray's trial tables
(those come back with --verbose)."""

from __future__ import annotations

import math
import time

from ray.tune import Callback

from ganlib.divergence import SENTINEL_FID


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class SweepClock:
    """Time spent per variant, for the estimate of what is left: a variant not yet started is taken
    to cost what the finished ones cost on average; the running one, its share of reports not yet
    made (every trial's whole budget: early stopping makes this an upper bound)."""

    def __init__(self, variants: list[str]):
        self.variants, self.seconds, self.start = variants, {}, time.time()

    def finished(self, variant: str, seconds: float) -> None:
        self.seconds[variant] = seconds

    def left(self, variant: str, variant_seconds: float, reports_done: int, reports_planned: int) -> float:
        share = min(1.0, reports_done / max(1, reports_planned))
        current = variant_seconds / share - variant_seconds if share > 0 else math.nan
        later = len(self.variants) - len(self.seconds) - 1
        per_variant = (sum(self.seconds.values()) / len(self.seconds)) if self.seconds else (variant_seconds + current)
        return current + later * per_variant


class ReportLines(Callback):
    """Prints `[gan 1/11] trial 3ab2c1d0 report 2/4: FID 812.3 (best 790.1), 0m42s in, about 5m10s left`."""

    def __init__(self, variant: str, clock: SweepClock, num_samples: int, max_rounds: int):
        self.variant, self.clock, self.planned = variant, clock, num_samples * max_rounds
        self.start, self.reports, self.best = time.time(), 0, math.inf

    def setup(self, **info):
        self.start = time.time()  # also after --resume, which restores this callback as pickled

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.reports += 1
        fid = result.get("fid", math.nan)
        if fid < SENTINEL_FID:
            self.best = min(self.best, fid)
        spent = time.time() - self.start
        place = f"{self.clock.variants.index(self.variant) + 1}/{len(self.clock.variants)}"
        left = self.clock.left(self.variant, spent, self.reports, self.planned)
        outcome = "diverged" if result.get("diverged") else f"FID {fid:.1f}"
        print(f"[{self.variant} {place}] trial {trial.trial_id} report {result.get('round', '?')}: {outcome} "
              f"(best {self.best:.1f}), {duration(spent)} in, about {duration(left)} left", flush=True)
