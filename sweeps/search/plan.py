"""A sweep's plan: the command line's options checked and resolved before Ray starts, so bad input
fails here in one line (exit status 2) and no trial ever sees it."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ganlib import extras, registry  # no TensorFlow: the driver never starts it
from ganlib.errors import ConfigError, check_positive, check_range
from ganlib.precision import PRECISIONS
from ganlib.train import parse_assignments
from sweeps.search import presets
from sweeps.search.schedulers import POPULATION, SCHEDULERS


def resolve_variants(text: str) -> list[str]:
    if text == "all":
        return registry.names()
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ConfigError(
            f"--variants {text!r} names no variant: give all or some of {', '.join(registry.names())}"
        )
    for name in names:
        registry.get(name)
    return names


def is_uri(path: str) -> bool:
    return "://" in path


# What a cluster set up by cluster.yaml tells the sweep (its nodes export these): with none set,
# `python sweeps/tune_all.py` is the README's local smoke run.
ENVIRONMENT = {
    "preset": ("GANLIB_PRESET", "smoke"),
    "storage": ("GANLIB_STORAGE", "results"),
    "exports": ("GANLIB_EXPORTS", None),
    "address": ("GANLIB_RAY_ADDRESS", None),
}


def choose(option: str, given, environ=None) -> tuple:
    """(value, where it came from) for an option: the command line, else its environment variable,
    else the default. For the address, Ray's own RAY_ADDRESS (what a `ray job submit` job is given:
    the exact cluster) comes before GANLIB_RAY_ADDRESS (cluster.yaml's `auto`, for `ray attach`)."""
    environ = os.environ if environ is None else environ
    variable, default = ENVIRONMENT[option]
    if given is not None:
        return given, f"--{option}"
    for name in ("RAY_ADDRESS", variable) if option == "address" else (variable,):
        if environ.get(name):
            return environ[name], f"${name}"
    return default, "the default"


@dataclass(frozen=True)
class Setup:
    """Everything a sweep needs, checked before Ray starts (what `plan` returns)."""

    preset: presets.Preset  # with --max-rounds, --grace-rounds and --reduction-factor applied
    variants: list[str]
    num_samples: int  # trials per variant
    max_concurrent: int  # trials of one variant at once
    scheduler: str  # a name in sweeps.search.schedulers.SCHEDULERS
    mutate: dict  # PBT: hyperparameter -> (low, high), over the search range
    storage: str  # trials and checkpoints: an absolute folder or a URI
    name: str  # the sweep's name, its export folder's
    experiment: str  # the search's Ray Tune experiment in the storage: NAME-trials
    export_dir: Path
    optuna_storage: str  # an Optuna RDB URL
    # what every trial's config holds under "run" (sweeps/search/trial_layout.py): it goes into Ray's
    # trial configs, so it stays a JSON-ready dict; per variant it is variant_run's
    run: dict
    final_seeds: int  # 0: no final stage
    final_rounds: int
    # the budget ladder (presets.Preset.ladder): longer final-stage budgets in rounds, continuing the
    # first ladder_seeds seeds' runs; empty: one budget
    ladder: tuple[int, ...]
    ladder_seeds: int
    mlflow: str | None  # a tracking URI
    wait_notice: float  # seconds
    address: str | None  # a Ray cluster's, or None to start Ray here
    chosen: dict[str, tuple]  # option -> (value, where it came from), for describe_choices
    # the sweep's record (sweeps/search/record.py): what a checkout without the storage goes on from
    record: Path | None = None


def plan(args) -> Setup:
    """Everything a sweep needs, checked before Ray starts: bad input fails here in one line."""
    chosen = {option: choose(option, getattr(args, option, None)) for option in ENVIRONMENT}
    if "YOUR-BUCKET" in chosen["storage"][0]:  # the first thing to set on a new cluster, so the first checked
        raise ConfigError(
            f"storage {chosen['storage'][0]!r} is cluster.yaml's placeholder: put your bucket "
            "in its GANLIB_STORAGE line, or pass --storage"
        )
    preset = presets.with_rungs(
        presets.get(chosen["preset"][0]), args.max_rounds, args.grace_rounds, args.reduction_factor
    )
    if args.scheduler not in SCHEDULERS:
        raise ConfigError(
            f"--scheduler {args.scheduler!r} is not allowed: choose one of {', '.join(SCHEDULERS)}"
        )
    if args.precision not in PRECISIONS:
        raise ConfigError(
            f"--precision {args.precision!r} is not allowed: choose one of {', '.join(PRECISIONS)}"
        )
    variants = resolve_variants(args.variants)
    num_samples = args.num_samples if args.num_samples is not None else preset.num_samples
    check_positive("--num-samples", num_samples, integer=True)
    mutate = {}
    if args.scheduler in POPULATION:
        from sweeps.search.population import check_ranges, parse_ranges

        if num_samples < 2:
            raise ConfigError(
                f"--num-samples {num_samples} is not allowed with --scheduler {args.scheduler}: "
                "a population needs at least 2 members per variant to copy from one another"
            )
        mutate = parse_ranges(getattr(args, "mutate", []))
        check_ranges(variants, mutate)
    elif getattr(args, "mutate", []):
        raise ConfigError(f"--mutate {args.mutate[0]!r} is not allowed without --scheduler pbt or pb2")
    max_concurrent = args.max_concurrent if args.max_concurrent is not None else preset.max_concurrent
    check_positive("--max-concurrent", max_concurrent, integer=True)
    cpus = args.cpus_per_trial if args.cpus_per_trial is not None else preset.cpus_per_trial
    check_positive("--cpus-per-trial", cpus)
    gpus = args.gpus_per_trial if args.gpus_per_trial is not None else preset.gpus_per_trial
    if gpus != 0:
        check_range("--gpus-per-trial", gpus, 0.0, 1.0, low_open=True)
    from ganlib.data import ENV_VAR as MNIST_ENV
    from ganlib.data import load_digits, resolve_path

    data = resolve_path(args.data)
    source = (
        "--data" if args.data else f"${MNIST_ENV}" if data is not None else f"neither --data nor ${MNIST_ENV}"
    )
    if data is not None:
        load_digits(data, "train")  # a missing or malformed file stops the sweep here, not in every trial
        data = str(data.resolve())
    chosen["data"] = (data, source)
    fixed = dict(preset.fixed)
    fixed_by_user = parse_assignments(args.set)
    for key in fixed_by_user:
        if not any(key in registry.get(v).defaults for v in variants):
            raise ConfigError(f"--set {key}: no selected variant has a hyperparameter {key!r}")
    fixed.update(fixed_by_user)
    for variant in variants:
        registry.resolve_config(
            variant, {k: v for k, v in fixed.items() if k in registry.get(variant).defaults}
        )
        if args.scheduler in POPULATION:
            from sweeps.search.population import mutation_space

            if not mutation_space(variant, fixed, mutate):
                raise ConfigError(
                    f"--scheduler {args.scheduler}: {variant} has no hyperparameter left to mutate "
                    "(--set fixes them all)"
                )
    storage = chosen["storage"][0]
    storage = storage if is_uri(storage) else str(Path(storage).expanduser().resolve())
    chosen["storage"] = (storage, chosen["storage"][1])
    # where exports and `latest` go: a local folder, beside the trials when they are local
    exports = Path(chosen["exports"][0] or ("results" if is_uri(storage) else storage)).expanduser()
    name = args.name or (
        latest_name(exports, storage) if args.resume else new_name(preset.name, exports, storage)
    )
    export_dir = Path(args.export_dir or exports / name).resolve()
    optuna_storage = getattr(args, "optuna_storage", None) or f"sqlite:///{export_dir / 'optuna.db'}"
    check_database_url("--optuna-storage", optuna_storage)
    record = getattr(args, "record", None)
    check_record(record, storage)
    record = Path(record).expanduser().resolve() if record else None
    wait_notice = getattr(args, "wait_notice", 300)
    check_positive("--wait-notice", wait_notice)
    mlflow_uri = getattr(args, "mlflow", None)
    if mlflow_uri:
        extras.require_installed("mlflow", "--mlflow")
    run = {
        "data": data,
        "seed": args.seed,
        "per_class": preset.per_class,
        "fixed": fixed,
        "eval_every_images": preset.eval_every_images,
        "max_rounds": preset.max_rounds,
        "eval_samples": preset.eval_samples,
        "final_eval_samples": preset.final_eval_samples,
        "cpus_per_trial": cpus,
        "gpus_per_trial": gpus,
        "gpu_memory_mb": args.gpu_memory_mb or preset.gpu_memory_mb,
        "memory_per_trial_mb": preset.memory_per_trial_mb,
        "gpus_declared_only": bool(getattr(args, "gpus_declared_only", False)),
        "precision": args.precision,
        "verbose": bool(getattr(args, "verbose", False)),
        "scheduler": args.scheduler,
        "deterministic": bool(getattr(args, "deterministic", False)),
    }
    final_seeds = args.final_seeds if getattr(args, "final_seeds", None) is not None else preset.final_seeds
    check_range("--final-seeds", final_seeds, 0, 100)
    final_rounds = getattr(args, "final_rounds", None) or preset.final_rounds or 2 * preset.max_rounds
    check_positive("--final-rounds", final_rounds, integer=True)
    # without a final stage there is no ladder to check
    ladder = parse_ladder(getattr(args, "ladder", None), preset.ladder, final_rounds) if final_seeds else ()
    ladder_seeds = getattr(args, "ladder_seeds", None)
    if ladder_seeds is None:  # the preset's, within the seeds asked for
        ladder_seeds = min(preset.ladder_seeds or final_seeds, final_seeds)
    if ladder:
        check_range("--ladder-seeds", ladder_seeds, 1, final_seeds)
    return Setup(
        preset=preset,
        variants=variants,
        num_samples=num_samples,
        max_concurrent=max_concurrent,
        scheduler=args.scheduler,
        mutate=mutate,
        storage=storage,
        name=name,
        experiment=f"{name}-trials",
        export_dir=export_dir,
        optuna_storage=optuna_storage,
        run=run,
        final_seeds=int(final_seeds),
        final_rounds=final_rounds,
        ladder=ladder,
        ladder_seeds=int(ladder_seeds) if ladder else 0,
        mlflow=mlflow_uri,
        wait_notice=wait_notice,
        address=chosen["address"][0],
        chosen=chosen,
        record=record,
    )


def parse_ladder(given: str | None, preset: tuple[int, ...], final_rounds: int) -> tuple[int, ...]:
    """--ladder R1,R2,... (final-stage rounds, each longer than the last and than --final-rounds),
    the preset's ladder without it; "none": no ladder."""
    if given is None:
        rungs = tuple(preset)
    elif given.strip().lower() == "none":
        return ()
    else:
        try:
            rungs = tuple(int(part) for part in given.split(","))
        except ValueError:
            raise ConfigError(
                f"--ladder {given!r} is not allowed: give final-stage budgets in rounds, such as 10,30, "
                "or none"
            ) from None
    steps = (final_rounds, *rungs)
    if any(later <= earlier for earlier, later in zip(steps, steps[1:])):
        raise ConfigError(
            f"--ladder {','.join(map(str, rungs))} is not allowed: each budget must be longer than the "
            f"one before it, the first longer than --final-rounds ({final_rounds})"
        )
    return rungs


def new_name(prefix: str, exports: Path, storage: str) -> str:
    """PREFIX-date_time, as Ray names experiments; a second sweep started in the same second here
    gets -2 (and so on) rather than the first one's folders."""
    stamp = f"{prefix}-{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    folders = [exports] if is_uri(storage) else [exports, Path(storage)]

    def taken(name: str) -> bool:
        return any((folder / each).exists() for folder in folders for each in (name, f"{name}-trials"))

    name, count = stamp, 1
    while taken(name):
        count += 1
        name = f"{stamp}-{count}"
    return name


def check_record(record: str | None, storage: str) -> None:
    if record and is_uri(storage):
        raise ConfigError(
            f"--record {record!r} with --storage {storage!r}: a record keeps a local storage's "
            "experiments; object storage is read back from where it is"
        )


def check_database_url(option: str, url: str) -> None:
    """A URL SQLAlchemy can read (what Optuna's RDB storage takes), refused here in one line."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"{option} {url!r} is not allowed: give a database URL such as sqlite:///path/optuna.db"
        ) from None


LATEST = "latest"


def latest_name(exports: Path, storage: str) -> str:
    """The newest sweep's name: where `latest` points (what --resume without --name continues),
    here or, for a head that is new since, in the bucket."""
    link = exports / LATEST
    if link.is_symlink():
        return Path(link.readlink()).name
    if is_uri(storage):
        from sweeps.cloud.exports import latest_name as latest_in_storage

        if name := latest_in_storage(storage):
            return name
    raise ConfigError(
        f"--resume without --name: no {LATEST!s} sweep in {str(exports)!r} to continue; give --name"
    )


def point_latest_at(export_dir: Path) -> None:
    """`latest` beside the sweep's export folder, pointing at it (relative, so the folder can move)."""
    link = export_dir.parent / LATEST
    partial = link.with_name(f".{LATEST}.partial")
    partial.unlink(missing_ok=True)
    partial.symlink_to(export_dir.name)
    partial.replace(link)


def variant_run(setup: Setup, variant: str) -> dict:
    """The sweep's fixed settings as one variant's trials see them."""
    run = {**setup.run, "variant": variant}
    run["fixed"] = {k: v for k, v in run["fixed"].items() if k in registry.get(variant).defaults}
    return run


def trial_resources(run: dict) -> dict:
    """What Ray reserves for one trial: CPUs, a GPU share and, where the preset says, host memory."""
    resources = {"cpu": run["cpus_per_trial"], "gpu": run["gpus_per_trial"]}
    if run.get("memory_per_trial_mb"):
        resources["memory"] = run["memory_per_trial_mb"] * 2**20
    return resources


def storage_join(storage: str, *parts: str) -> str:
    """A path under the storage, a folder or a URI whose query (?endpoint_override=...) stays last."""
    base, _, query = storage.partition("?") if is_uri(storage) else (storage, "", "")
    joined = "/".join([base.rstrip("/"), *parts])
    return f"{joined}?{query}" if query else joined


def describe_choices(setup: Setup) -> list[str]:
    """What the sweep chose and why, one line each, printed before Ray starts."""
    lines = []
    for option in ("preset", "storage", "data", "address"):
        value, source = setup.chosen[option]
        if option == "address" and value is None:
            value = "none: Ray starts on this machine (127.0.0.1)"
        if option == "data" and value is None:
            value = "Keras's download (keras.datasets.mnist), on every node"
        lines.append(f"{option}: {value} (from {source})")
    return lines
