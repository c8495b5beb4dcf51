"""Generators out to disk and back: the seed's `gan_generator.h5`, a `.keras` file, and the
config and seed that made them, side by side."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

CONFIG_NAME = "config.json"


def generator_paths(out_dir, variant: str, suffix: str = "") -> dict[str, Path]:
    """`suffix` names another generator of the run (`_ema`, its weight average) beside the one a
    folder's `*_generator.keras` finds."""
    out_dir = Path(out_dir)
    return {kind: out_dir / f"{variant}_generator{suffix}.{kind}" for kind in ("h5", "keras")}


def code_commit() -> str | None:
    """The git commit of the ganlib checkout this runs from, with "+" when tracked files differ
    from it: what a result was computed by, since the numbers move with the code as well as with
    the seeds (a data order, a noise stream). None outside a git checkout (an installed wheel)."""
    import subprocess

    root = Path(__file__).resolve().parent.parent

    def git(*args) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root:  # a folder inside some other repository
        return None
    head, changes = git("rev-parse", "HEAD"), git("status", "--porcelain", "--untracked-files=no")
    return None if head is None else head + ("+" if changes else "")


def versions() -> dict:
    import keras
    import numpy
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "ganlib": code_commit(),
    }


def write_config(out_dir, variant: str, config: dict, **extra) -> Path:
    """config.json: what a run was asked to do, its seed and the software that did it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "variant": variant,
        "seed": config.get("seed"),
        "config": config,
        "versions": versions(),
        **extra,
    }
    path = out_dir / CONFIG_NAME
    path.write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
    return path


def save_generator(generator, out_dir, variant: str, suffix: str = "") -> dict[str, Path]:
    """Both formats, in plain Keras layers wherever ganlib trains with its own (a fused batch norm),
    so the files load without ganlib; written to temporary names first so a crash never leaves
    half a file."""
    from ganlib.batch_norm import as_keras_batch_norm

    generator = as_keras_batch_norm(generator)
    paths = generator_paths(out_dir, variant, suffix)
    paths["h5"].parent.mkdir(parents=True, exist_ok=True)
    for _kind, path in paths.items():
        partial = path.with_name(f".partial-{time.time_ns()}-{path.name}")
        generator.save(partial)
        partial.replace(path)
    return paths


def load_generator(path):
    """A saved generator (either format), ready to call on latents."""
    import keras

    import ganlib.stylegan_layers  # noqa: F401  (registers the custom layers StyleGAN's generator is made of)

    return keras.models.load_model(path, compile=False)


# ---- training state, for checkpoints that a sweep can resume from ----------------------------
STATE_NAME = "training_state.npz"


def save_training_state(model, directory, **extra) -> Path:
    """Every weight, optimizer slot and the noise generator's state, plus `extra` scalars."""
    import numpy as np

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {f"model_{i}": np.asarray(v) for i, v in enumerate(model.variables)}
    for index, (optimizer, _) in enumerate(model.optimizer_targets()):
        arrays.update({f"opt{index}_{i}": np.asarray(v) for i, v in enumerate(optimizer.variables)})
    path = directory / STATE_NAME
    np.savez(path, **arrays)
    (directory / "state.json").write_text(json.dumps(extra, default=str))
    return path


def load_training_state(model, directory) -> dict:
    """Restore what save_training_state wrote into a freshly built model of the same config.

    All or nothing: a state that lacks an array the model needs (its optimizers' slots and step
    counts among them) or holds one of another shape raises StateError before anything is assigned,
    since a run resumed with fresh optimizers would quietly take other steps than the saved one.
    """
    import numpy as np

    from ganlib.errors import StateError

    directory = Path(directory)
    path = directory / STATE_NAME
    targets = [(f"model_{i}", variable) for i, variable in enumerate(model.variables)]
    for index, (optimizer, _) in enumerate(model.optimizer_targets()):  # built by GAN.compile
        targets += [(f"opt{index}_{i}", variable) for i, variable in enumerate(optimizer.variables)]
    with np.load(path) as arrays:
        missing = [key for key, _ in targets if key not in arrays.files]
        if missing:
            optimizer_part = (
                " (optimizer state among them)" if any(key.startswith("opt") for key in missing) else ""
            )
            raise StateError(
                f"training state {str(path)!r} lacks {len(missing)} of the {len(targets)} arrays this "
                f"{type(model).__name__} needs{optimizer_part}, first {missing[0]}: "
                "it was saved from another model "
                f"or before the optimizers were built, and cannot resume this run"
            )
        for key, variable in targets:
            if arrays[key].shape != tuple(variable.shape):
                raise StateError(
                    f"training state {str(path)!r} holds {key} of shape {arrays[key].shape} where this "
                    f"{type(model).__name__} has {variable.path} of shape {tuple(variable.shape)}: "
                    "it was saved from another model"
                )
        # The learning rates are the config's, not the state's (Keras keeps each in a variable
        # among the optimizer's): PBT continues a donor's state with mutated rates.
        rates = [float(optimizer.learning_rate) for optimizer, _ in model.optimizer_targets()]
        for key, variable in targets:
            variable.assign(arrays[key])
        for (optimizer, _), rate in zip(model.optimizer_targets(), rates):
            optimizer.learning_rate = rate
    return json.loads((directory / "state.json").read_text())
