"""A sweep's record (`tune_all.py --record DIR`): what a checkout whose sweep storage is gone needs
to go on, small enough to commit beside the code.

A long sweep on one machine runs in parts (`--resume`); its Ray storage (every trial's
checkpoints: gigabytes) lives on that machine's disk. The record holds instead the search's
export once the search has finished (its best configurations, trial tables and Optuna studies,
no weights) and every finished experiment of the final stage (each run's reports, config and sample
grid; the generators too where `generators` asks) without training state, except that of the runs a
later budget of the ladder continues (`states`), until that budget's part is recorded: without it a
checkout would train them again.
`--resume` with the record copies back what the storage lacks, and Ray restores a finished
experiment without training anything. What a part had not finished when it stopped is trained again.

The storage must be a local folder: object storage (s3://...) is itself what a new machine reads.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from ganlib.export import STATE_NAME
from sweeps.search.trial_layout import FINAL_FILES

EXPORT = "export"
EXPERIMENTS = "ray"
WEIGHTS = ("*.h5", "*.keras", "*.npz")
GRIDS = "grids"  # a trial's TensorBoard images: the report reads each run's final sample grid instead
# SQLite's journal of a write under way: the database itself is kept
EXPORT_LEFT = ("optuna.db-journal",)


def keep_export(export_dir: Path, record: Path) -> None:
    """The export as the record's (what it holds now, weights left out; the winners' kept)."""
    _replace(Path(export_dir), record / EXPORT, _export_ignore(Path(export_dir)))


def _replace(source: Path, target: Path, ignore) -> Path:
    """SOURCE copied to TARGET whole: beside it first, then swapped in, so that a copy cut short
    leaves the record's last one (restore passes over the half-made copy: its name starts with .)."""
    staging = target.with_name(f".{target.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, ignore=ignore)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def _export_ignore(root: Path):
    winners = root / "final" / "generators"

    def ignore(folder: str, names: list[str]) -> set[str]:
        if Path(folder).resolve().is_relative_to(winners.resolve()):
            return set()
        left = shutil.ignore_patterns(*WEIGHTS, *EXPORT_LEFT)(folder, names)
        return left | {n for n in names if (Path(folder) / n).is_symlink()}

    return ignore


def keep_experiment(
    storage: str,
    name: str,
    record: Path,
    generators: frozenset[str] = frozenset(),
    states: frozenset[str] = frozenset(),
) -> Path:
    """A finished experiment into the record: everything but TensorBoard's grids and its checkpoints'
    training state, which the trials named in `states` keep, and only they (a checkpoint keeps its
    run's sample grid, and the .h5 generators of the trials named in `generators`)."""
    source, target = Path(storage) / name, record / EXPERIMENTS / name
    # a recorded part restored, nothing trained: kept as it is, unless its states are not those asked
    # for (a part recorded before its states were kept; states a recorded later part went on from)
    if _same_reports(source, target) and _held_states(target) == _asked_states(source, states):
        return target
    return _replace(source, target, _experiment_ignore(source, generators, states))


def _same_reports(source: Path, target: Path) -> bool:
    def reports(root: Path) -> dict:
        return {path.relative_to(root): path.read_bytes() for path in root.glob("*/result.json")}

    return target.is_dir() and reports(source) == reports(target)


def _asked_states(source: Path, states: frozenset[str]) -> set[Path]:
    """The training states of the trials named in `states` that the storage holds."""
    return {
        path.relative_to(source)
        for trial in states
        for path in (source / trial).glob(f"checkpoint_*/{STATE_NAME}")
    }


def _held_states(target: Path) -> set[Path]:
    return {path.relative_to(target) for path in target.glob(f"*/checkpoint_*/{STATE_NAME}")}


# Ray writes its experiment's state anew at every start (the resumed finished parts too) and reads
# the newest by name (a timestamp): the older ones would only grow the record at each session
STATES = ("experiment_state-*.json", "basic-variant-state-*.json")


def _experiment_ignore(source: Path, generators: frozenset[str], states: frozenset[str] = frozenset()):
    def ignore(folder: str, names: list[str]) -> set[str]:
        inside = Path(folder).relative_to(source).parts  # (trial, checkpoint, ...) below the experiment
        if not inside:
            return {old for pattern in STATES for old in sorted(fnmatch.filter(names, pattern))[:-1]}
        if len(inside) == 1:
            return {GRIDS} & set(names)
        if len(inside) == 2 and inside[1].startswith("checkpoint_"):  # the training state; final files stay
            return set() if inside[0] in states else {n for n in names if n != FINAL_FILES}
        if len(inside) > 2 and inside[1].startswith("checkpoint_"):
            left = set(shutil.ignore_patterns(*WEIGHTS)(folder, names))
            return left - {n for n in names if n.endswith(".h5")} if inside[0] in generators else left
        return set()

    return ignore


def keep_file(path: Path, record: Path) -> None:
    """A document of the storage's own (the ladder's choices) into the record."""
    (record / EXPERIMENTS).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, record / EXPERIMENTS / path.name)


def restore(record: Path, storage: str, export_dir: Path) -> list[str]:
    """What the record holds and the storage or export lacks, copied back; the names restored."""
    restored = []
    kept_export = record / EXPORT
    if (kept_export / "sweep.json").is_file() and not (export_dir / "sweep.json").is_file():
        shutil.copytree(kept_export, export_dir, dirs_exist_ok=True)
        restored.append(f"the search's export ({export_dir})")
    kept = record / EXPERIMENTS
    for path in sorted(kept.iterdir()) if kept.is_dir() else []:
        if path.name.startswith("."):  # a copy interrupted before it was renamed into place
            continue
        there = Path(storage) / path.name
        if there.exists():
            continue
        there.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, there)
        else:
            shutil.copyfile(path, there)
        restored.append(path.name)
    return restored


def has_state(checkpoint_dir: str | Path) -> bool:
    """Whether a checkpoint still holds its training state (one restored from a record does not)."""
    return (Path(checkpoint_dir) / STATE_NAME).is_file()
