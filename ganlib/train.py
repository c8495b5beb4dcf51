"""Train one variant on MNIST: `python -m ganlib.train --variant gan --epochs 1 --data mnist.npz --out runs/x`.

Writes into --out: a sample grid per epoch from fixed noise, the losses (per step and per epoch,
CSV) and their plot, the generator as `<variant>_generator.h5` and `.keras`, `config.json` with
the seed and versions, and `run.json` with timings (and metrics, when evaluation runs).
"""  # noqa: E501 (its first line is --help's description, kept whole)

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from ganlib import extras, registry
from ganlib.data import order_seed
from ganlib.divergence import bad_fid
from ganlib.errors import ConfigError, GanlibError, TrainingDiverged, check_positive


def parse_assignments(pairs: list[str]) -> dict:
    """`--set key=value` pairs, values parsed as JSON where they can be (numbers, true, strings)."""
    overrides = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {pair!r} is not allowed: write --set name=value, e.g. --set g_lr=2e-4")
        try:
            overrides[key] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key] = raw
    return overrides


def train(
    variant: str,
    out_dir,
    *,
    epochs: int = 1,
    steps_per_epoch: int | None = None,
    data=None,
    overrides: dict | None = None,
    seed: int = 0,
    per_class: int | None = None,
    verbose: int | str = "auto",
    eval_every: int | None = None,
    eval_samples: int = 10_000,
    evaluate_at_end: bool = True,
    extra_callbacks: list | None = None,
    precision: str = "float32",
    resume: bool = False,
    deterministic: bool = False,
    mlflow_uri: str | None = None,
) -> dict:
    """Train and export; returns the run record also written to run.json.

    Every epoch has its own data order (seeded by the run's seed and the epoch) and ends by saving
    the whole training state (weights, optimizer slots, noise generators) in `out_dir/training_state`,
    so `resume` continues a run stopped at any point (Ctrl-C, a killed process) from its last
    finished epoch and takes the steps the uninterrupted run would have taken (bitwise with
    `deterministic`, TensorFlow's op determinism; otherwise within float noise).

    Raises GanlibError for bad input before any training, TrainingDiverged after keeping the last
    finite epoch's outputs.
    """
    check_positive("epochs", epochs, integer=True)
    if steps_per_epoch is not None:
        check_positive("steps", steps_per_epoch, integer=True)
    out_dir = Path(out_dir)

    from ganlib import callbacks, export
    from ganlib.run import Run

    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    run = Run(variant, overrides, seed=seed, data=data, per_class=per_class, precision=precision)
    state_dir = out_dir / STATE_DIR
    first_epoch, steps_done, wall_time = 0, 0, 0.0
    if resume:
        saved = resumable_state(out_dir, run, precision)
        first_epoch, steps_done, wall_time = saved["epoch"], saved["steps"], saved["wall_time_s"]
        if first_epoch >= epochs:
            raise ConfigError(
                f"--resume: the run in {str(out_dir)!r} has finished {first_epoch} epochs: "
                "give --epochs above that to train on"
            )
    else:
        export.write_config(
            out_dir, variant, run.config, data=run.digits.source, per_class=per_class, precision=precision
        )
    checkpoint = callbacks.GeneratorCheckpoint(out_dir, variant)
    run_callbacks = [
        callbacks.LossLog(
            out_dir, resume_after_epoch=first_epoch if resume else None, global_step=steps_done
        ),
        callbacks.SampleGrid(out_dir, seed=seed),
        checkpoint,
    ]
    if extras.installed("tensorboard"):  # TensorFlow writes summaries through it
        run_callbacks.append(callbacks.TensorBoardLog(out_dir / "tensorboard", seed=seed))
    mlflow_run = start_mlflow_run(mlflow_uri, out_dir, variant, run.config, resume) if mlflow_uri else None
    if mlflow_run:
        run_callbacks.append(callbacks.MLflowLog())
    run_callbacks.extend(extra_callbacks or [])
    if eval_every:
        run_callbacks.append(
            callbacks.PeriodicEvaluation(
                out_dir,
                every=eval_every,
                n=eval_samples,
                seed=seed,
                data=data,
                resume_after_epoch=first_epoch if resume else None,
            )
        )

    diverged = None
    for epoch in range(first_epoch, epochs):
        start = time.perf_counter()
        _, diverged = run.train(
            run.dataset(seed=order_seed(seed, epoch)),
            epochs=epoch + 1,
            initial_epoch=epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=run_callbacks,
            verbose=verbose,
            first_step=steps_done,
        )
        wall_time += time.perf_counter() - start
        steps_done += run.steps_done
        if diverged:
            break
        save_state(run, state_dir, epoch=epoch + 1, steps=steps_done, wall_time_s=wall_time)
    images_per_step = run.images_per_step
    callbacks.save_training_animation(out_dir)
    record = {
        "variant": variant,
        "seed": seed,
        "epochs": epochs,
        "generator_steps": steps_done,
        "training_images": steps_done * images_per_step,
        "wall_time_s": wall_time,
        "images_per_s": steps_done * images_per_step / wall_time if wall_time > 0 else None,
        "diverged": diverged,
        "generator_saved_at_epoch": checkpoint.saved_epoch,
    }
    if diverged:
        (out_dir / "run.json").write_text(json.dumps(record, indent=2))
        kept = (
            f"kept the generator of epoch {checkpoint.saved_epoch}"
            if checkpoint.saved_epoch
            else "no generator was saved before it"
        )
        raise TrainingDiverged(f"training diverged at {diverged}; {kept} and the logs in {out_dir}")
    if evaluate_at_end:
        check_positive("eval_samples", eval_samples, integer=True)
        record["metrics"] = run.evaluate(eval_samples)
        if bad_fid(record["metrics"]["fid"]):
            record["diverged"] = f"FID {record['metrics']['fid']} after training"
            (out_dir / "run.json").write_text(json.dumps(record, indent=2))
            raise TrainingDiverged(
                f"training diverged: its generator scores FID {record['metrics']['fid']}; "
                f"outputs kept in {out_dir}"
            )
        if run.model.has_average:  # ema_half_life: the weight average scored beside the weights
            record["metrics_averaged"] = run.evaluate(eval_samples, average=True)
    (out_dir / "run.json").write_text(json.dumps(record, indent=2))
    if mlflow_run:
        import mlflow

        mlflow.log_metrics(
            {k: float(v) for k, v in record.get("metrics", {}).items() if isinstance(v, (int, float))}
        )
        mlflow.end_run()
    return record


STATE_DIR = "training_state"


def start_mlflow_run(uri: str, out_dir: Path, variant: str, config: dict, resume: bool):
    """An MLflow run for this training run (experiment "ganlib.train", run named after --out),
    with the config as its parameters; a resumed run continues the one it started."""
    extras.require_installed("mlflow", "--mlflow")
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("ganlib.train")
    marker = out_dir / "mlflow_run_id"
    if resume and marker.is_file():
        return mlflow.start_run(run_id=marker.read_text().strip())
    active = mlflow.start_run(run_name=out_dir.name)
    mlflow.log_params({"variant": variant, **config})
    marker.write_text(active.info.run_id)
    return active


def save_state(run, state_dir: Path, **extra) -> None:
    """The run's training state after an epoch, replacing the last one only once complete."""
    import shutil

    partial, old = partial_state(state_dir), state_dir.with_name(f".{state_dir.name}.old")
    shutil.rmtree(partial, ignore_errors=True)
    run.save(partial, **extra)
    # two renames, each atomic: killed between them, the complete new state waits in `partial`
    # and resumable_state takes it; a delete of the old folder could be cut half-way instead
    shutil.rmtree(old, ignore_errors=True)
    if state_dir.exists():
        state_dir.rename(old)
    partial.rename(state_dir)
    shutil.rmtree(old, ignore_errors=True)


def partial_state(state_dir: Path) -> Path:
    return state_dir.with_name(f".{state_dir.name}.partial")


def resumable_state(out_dir: Path, run, precision: str) -> dict:
    """Restore `run` from `out_dir`'s last saved epoch; the command must describe the same run."""
    state_dir = out_dir / STATE_DIR
    if not state_dir.exists() and partial_state(state_dir).is_dir():  # killed between save_state's renames
        partial_state(state_dir).rename(state_dir)
    if not (state_dir / "state.json").is_file():
        raise ConfigError(f"--resume: no training state in {str(out_dir)!r}: start the run without --resume")
    saved_config = json.loads((out_dir / "config.json").read_text())
    saved = {
        "variant": saved_config.get("variant"),
        **{key: saved_config.get("config", {}).get(key) for key in run.config},
    }
    asked = {"variant": run.variant, **run.config}
    changed = sorted(key for key in asked if saved[key] != asked[key])
    if changed or saved_config.get("precision", "float32") != precision:
        what = (
            ", ".join(f"{key}={asked[key]!r} (saved: {saved[key]!r})" for key in changed)
            or f"precision={precision!r}"
        )
        raise ConfigError(
            f"--resume: {what} differs from the run in {str(out_dir)!r}: "
            "give the same settings, or another --out"
        )
    return run.restore(state_dir)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ganlib.train", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="gan", help=f"one of: {', '.join(registry.names())}")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--steps", type=int, default=None, help="generator steps per epoch (default: a full pass)"
    )
    parser.add_argument(
        "--data",
        default=None,
        help="mnist.npz or a folder of IDX files (default: $GANLIB_MNIST, then Keras's download)",
    )
    parser.add_argument("--out", default="runs/latest", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--per-class",
        type=int,
        default=None,
        help="train on a class-balanced subset of this many images per digit",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a hyperparameter (repeatable)",
    )
    parser.add_argument(
        "--eval-every", type=int, default=None, help="evaluate every K epochs (and always at the end)"
    )
    parser.add_argument("--eval-samples", type=int, default=10_000)
    parser.add_argument("--no-eval", action="store_true", help="skip the evaluation at the end")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last finished epoch (same settings)",
    )
    parser.add_argument(
        "--mlflow",
        default=None,
        metavar="URI",
        help="also log the run (config, each epoch's metrics, the evaluation) to this MLflow tracking URI",
    )
    parser.add_argument(
        "--deterministic", action="store_true", help="TensorFlow's op determinism: bitwise repeatable, slower"
    )
    parser.add_argument(
        "--schedule",
        default=None,
        metavar="FILE",
        help="retrain a PBT member from scratch from the schedule.json its sweep exported (variant, "
        "hyperparameters per round, seeds and data come from the file; --out, --data and "
        "--deterministic apply)",
    )
    parser.add_argument(
        "--precision",
        default="float32",
        help="float32, mixed_bfloat16 or mixed_float16 (Keras mixed precision; float16 with loss scaling)",
    )
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.schedule:
            return replay_schedule(args)
        overrides = parse_assignments(args.set)
        if args.batch_size is not None:
            overrides["batch_size"] = args.batch_size
        record = train(
            args.variant,
            args.out,
            epochs=args.epochs,
            steps_per_epoch=args.steps,
            data=args.data,
            overrides=overrides,
            seed=args.seed,
            per_class=args.per_class,
            eval_every=args.eval_every,
            eval_samples=args.eval_samples,
            evaluate_at_end=not args.no_eval,
            precision=args.precision,
            resume=args.resume,
            deterministic=args.deterministic,
            mlflow_uri=args.mlflow,
        )
    except GanlibError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    if "metrics" in record:
        from ganlib.evaluate import format_table

        print(format_table(record["metrics"]))
    print(
        f"trained {record['variant']}: {record['training_images']} images in {record['wall_time_s']:.1f} s "
        f"({record['images_per_s']:.0f} images/s); outputs in {args.out}"
    )
    return 0


def replay_schedule(args) -> int:
    """`--schedule FILE`: the PBT member's run again, from scratch (ganlib/schedule.py); bad input
    and divergence raise, as for a run, for main to report."""
    from ganlib import schedule

    if args.set or args.resume or args.batch_size is not None or args.per_class is not None:
        raise ConfigError(
            "--schedule takes the variant, hyperparameters and data subset from its file: "
            "drop --set, --batch-size, --per-class and --resume"
        )
    document = schedule.load(args.schedule)
    import tensorflow as tf

    if document.get("threads"):  # as the member trained: the same steps need the same threads
        os.environ["OMP_NUM_THREADS"] = str(document["threads"])
        tf.config.threading.set_intra_op_parallelism_threads(document["threads"])
        tf.config.threading.set_inter_op_parallelism_threads(document["threads"])
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    record = schedule.replay(document, args.out, data=args.data)
    difference = record["largest_difference"]
    print(
        f"replayed {record['variant']}: {len(document['segments'])} segments, {record['rounds']} rounds, "
        f"{record['training_images']:,} images in {record['wall_time_s']:.1f} s; losses against the "
        "member's: "
        + ("no trace in the schedule" if difference is None else f"largest relative gap {difference:.1e}")
        + f"; outputs in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
