"""Search every GAN variant's hyperparameters on MNIST and say which wins.

    python sweeps/tune_all.py [--preset smoke|cpu|gpu] [--variants gan,wgan] [--data mnist.npz]

Per variant: OptunaSearch (seeded TPE, the paper's defaults as the first trial, concurrency
limited) proposes hyperparameters, ASHA stops poor trials early on FID with time counted in
training images, and trials that fail are retried from their last checkpoint. Every trial that
runs its whole budget is evaluated in full at its end; the best of each variant on that is
exported, with a leaderboard across variants. Connects to a running Ray cluster (--address or $RAY_ADDRESS),
otherwise starts Ray on this machine bound to 127.0.0.1 with the dashboard off.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the checkout importable without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganlib import registry  # noqa: E402  (no TensorFlow: the driver never starts it)
from ganlib.errors import ConfigError, GanlibError  # noqa: E402
from sweeps import presets  # noqa: E402
from sweeps.experiment_state import Interrupted, check_finished  # noqa: E402
from sweeps.plan import is_uri, plan, point_latest_at, variant_run  # noqa: E402
from sweeps.ray_session import connect_ray  # noqa: E402
from sweeps.schedulers import DEFAULT as DEFAULT_SCHEDULER, SCHEDULERS, make_scheduler  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python sweeps/tune_all.py", description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="all", help=f"comma-separated, or all: {', '.join(registry.names())}")
    parser.add_argument("--preset", default="smoke", help=f"one of: {', '.join(presets.PRESETS)}")
    parser.add_argument("--num-samples", type=int, default=None, help="trials per variant (default: the preset's)")
    parser.add_argument("--max-concurrent", type=int, default=None, help="trials of one variant at once (default: the preset's)")
    parser.add_argument("--max-rounds", type=int, default=None, help="reports per trial, each after the preset's eval_every_images (default: the preset's)")
    parser.add_argument("--grace-rounds", type=int, default=None, help="ASHA: reports before a trial may be stopped (default: the preset's)")
    parser.add_argument("--reduction-factor", type=int, default=None, help="ASHA: keep the best 1/eta at each rung (default: the preset's)")
    parser.add_argument("--cpus-per-trial", type=float, default=None)
    parser.add_argument("--gpus-per-trial", type=float, default=None, help="a fraction in (0, 1] shares a GPU, e.g. 0.25")
    parser.add_argument("--gpu-memory-mb", type=int, default=None, help="GPU memory; with a fraction, caps each trial at fraction x this")
    parser.add_argument("--data", default=None, help="mnist.npz or IDX folder, readable on every node (default: $GANLIB_MNIST, then Keras's download)")
    parser.add_argument("--storage", default="results", help="a local folder or a URI (s3://bucket/path) for trials and checkpoints")
    parser.add_argument("--export-dir", default=None, help="where best configs, generators and the leaderboard go (default: STORAGE/NAME, or results/NAME for a URI)")
    parser.add_argument("--name", default=None, help="sweep name (default: the preset's name and the time, e.g. smoke-2026-11-26_14-05-00)")
    parser.add_argument("--optuna-storage", default=None, metavar="URL",
                        help="where each variant's Optuna study is kept, for optuna-dashboard and optuna.load_study "
                             "(default: sqlite:///EXPORT_DIR/optuna.db; any Optuna RDB URL)")
    parser.add_argument("--mlflow", default=None, metavar="URI",
                        help="also log every trial (config, metrics at every report) to this MLflow tracking URI, "
                             "an experiment per variant (needs the mlflow extra)")
    parser.add_argument("--resume", action="store_true", help="continue the sweep NAME (without --name: the newest, STORAGE/latest); finished trials are kept, unfinished ones continue")
    parser.add_argument("--seed", type=int, default=0, help="seeds TPE and every trial's data order, noise and initial weights")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else start Ray here)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs Ray may use when started here (default: all)")
    parser.add_argument("--num-gpus", type=int, default=None, help="GPUs Ray declares when started here")
    parser.add_argument("--dashboard", action="store_true", help="start Ray's dashboard (on 127.0.0.1)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="fix a hyperparameter in every trial of the variants that have it, instead of searching it")
    parser.add_argument("--precision", default="float32", help="float32, mixed_bfloat16 (CPUs with AVX512-BF16, TPUs, Ampere+) or mixed_float16 (GPUs) in every trial")
    parser.add_argument("--scheduler", default=DEFAULT_SCHEDULER, help=f"early stopping: {'; '.join(f'{k} ({v})' for k, v in SCHEDULERS.items())}")
    parser.add_argument("--no-report", action="store_true", help="skip report.html at the end")
    parser.add_argument("--verbose", action="store_true", help="Ray's trial tables and TensorFlow's C++ log lines, instead of one line per report")
    return parser


def mlflow_logger(setup: dict, experiment: str, variant: str) -> list:
    """Ray's MLflow callback, when --mlflow names a tracking URI: an MLflow experiment per variant."""
    if not setup.get("mlflow"):
        return []
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    return [MLflowLoggerCallback(tracking_uri=setup["mlflow"], experiment_name=experiment,
                                 tags={"sweep": setup["name"], "variant": variant})]


def sweep_variant(variant: str, setup: dict, resume: bool, clock, verbose: bool = False):
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    from sweeps.progress import ReportLines
    from sweeps.searcher import make_searcher
    from sweeps.trainable import GANTrainable

    preset, run = setup["preset"], variant_run(setup, variant)
    trainable = tune.with_resources(GANTrainable, {"cpu": run["cpus_per_trial"], "gpu": run["gpus_per_trial"]})
    experiment = f"{setup['name']}-{variant}"
    path = f"{setup['storage'].rstrip('/')}/{experiment}"
    if resume and tune.Tuner.can_restore(path):
        print(f"[{variant}] resuming {path}", flush=True)
        return tune.Tuner.restore(path, trainable=trainable, resume_unfinished=True, resume_errored=True).fit()
    if not is_uri(path) and Path(path).exists():
        raise ConfigError(f"sweep {experiment!r} already exists in {setup['storage']}: add --resume to continue it, or give another --name")

    searcher = make_searcher(variant, run, preset, experiment, setup["optuna_storage"])
    scheduler = make_scheduler(setup["scheduler"], preset)
    tuner = tune.Tuner(
        trainable,
        param_space={"run": run},
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=setup["max_concurrent"]),
            metric="fid",  # as the searcher and scheduler have it: Ray's own "current best trial" shows it
            mode="min",
            scheduler=scheduler,
            num_samples=setup["num_samples"],
            # A finished trial's worker takes the next trial (GANTrainable.reset_config): no new
            # process, TensorFlow import, evaluator load or reference statistics per trial.
            reuse_actors=True,
            trial_dirname_creator=lambda trial: f"{variant}_{trial.trial_id}",
        ),
        run_config=tune.RunConfig(
            name=experiment,
            storage_path=setup["storage"],
            failure_config=tune.FailureConfig(max_failures=2),
            # what trials write in their own folders (the grids for TensorBoard) goes to the storage too
            sync_config=tune.SyncConfig(sync_artifacts=True),
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=2, checkpoint_score_attribute="fid", checkpoint_score_order="min", checkpoint_frequency=1, checkpoint_at_end=True
            ),
            verbose=1 if verbose else 0,
            callbacks=([] if verbose else [ReportLines(variant, clock, setup["num_samples"], preset.max_rounds)]) + mlflow_logger(setup, experiment, variant),
        ),
    )
    return tuner.fit()


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not args.verbose:
        # Ray Tune's own console (experiment boxes, trial tables, snapshot warnings) gives way to
        # one line per report (sweeps/progress.py); the legacy engine at verbose 0 is silent
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
        os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
        os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    try:
        setup = plan(args)
        started_here = connect_ray(args, setup["run"]["gpus_per_trial"])
    except GanlibError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    import ray

    from sweeps import export_best

    start = time.time()
    export_dir = setup["export_dir"]
    export_dir.mkdir(parents=True, exist_ok=True)
    point_latest_at(export_dir)
    print(f"sweep {setup['name']!r}: exports in {export_dir} (also {export_dir.parent / 'latest'})", flush=True)
    rows = []
    try:
        from sweeps.progress import SweepClock

        clock = SweepClock(setup["variants"])
        for variant in setup["variants"]:
            variant_start = time.time()
            try:
                grid = sweep_variant(variant, setup, args.resume, clock, args.verbose)
                check_finished(variant, grid, setup)
            except GanlibError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            except Interrupted as interruption:
                print(f"stopped: {interruption}", file=sys.stderr)
                return 130
            row = export_best.export_variant(variant, grid, variant_run(setup, variant), setup["preset"], export_dir)
            row["sweep_seconds"] = time.time() - variant_start
            clock.finished(variant, row["sweep_seconds"])
            rows.append(row)
            board = export_best.write_leaderboard(rows, export_dir)  # after every variant: partial results are readable
            outcome = (f"best FID {row['fid']:.3f} on the test split (chosen by FID {row['val_fid']:.3f} on the validation slice)"
                       if not row.get("reason") else row["reason"])
            print(f"[{variant}] {outcome}; {row['trials']} trials, {row['stopped_early']} stopped early, "
                  f"{row['diverged']} diverged, {row['failed']} failed", flush=True)
        sweep = {
            "command": "python sweeps/tune_all.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "preset": setup["preset"].to_dict(),
            "variants": setup["variants"],
            "num_samples": setup["num_samples"],
            "seed": args.seed,
            "name": setup["name"],
            "storage": setup["storage"],
            "optuna_storage": setup["optuna_storage"],
            "wall_seconds": time.time() - start,
            "seconds_per_variant": {
                row["variant"]: row["sweep_seconds"] for row in rows
            },
            "versions": _versions(),
        }
        (export_dir / "sweep.json").write_text(json.dumps(sweep, indent=2, default=str))
        if not args.no_report:
            from sweeps import report

            report.build_report(export_dir)
    finally:
        if started_here:
            ray.shutdown()
    print(board.to_string(index=False, columns=[c for c in ("variant", "fid", "val_fid", "kid", "precision", "recall", "classes_covered", "trials", "stopped_early", "reason") if c in board]))
    print(f"sweep finished in {time.time() - start:.0f} s; results in {export_dir}")
    without = [row["variant"] for row in rows if row.get("reason")]
    if without:
        print(f"error: no finalist for {', '.join(without)}: every trial diverged, failed or was stopped (see the reason column)", file=sys.stderr)
        return 1
    return 0


def _versions() -> dict:
    from importlib.metadata import version

    return {pkg: version(pkg) for pkg in ("tensorflow", "keras", "ray", "optuna", "pandas", "numpy")}


if __name__ == "__main__":
    sys.exit(main())
