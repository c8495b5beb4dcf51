"""Images per second of each variant's best configuration, measured alone: one run at a time on an
otherwise idle machine, with the resources a trial of the sweep had (its CPU threads), so the
computing-time answer is not the shared figure a sweep's trials report while they run side by side.

    python -m sweeps.throughput EXPORT_DIR [--seconds 10] [--repeats 3] [--data mnist.npz]

Per variant: the exported best configuration (EXPORT_DIR/best/VARIANT/config.json) is built and
traced, then trained for `repeats` windows of about `seconds` each; EXPORT_DIR/throughput.csv gets
the mean images/s (and generator steps/s) with a 95% t interval over the windows. The report's
computing-time table shows it beside the final stage's figures. Run it with nothing else running:
it says so if the machine was busy when it started.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

from sweeps.final_stage import interval

BUSY = 0.5  # a one-minute load average above this: something else is running


def configurations(export_dir: Path) -> dict[str, dict]:
    """Each variant's exported best: its hyperparameters and the seed it was found with."""
    found = {}
    for record in sorted((export_dir / "best").glob("*/config.json")):
        config = json.loads(record.read_text())
        found[record.parent.name] = {"hyperparameters": config["hyperparameters"], "seed": int(config.get("seed", 0))}
    return found


def measure(variant: str, hyperparameters: dict, seed: int, data, seconds: float, repeats: int) -> dict:
    from ganlib.run import Run

    run = Run(variant, hyperparameters, seed=seed, data=data, hold_out_validation=True)
    dataset = run.dataset(repeat=True)
    start = time.perf_counter()
    run.train(dataset, steps_per_epoch=3)  # traces the step; its time is not counted
    first = time.perf_counter() - start
    steps = max(5, int(seconds / max(first / 3, 1e-3)))  # about `seconds` a window, from the traced steps' time
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run.train(dataset, steps_per_epoch=steps)
        rates.append(steps / (time.perf_counter() - start))
    images = [rate * run.images_per_step for rate in rates]
    mean, low, high, n = interval(images)
    step_mean, step_low, step_high, _ = interval(rates)
    return {"variant": variant, "images_per_s_alone": mean, "images_per_s_alone_low": low, "images_per_s_alone_high": high,
            "generator_steps_per_s": step_mean, "generator_steps_per_s_low": step_low, "generator_steps_per_s_high": step_high,
            "windows": n, "steps_per_window": steps, "images_per_step": run.images_per_step, "seed": seed}


def busy_cores() -> float:
    """The machine's load over the last minute (what else is running)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeps.throughput", description=__doc__.splitlines()[0])
    parser.add_argument("export_dir")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one timed window (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed windows a variant, for the interval (default 3, at least 2)")
    parser.add_argument("--threads", type=float, default=None, help="CPU threads of the run (default: a trial's CPUs in the sweep's preset)")
    parser.add_argument("--variants", default=None, help="comma-separated (default: every exported variant)")
    parser.add_argument("--data", default=None)
    args = parser.parse_args(argv)
    export_dir = Path(args.export_dir)
    found = configurations(export_dir)
    if not found:
        print(f"error: {export_dir} has no best/VARIANT/config.json: give a sweep's export folder", file=sys.stderr)
        return 2
    if args.repeats < 2 or args.seconds <= 0:
        print(f"error: --repeats {args.repeats} / --seconds {args.seconds}: need at least 2 windows of more than 0 s", file=sys.stderr)
        return 2
    wanted = list(found) if args.variants is None else args.variants.split(",")
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        print(f"error: no exported best for {', '.join(unknown)}: choose from {', '.join(found)}", file=sys.stderr)
        return 2
    sweep = json.loads((export_dir / "sweep.json").read_text()) if (export_dir / "sweep.json").exists() else {}
    threads = args.threads or sweep.get("preset", {}).get("cpus_per_trial", 1.0)

    from sweeps.resources import configure_tensorflow, quiet_worker_logs

    quiet_worker_logs()
    configure_tensorflow(threads, 0)
    load = busy_cores()
    print(f"measuring {len(wanted)} variants alone with {threads:g} CPU thread(s) each; load average before: {load:.2f}", flush=True)
    if load > BUSY:
        print(f"warning: the machine is busy (load {load:.2f} > {BUSY}): these figures will not be 'alone'", file=sys.stderr)
    rows = []
    for variant in wanted:
        row = measure(variant, found[variant]["hyperparameters"], found[variant]["seed"], args.data, args.seconds, args.repeats)
        row.update(threads=threads, load_before=load)
        rows.append(row)
        print(f"{variant:<10} {row['images_per_s_alone']:8.0f} images/s [{row['images_per_s_alone_low']:.0f}, "
              f"{row['images_per_s_alone_high']:.0f}], {row['generator_steps_per_s']:.2f} generator steps/s", flush=True)
    pd.DataFrame(rows).to_csv(export_dir / "throughput.csv", index=False)
    print(f"wrote {export_dir / 'throughput.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
