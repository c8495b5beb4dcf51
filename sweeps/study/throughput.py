"""Images per second of each variant's best configuration, measured alone: one run at a time on an
otherwise idle machine, with the resources a trial of the sweep had (its CPU threads), so the
computing-time answer is not the shared figure a sweep's trials report while they run side by side.

    python -m sweeps.study.throughput EXPORT_DIR [--seconds 10] [--repeats 6] [--data mnist.npz]

Per variant: the exported best configuration (EXPORT_DIR/best/VARIANT/config.json) is built as
the sweep's trials built it, with the weight average the final stage kept (where it kept one), and
traced, then trained in one pass for `repeats` consecutive windows of at least `seconds` each;
EXPORT_DIR/throughput.csv gets the median images/s (and generator steps/s) over the windows with its
95% bootstrap interval, which stays inside the windows' range and above 0, and every window's rate
(rows of variants measured again are replaced). Six windows let Mann-Whitney tell two variants apart
(its smallest two-sided p is 0.0022 at 6 vs 6, 0.10 at 3 vs 3). The report's computing-time table
shows it beside the final stage's figures. Run it with nothing else running:
it says so if the machine was busy when it started.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import pandas as pd

from sweeps.study.statistics import median_interval

BUSY = 0.5  # a one-minute load average above this: something else is running


def configurations(export_dir: Path) -> dict[str, dict]:
    """Each variant's exported best: its hyperparameters and the seed it was found with."""
    found = {}
    for record in sorted((export_dir / "best").glob("*/config.json")):
        config = json.loads(record.read_text())
        found[record.parent.name] = {
            "hyperparameters": config["hyperparameters"],
            "seed": int(config.get("seed", 0)),
        }
    return found


def window_clock(seconds: float, repeats: int, skip: int = 2):
    """A Keras callback timing consecutive windows of training steps inside one `fit` (one pass
    over the data pipeline, so no window pays for refilling the shuffle buffer): the first `skip`
    steps are warm-up; a window closes at the first step at least `seconds` after it opened;
    training stops after `repeats` windows. `.windows` holds (steps, seconds) per window."""
    import keras

    class WindowClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.windows, self.steps, self.skip, self.opened = [], 0, skip, None

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if self.skip:
                self.skip -= 1
                self.opened = None if self.skip else now
                return
            self.opened = now if self.opened is None else self.opened  # skip=0: the first step opens
            self.steps += 1
            if now - self.opened >= seconds:
                self.windows.append((self.steps, now - self.opened))
                self.steps, self.opened = 0, now
                if len(self.windows) >= repeats:
                    self.model.stop_training = True

    return WindowClock()


def measure(
    variant: str, hyperparameters: dict, seed: int, run_settings: dict, data, seconds: float, repeats: int
) -> dict:
    from ganlib.run import Run

    run = Run(
        variant,
        {**(run_settings.get("fixed") or {}), **hyperparameters},
        seed=seed,
        data=data,
        per_class=run_settings.get("per_class"),
        precision=run_settings.get("precision") or "float32",
        hold_out_validation=True,
    )
    run.train(run.dataset(repeat=True), steps_per_epoch=3)  # traces the step: not timed
    clock = window_clock(seconds, repeats)
    _, diverged = run.train(run.dataset(repeat=True), steps_per_epoch=10**7, callbacks=[clock])
    if diverged is not None or len(clock.windows) < repeats:
        nan = math.nan
        return {
            "variant": variant,
            "images_per_s_alone": nan,
            "images_per_s_alone_low": nan,
            "images_per_s_alone_high": nan,
            "generator_steps_per_s": nan,
            "windows": len(clock.windows),
            "note": "diverged while timed",
            "seed": seed,
        }
    steps_per_s = [steps / spent for steps, spent in clock.windows]
    median, low, high = median_interval([rate * run.images_per_step for rate in steps_per_s], low=0.0)
    step_median, step_low, step_high = median_interval(steps_per_s, low=0.0)
    n = len(steps_per_s)
    return {
        "variant": variant,
        "images_per_s_alone": median,
        "images_per_s_alone_low": low,
        "images_per_s_alone_high": high,
        "generator_steps_per_s": step_median,
        "generator_steps_per_s_low": step_low,
        "generator_steps_per_s_high": step_high,
        "windows": n,
        # every window's rate: the report compares variants on them (analysis.with_alone_rates)
        "window_images_per_s": ";".join(f"{rate * run.images_per_step:.6g}" for rate in steps_per_s),
        "steps_per_window": round(sum(s for s, _ in clock.windows) / n, 1),
        "images_per_step": run.images_per_step,
        "seed": seed,
    }


def busy_cores() -> float:
    """The machine's load over the last minute (what else is running)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sweeps.study.throughput", description=__doc__.splitlines()[0]
    )
    parser.add_argument("export_dir")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="least length of one timed window (default 10)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=6,
        help="timed windows a variant, for the interval and the comparison (default 6, at least 2)",
    )
    parser.add_argument(
        "--threads",
        type=float,
        default=None,
        help="CPU threads of the run (default: a trial's CPUs in the sweep's preset)",
    )
    parser.add_argument("--variants", default=None, help="comma-separated (default: every exported variant)")
    parser.add_argument("--data", default=None)
    args = parser.parse_args(argv)
    export_dir = Path(args.export_dir)
    found = configurations(export_dir)
    if not found:
        print(
            f"error: {export_dir} has no best/VARIANT/config.json: give a sweep's export folder",
            file=sys.stderr,
        )
        return 2
    if args.repeats < 2 or args.seconds <= 0:
        print(
            f"error: --repeats {args.repeats} / --seconds {args.seconds}: need at least 2 windows of more "
            "than 0 s",
            file=sys.stderr,
        )
        return 2
    wanted = list(found) if args.variants is None else args.variants.split(",")
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        print(
            f"error: no exported best for {', '.join(unknown)}: choose from {', '.join(found)}",
            file=sys.stderr,
        )
        return 2
    record = export_dir / "sweep.json"
    sweep = json.loads(record.read_text()) if record.exists() else {}
    # what the sweep's trials ran with: its record of them, else its preset's (the published
    # docs/results/cpu/sweep.json has no record of them)
    run_settings = sweep.get("run") or {
        k: (sweep.get("preset") or {}).get(k) for k in ("cpus_per_trial", "per_class", "fixed")
    }
    wanted = list(dict.fromkeys(wanted))

    from sweeps.search.resources import configure_tensorflow, quiet_worker_logs

    quiet_worker_logs()
    threads = configure_tensorflow(args.threads or run_settings.get("cpus_per_trial") or 1.0, 0)["threads"]
    load = busy_cores()
    print(
        f"measuring {len(wanted)} variants alone with {threads} CPU thread(s) each; load average before: "
        f"{load:.2f}",
        flush=True,
    )
    if load > BUSY:
        print(
            f"warning: the machine is busy (load {load:.2f} > {BUSY}): these figures will not be 'alone'",
            file=sys.stderr,
        )
    # the weight average the final stage kept beside the weights costs an update a step: its runs,
    # whose figures the report publishes, paid for it, so the rate measured alone does too
    average = {"ema_half_life": h} if (h := (sweep.get("preset") or {}).get("final_ema_half_life")) else {}
    rows = []
    for variant in wanted:
        row = measure(
            variant,
            {**found[variant]["hyperparameters"], **average},
            found[variant]["seed"],
            run_settings,
            args.data,
            args.seconds,
            args.repeats,
        )
        row.update(threads=threads, load_before=load, ema_half_life=average.get("ema_half_life"))
        rows.append(row)
        print(
            f"{variant:<10} {row['images_per_s_alone']:8.0f} images/s "
            f"[{row['images_per_s_alone_low']:.0f}, {row['images_per_s_alone_high']:.0f}], "
            f"{row['generator_steps_per_s']:.2f} generator steps/s",
            flush=True,
        )
    # measured now replaces what an earlier run measured of the same variants; the rest stays
    path = export_dir / "throughput.csv"
    earlier = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["variant"])
    table = pd.concat([earlier[~earlier["variant"].isin(wanted)], pd.DataFrame(rows)], ignore_index=True)
    table.to_csv(path, index=False)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
