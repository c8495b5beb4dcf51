"""Search every GAN variant's hyperparameters on MNIST and say which wins.

    python sweeps/tune_all.py [--preset smoke|cpu|gpu] [--variants gan,wgan] [--data mnist.npz]

Per variant: OptunaSearch (seeded TPE, the paper's defaults as the first trial, concurrency
limited) proposes hyperparameters, ASHA stops poor trials early on FID with time counted in
training images, and trials that fail are retried from their last checkpoint. Every trial that
runs its whole budget is evaluated in full at its end; the best of each variant on that is
exported, with a leaderboard across variants. All variants run in one experiment, sharing the
cluster's slots. Connects to a running Ray cluster (--address, $RAY_ADDRESS or $GANLIB_RAY_ADDRESS),
otherwise starts Ray on this machine bound to 127.0.0.1 with the dashboard off. On a cluster set up by
cluster.yaml its nodes' environment names the preset, storage, data and address, so a bare
`python sweeps/tune_all.py` runs the cluster's study; it prints what it chose and why.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the checkout importable without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganlib import registry  # noqa: E402  (no TensorFlow: the driver never starts it)
from ganlib.errors import GanlibError  # noqa: E402
from sweeps.search import presets, record  # noqa: E402
from sweeps.search.experiment_state import Interrupted, check_finished  # noqa: E402
from sweeps.search.plan import (  # noqa: E402
    Setup,
    describe_choices,
    is_uri,
    plan,
    point_latest_at,
    storage_join,
    variant_run,
)
from sweeps.search.ray_session import connect_ray  # noqa: E402
from sweeps.search.schedulers import DEFAULT as DEFAULT_SCHEDULER  # noqa: E402
from sweeps.search.schedulers import SCHEDULERS  # noqa: E402
from sweeps.search.sweep import sweep  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python sweeps/tune_all.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants", default="all", help=f"comma-separated, or all: {', '.join(registry.names())}"
    )
    parser.add_argument(
        "--preset",
        default=None,
        help=f"one of: {', '.join(presets.PRESETS)} (default: $GANLIB_PRESET, else smoke)",
    )
    parser.add_argument(
        "--num-samples", type=int, default=None, help="trials per variant (default: the preset's)"
    )
    parser.add_argument(
        "--max-concurrent",
        type=int,
        default=None,
        help="trials of one variant at once (default: the preset's)",
    )
    parser.add_argument(
        "--max-rounds",
        type=int,
        default=None,
        help="reports per trial, each after the preset's eval_every_images (default: the preset's)",
    )
    parser.add_argument(
        "--grace-rounds",
        type=int,
        default=None,
        help="ASHA: reports before a trial may be stopped (default: the preset's)",
    )
    parser.add_argument(
        "--reduction-factor",
        type=int,
        default=None,
        help="ASHA: keep the best 1/eta at each rung (default: the preset's)",
    )
    parser.add_argument("--cpus-per-trial", type=float, default=None)
    parser.add_argument(
        "--gpus-per-trial", type=float, default=None, help="a fraction in (0, 1] shares a GPU, e.g. 0.25"
    )
    parser.add_argument(
        "--gpus-declared-only",
        action="store_true",
        help="the GPUs Ray counts are declared, not real (--num-gpus on a CPU machine, Ray's "
        "fake multi-node cluster): trials that get one train on the CPU instead of "
        "failing",
    )
    parser.add_argument(
        "--gpu-memory-mb",
        type=int,
        default=None,
        help="GPU memory; with a fraction, caps each trial at fraction x this",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="mnist.npz or IDX folder, readable on every node (default: $GANLIB_MNIST, then "
        "Keras's download)",
    )
    parser.add_argument(
        "--storage",
        default=None,
        help="a local folder or a URI (s3://bucket/path) for trials and checkpoints, "
        "every node's (default: $GANLIB_STORAGE, else results)",
    )
    parser.add_argument(
        "--export-dir",
        default=None,
        help="where best configs, generators and the leaderboard go "
        "(default: $GANLIB_EXPORTS/NAME, else STORAGE/NAME, or results/NAME for a URI)",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="sweep name (default: the preset's name and the time, e.g. smoke-2026-11-26_14-05-00)",
    )
    parser.add_argument(
        "--optuna-storage",
        default=None,
        metavar="URL",
        help="where each variant's Optuna study is kept, for optuna-dashboard and "
        "optuna.load_study (default: sqlite:///EXPORT_DIR/optuna.db; any Optuna RDB "
        "URL)",
    )
    parser.add_argument(
        "--mlflow",
        default=None,
        metavar="URI",
        help="also log every trial (config, metrics at every report) to this MLflow tracking "
        "URI, an experiment per variant (needs the mlflow extra)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep NAME (without --name: the newest, STORAGE/latest); finished "
        "trials are kept, unfinished ones continue",
    )
    parser.add_argument(
        "--record",
        default=None,
        metavar="DIR",
        help="keep the sweep's record in DIR: the search's export once the search has finished and "
        "each finished part of the final stage, without training state (small enough to commit); "
        "with --resume, what the storage and export lack is copied back from it first, so a "
        "checkout without them goes on where the record ends",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds TPE and every trial's data order, noise and initial weights",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="Ray cluster address, e.g. auto (default: $GANLIB_RAY_ADDRESS, then "
        "$RAY_ADDRESS, else start Ray here)",
    )
    parser.add_argument(
        "--num-cpus", type=int, default=None, help="CPUs Ray may use when started here (default: all)"
    )
    parser.add_argument("--num-gpus", type=int, default=None, help="GPUs Ray declares when started here")
    parser.add_argument("--dashboard", action="store_true", help="start Ray's dashboard (on 127.0.0.1)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix a hyperparameter in every trial of the variants that have it, instead of searching it",
    )
    parser.add_argument(
        "--precision",
        default="float32",
        help="float32, mixed_bfloat16 (CPUs with AVX512-BF16, TPUs, Ampere+) or "
        "mixed_float16 (GPUs) in every trial",
    )
    parser.add_argument(
        "--scheduler",
        default=DEFAULT_SCHEDULER,
        help=f"early stopping: {'; '.join(f'{k} ({v})' for k, v in SCHEDULERS.items())}",
    )
    parser.add_argument(
        "--mutate",
        action="append",
        default=[],
        metavar="NAME=LOW:HIGH",
        help="with --scheduler pbt: the range PBT mutates NAME in (default: its search range; "
        "mutable: learning rates, beta1, n_critic, clip_value and loss weights)",
    )
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="TensorFlow's op determinism in every trial: bitwise repeatable (a PBT member's "
        "schedule replays to its losses), slower",
    )
    parser.add_argument(
        "--final-seeds",
        type=int,
        default=None,
        help="after the search, retrain each variant's best configuration and its papers' "
        "defaults with this many seeds at --final-rounds reports, scored on the test "
        "split (default: the preset's; gpu: 3)",
    )
    parser.add_argument(
        "--final-rounds",
        type=int,
        default=None,
        help="the final stage's budget in reports (default: the preset's, else twice --max-rounds)",
    )
    parser.add_argument(
        "--ladder",
        default=None,
        metavar="ROUNDS[,ROUNDS]",
        help="longer final-stage budgets in reports, each continuing the runs of the one before: "
        "the first for every variant, each later one for the best of each family (default: the "
        "preset's; study: 10,30; none: one budget)",
    )
    parser.add_argument(
        "--ladder-seeds",
        type=int,
        default=None,
        help="how many of the final stage's seeds go on to the ladder's budgets (default: the "
        "preset's, else all)",
    )
    parser.add_argument(
        "--wait-notice",
        type=float,
        default=300,
        metavar="SECONDS",
        help="print a line when trials have waited this long with none running and no node "
        "joining (a cluster that cannot launch workers)",
    )
    parser.add_argument("--no-report", action="store_true", help="skip report.html at the end")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="Ray's trial tables and TensorFlow's C++ log lines, instead of one line per report",
    )
    return parser


def variant_results(grid, variant: str) -> list:
    """A variant's trials, by their folders' names ({variant}_{trial id}): a trial that failed in
    its setup has no config in its result."""
    return [result for result in grid if Path(result.path).name.rsplit("_", 1)[0] == variant]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not args.verbose:
        # Ray Tune's own console (experiment boxes, trial tables, snapshot warnings) gives way to
        # one line per report (sweeps/search/progress.py); the legacy engine at verbose 0 is silent
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
        os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
        os.environ.setdefault("RAY_DEDUP_LOGS", "1")
        # the autoscaler's notice for every trial waiting for a slot (all variants' trials wait at once)
        os.environ.setdefault("RAY_SCHEDULER_EVENTS", "0")
        # a failed trial's traceback stays in its error.txt; the console gets ReportLines' one line
        logging.getLogger("ray.tune.execution.tune_controller").setLevel(logging.CRITICAL)
        # PBT's exploit and explore paragraphs: ReportLines prints one line per copy instead
        logging.getLogger("ray.tune.schedulers.pbt").setLevel(logging.WARNING)
        # "Remote file not found: .../progress.csv": a paused trial resumed before its first
        # report reached the storage; its local progress.csv goes on
        logging.getLogger("ray.tune.logger.logger").setLevel(logging.ERROR)
    try:
        setup = plan(args)
        for line in describe_choices(setup):
            print(line, flush=True)
        started_here = connect_ray(args, setup)
    except GanlibError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    import ray

    start = time.time()
    export_dir = setup.export_dir
    export_dir.mkdir(parents=True, exist_ok=True)
    point_latest_at(export_dir)
    print(
        f"sweep {setup.name!r}: {len(setup.variants)} variants x {setup.num_samples} trials on "
        f"{storage_join(setup.storage, setup.experiment)}; exports in {export_dir} "
        f"(also {export_dir.parent / 'latest'})",
        flush=True,
    )
    if setup.record and args.resume:
        for name in record.restore(setup.record, setup.storage, export_dir):
            print(f"from the record {setup.record}: {name}", flush=True)
    try:
        if args.resume and searched_before(setup):
            board, rows = exported_board(export_dir)
            print(
                f"the search finished before: its export {export_dir} stands for it",
                flush=True,
            )
        else:
            outcome = search_and_export(setup, args, argv, start)
            if isinstance(outcome, int):
                return outcome
            board, rows = outcome
            if setup.record:
                record.keep_export(export_dir, setup.record)
        keep_in_storage(setup)
        if setup.final_seeds:
            from sweeps.study.final_stage import final

            final_board = final(setup, args.seed, args.verbose)
            if final_board is None:
                return 130
            if setup.record:
                record.keep_export(export_dir, setup.record)
            keep_in_storage(setup)
        if not args.no_report:
            from sweeps import report

            report.build_report(export_dir)
            keep_in_storage(setup)
    finally:
        if started_here:
            ray.shutdown()
    shown = (
        "variant",
        "fid",
        "val_fid",
        "kid",
        "precision",
        "recall",
        "classes_covered",
        "trials",
        "stopped_early",
        "reason",
    )
    print(board.to_string(index=False, columns=[c for c in shown if c in board]))
    print(f"sweep finished in {time.time() - start:.0f} s; results in {export_dir}")
    without = [row["variant"] for row in rows if row.get("reason")]
    if without:
        print(
            f"error: no finalist for {', '.join(without)}: every trial diverged, failed or was stopped "
            "(see the reason column)",
            file=sys.stderr,
        )
        return 1
    return 0


def search_and_export(setup: Setup, args, argv, start: float):
    """The search, then each variant's best exported with the leaderboard and sweep.json:
    (leaderboard, its rows), or the exit status of a search that did not finish."""
    from sweeps.search import export_best

    rows = []
    try:
        grid = sweep(setup, args.resume, args.verbose)
        check_finished(
            grid, storage_join(setup.storage, setup.experiment), len(setup.variants) * setup.num_samples
        )
    except GanlibError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Interrupted as interruption:
        print(f"stopped: {interruption}", file=sys.stderr)
        return 130
    for variant in setup.variants:
        results = variant_results(grid, variant)
        row = export_best.export_variant(
            variant, results, variant_run(setup, variant), setup.preset, setup.export_dir
        )
        row["trial_seconds"] = sum((result.metrics or {}).get("time_total_s", 0.0) for result in results)
        rows.append(row)
        outcome = (
            f"best FID {row['fid']:.3f} on the test split (chosen by FID {row['val_fid']:.3f} "
            "on the validation slice)"
            if not row.get("reason")
            else row["reason"]
        )
        print(
            f"[{variant}] {outcome}; {row['trials']} trials, {row['stopped_early']} stopped early, "
            f"{row['diverged']} diverged, {row['failed']} failed",
            flush=True,
        )
    board = export_best.write_leaderboard(rows, setup.export_dir)
    sweep_record = {
        "command": "python sweeps/tune_all.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "chosen": {
            option: {"value": str(value), "from": source} for option, (value, source) in setup.chosen.items()
        },
        "preset": setup.preset.to_dict(),
        # what every trial ran with, flags over the preset (what sweeps/study/throughput.py rebuilds)
        "run": {
            k: setup.run.get(k)
            for k in ("cpus_per_trial", "gpus_per_trial", "precision", "per_class", "fixed")
        },
        "variants": setup.variants,
        "num_samples": setup.num_samples,
        "seed": args.seed,
        "name": setup.name,
        "storage": setup.storage,
        "experiment": storage_join(setup.storage, setup.experiment),
        "optuna_storage": setup.optuna_storage,
        "wall_seconds": time.time() - start,
        # busy time of each variant's trials (they ran side by side: these add up to more than the
        # wall time)
        "trial_seconds_per_variant": {row["variant"]: row["trial_seconds"] for row in rows},
        "versions": _versions(),
    }
    (setup.export_dir / "sweep.json").write_text(json.dumps(sweep_record, indent=2, default=str))
    return board, rows


def exported_board(export_dir: Path):
    """The leaderboard an earlier search exported, and its rows as the export made them (no empty
    cells: a finalist's row has no reason)."""
    import pandas as pd

    board = pd.read_csv(export_dir / "leaderboard.csv")
    return board, [{k: v for k, v in row.items() if pd.notna(v)} for row in board.to_dict("records")]


def searched_before(setup: Setup) -> bool:
    """Whether the search finished before, here or on another checkout: its export (written once
    every trial has finished) is of this experiment, or came from --record with no experiment here
    to resume. Resuming a finished search would only export it again, under this command's wall time."""
    from ray import tune

    files = [setup.export_dir / name for name in ("sweep.json", "leaderboard.csv")]
    if not all(file.is_file() for file in files):
        return False
    done = json.loads(files[0].read_text())
    here = is_this_experiment(done.get("experiment", ""), setup.storage, setup.experiment, setup.export_dir)
    if here and (done.get("variants"), done.get("num_samples")) == (setup.variants, setup.num_samples):
        return True
    return not tune.Tuner.can_restore(storage_join(setup.storage, setup.experiment))


def is_this_experiment(recorded: str, storage: str, experiment: str, export_dir: Path) -> bool:
    """Whether an export's recorded experiment path is this sweep's. An export inside a local
    storage folder moved with it (a folder moved to a bigger disk): there the name says it. An
    export kept apart from its trials (--export-dir, object storage) may sit beside another storage's
    sweep of the same name: there only the whole path or URI does."""
    if not is_uri(storage) and Path(export_dir).resolve().parent == Path(storage).resolve():
        return Path(recorded).name == experiment
    return recorded == storage_join(storage, experiment)


def keep_in_storage(setup: Setup) -> None:
    """With object storage, the exports go beside the trials (sweeps/cloud/exports.py): the head's
    own disk is gone at `ray down`."""
    if not is_uri(setup.storage):
        return
    from sweeps.cloud import exports

    uri = exports.publish(setup.export_dir, setup.storage, setup.name)
    print(
        f"exports copied to {uri} (python sweeps/report.py {storage_join(setup.storage, exports.LATEST)} "
        "reads them back)",
        flush=True,
    )


def _versions() -> dict:
    from importlib.metadata import version

    from ganlib.export import code_commit

    found = {pkg: version(pkg) for pkg in ("tensorflow", "keras", "ray", "optuna", "pandas", "numpy")}
    return {**found, "ganlib": code_commit()}


if __name__ == "__main__":
    sys.exit(main())
