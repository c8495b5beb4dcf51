"""Keras callbacks for a training run: sample grids, loss logs and plots, a stop on divergence,
per-epoch generator export that never overwrites a good generator with a diverged one, and
evaluation every K epochs."""

from __future__ import annotations

import csv
from pathlib import Path

import keras
import pandas as pd

from ganlib import export, plotting
from ganlib.data import NUM_CLASSES
from ganlib.divergence import bad_losses

LOSS_KEYS = ("d_loss", "g_loss")


def _finite(logs: dict | None) -> bool:
    return not bad_losses(logs)


class SampleGrid(keras.callbacks.Callback):
    """A grid from the same fixed noise after every `every` epochs: the seed's per-epoch image."""

    def __init__(self, out_dir, seed: int = 0, every: int = 1):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.seed = seed
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0 and _finite(logs):
            save_model_grid(
                self.model,
                self.out_dir / f"samples_epoch_{epoch + 1:03d}.png",
                self.seed,
                f"epoch {epoch + 1}",
            )


class TensorBoardLog(keras.callbacks.Callback):
    """Each epoch's logs (losses, D's accuracies, the variant's own trackers) as scalars and its
    fixed-noise grid as an image, in `log_dir` for `tensorboard --logdir`."""

    def __init__(self, log_dir, seed: int = 0):
        super().__init__()
        self.log_dir, self.seed, self.writer = str(log_dir), seed, None

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        self.writer = self.writer or tf.summary.create_file_writer(self.log_dir)
        write_summaries(self.writer, epoch + 1, logs or {}, self.model if _finite(logs) else None, self.seed)


def write_summaries(writer, step: int, scalars: dict, model=None, seed: int = 0) -> None:
    """Scalars, and the model's fixed-noise grid as the image "samples", at `step` (needs the
    tensorboard package: TensorFlow writes summaries through it)."""
    import tensorflow as tf

    with writer.as_default(step=step):
        for key, value in scalars.items():
            tf.summary.scalar(key, float(value))
        if model is not None:
            images, _ = model.grid_images(seed)
            tf.summary.image("samples", plotting.tile(images, ncols=10)[None, :, :, None])
    writer.flush()


class MLflowLog(keras.callbacks.Callback):
    """Each epoch's logs as metrics of the active MLflow run (ganlib.train --mlflow)."""

    def on_epoch_end(self, epoch, logs=None):
        import mlflow

        mlflow.log_metrics({key: float(value) for key, value in (logs or {}).items()}, step=epoch + 1)


def save_training_animation(out_dir, duration_ms: int = 400):
    """`training.gif`: the fixed-noise grids of every epoch in turn, as the seed paper's animation."""
    from PIL import Image

    frames = sorted(Path(out_dir).glob("samples_epoch_[0-9][0-9][0-9].png"))
    if not frames:
        return None
    images = [Image.open(frame).convert("RGB") for frame in frames]
    path = Path(out_dir) / "training.gif"
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return path


def save_model_grid(model, path, seed: int = 0, title: str | None = None):
    """The model's main grid at `path`, and its extra grids (if any) beside it as path_<name>.png."""
    path = Path(path)
    images, row_labels = model.grid_images(seed)
    for name, (extra_images, extra_rows) in model.extra_grids(seed).items():
        extra_title = f"{title}, {name}" if title else name
        plotting.save_grid(
            extra_images,
            path.with_name(f"{path.stem}_{name}.png"),
            ncols=10,
            title=extra_title,
            row_labels=extra_rows,
        )
    return plotting.save_grid(images, path, ncols=10, title=title, row_labels=row_labels)


def keep_epochs_up_to(path: Path, epoch: int | None) -> None:
    """A per-epoch log for a run that starts (`epoch` None: removed) or resumes after `epoch`
    (its rows of later epochs, which the saved training state does not hold, dropped)."""
    if epoch is None or not path.exists():
        path.unlink(missing_ok=True)
    else:
        rows = pd.read_csv(path)
        rows[rows["epoch"] <= epoch].to_csv(path, index=False)


class LossLog(keras.callbacks.Callback):
    """Per-step losses to `losses_steps.csv`, per-epoch logs to `history.csv`, and `losses.png`.

    Keras hands callbacks the epoch's running means; the step's own value is recovered exactly as
    t*m_t - (t-1)*m_(t-1), so the plot shows what each step did rather than a sawtooth of means.
    """

    def __init__(self, out_dir, resume_after_epoch: int | None = None, global_step: int = 0):
        """A new log, or with `resume_after_epoch` the old one kept up to that epoch (rows of an
        epoch the run did not finish are dropped) and continued from `global_step`."""
        super().__init__()
        self.out_dir = Path(out_dir)
        self.steps_path = self.out_dir / "losses_steps.csv"
        self.history_path = self.out_dir / "history.csv"
        self.global_step = global_step
        self._previous_means: dict[str, float] = {}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for path in (self.steps_path, self.history_path):
            keep_epochs_up_to(path, resume_after_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self._previous_means = {}

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.global_step += 1
        row = {"step": self.global_step, "epoch": self.epoch}
        for key, mean in logs.items():
            mean = float(mean)
            previous = self._previous_means.get(key, 0.0)
            row[key] = (batch + 1) * mean - batch * previous
            self._previous_means[key] = mean
        self._append(self.steps_path, row)

    def on_epoch_end(self, epoch, logs=None):
        self._append(
            self.history_path, {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        )
        if self.steps_path.exists():
            plotting.plot_losses(pd.read_csv(self.steps_path), self.out_dir / "losses.png")

    @staticmethod
    def _append(path: Path, row: dict):
        new = not path.exists()
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row), lineterminator="\n")
            if new:
                writer.writeheader()
            writer.writerow(row)


class StopOnDivergence(keras.callbacks.Callback):
    """Stops at the first step whose losses say the run diverged (ganlib.divergence) and
    remembers where it happened."""

    def __init__(self, first_step: int = 0):
        super().__init__()
        self.diverged: str | None = None
        self.step = first_step

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        bad = bad_losses(logs)
        if self.diverged is None and bad:
            self.diverged = f"step {self.step}: " + ", ".join(f"{k}={v}" for k, v in bad.items())
            self.model.stop_training = True


class GeneratorCheckpoint(keras.callbacks.Callback):
    """The generator in both formats after each epoch whose losses are finite."""

    def __init__(self, out_dir, variant: str):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.variant = variant
        self.saved_epoch: int | None = None

    def on_epoch_end(self, epoch, logs=None):
        if _finite(logs):
            export.save_generator(self.model.generator, self.out_dir, self.variant)
            self.saved_epoch = epoch + 1


def flat_row(result: dict) -> dict:
    """Scalars only: lists (the class histogram) go into the CSV as one column per entry."""
    row = {}
    for key, value in result.items():
        if isinstance(value, list):
            row.update({f"{key}_{i}": v for i, v in enumerate(value)})
        else:
            row[key] = value
    return row


class PeriodicEvaluation(keras.callbacks.Callback):
    """Every `every` epochs, every metric (ganlib.metrics.evaluate) appended to `metrics.csv`."""

    def __init__(
        self,
        out_dir,
        every: int = 1,
        n: int = 10_000,
        seed: int = 0,
        data=None,
        resume_after_epoch: int | None = None,
    ):
        """A new `metrics.csv`, or with `resume_after_epoch` the old one kept up to that epoch: an
        epoch evaluated but not saved in the training state (the run stopped in between) is
        trained and evaluated again, and must not be listed twice."""
        super().__init__()
        self.path = Path(out_dir) / "metrics.csv"
        self.every, self.n, self.seed, self.data = every, n, seed, data
        keep_epochs_up_to(self.path, resume_after_epoch)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from ganlib.metrics import evaluate

        result = evaluate(self.model, self.n, self.seed, data=self.data, cas=False)
        row = {"epoch": epoch + 1, **flat_row(result)}
        new = not self.path.exists()
        with self.path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row), lineterminator="\n")
            if new:
                writer.writeheader()
            writer.writerow(row)
        print(
            f"\nepoch {epoch + 1}: FID {result['fid']:.3f} (real floor {result['fid_real_floor']:.3f}), "
            f"KID {result['kid']:.4f}, classes {result['classes_covered']}/{NUM_CLASSES}"
        )
