"""`python -m ganlib.train` as a user runs it: outputs, a fresh-process reload, bad input, NaN."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import checkout_commit

from ganlib.errors import TrainingDiverged
from ganlib.train import train

SMALL_RUN = ["--per-class", "20", "--batch-size", "32", "--set", "width=0.25", "--no-eval"]


def run_cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "ganlib.train", *args], capture_output=True, text=True, timeout=timeout
    )


def run_cli_here(capsys, *args) -> tuple[int, str]:
    """ganlib.train.main in this process, as `python -m ganlib.train` calls it: (exit code, stderr)."""
    from ganlib.train import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as stopped:  # argparse's own refusals
        code = stopped.code
    return code, capsys.readouterr().err


def test_cli_writes_the_seed_papers_outputs_and_they_reload(tmp_path, mnist_path, capsys):
    out = tmp_path / "run"
    # in this process (the bad-input test and test_train_resume run the command in fresh ones);
    # the reload below is the fresh process this test is about
    code, stderr = run_cli_here(
        capsys,
        "--variant",
        "gan",
        "--epochs",
        "2",
        "--steps",
        "3",
        "--data",
        str(mnist_path),
        "--out",
        str(out),
        *SMALL_RUN,
    )
    assert code == 0, stderr[-2000:]
    for name in (
        "samples_epoch_001.png",
        "samples_epoch_002.png",
        "history.csv",
        "losses_steps.csv",
        "losses.png",
        "gan_generator.h5",
        "gan_generator.keras",
        "config.json",
        "run.json",
    ):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 0 and config["config"]["width"] == 0.25 and config["versions"]["keras"]
    assert config["versions"]["ganlib"].rstrip("+") == checkout_commit()  # the code that made it
    record = json.loads((out / "run.json").read_text())
    assert (
        record["generator_steps"] == 6 and record["training_images"] == 6 * 32 and record["images_per_s"] > 0
    )
    history = (out / "history.csv").read_text().splitlines()
    assert len(history) == 3 and "d_loss" in history[0] and "d_acc_real" in history[0]

    sample = (
        "import numpy as np, keras\n"
        f"g = keras.models.load_model({str(out / 'gan_generator.h5')!r}, compile=False)\n"
        "z = np.random.default_rng(0).standard_normal((16, 100)).astype('float32')\n"
        "x = np.asarray(g(z, training=False))\n"
        "print(x.shape, float(np.abs(x).max()) <= 1.0)\n"
        f"np.save({str(tmp_path / 'h5.npy')!r}, x)\n"
    )
    loaded = subprocess.run([sys.executable, "-c", sample], capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert "(16, 28, 28, 1) True" in loaded.stdout
    from_keras = keras.models.load_model(out / "gan_generator.keras", compile=False)
    z = np.random.default_rng(0).standard_normal((16, 100)).astype("float32")
    np.testing.assert_allclose(
        np.load(tmp_path / "h5.npy"), np.asarray(from_keras(z, training=False)), atol=1e-6
    )


@pytest.mark.parametrize(
    "args, words, fresh_process",
    [
        # one case in a fresh process: what a user's shell sees, sys.exit included
        (["--variant", "bestgan"], ["unknown variant 'bestgan'", "gan"], True),
        (["--epochs", "0"], ["epochs=0", "positive integer"], False),
        (["--batch-size", "0"], ["batch_size=0", "positive integer"], False),
        (["--set", "g_lr=-0.1"], ["g_lr=-0.1", "(0.0, 1.0]"], False),
        (["--set", "lr"], ["--set 'lr'", "name=value"], False),
        (["--data", "/nonexistent/mnist.npz"], ["/nonexistent/mnist.npz", "not found"], False),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, mnist_path, capsys, args, words, fresh_process):
    base = {"--data": str(mnist_path), "--out": str(tmp_path / "x")}
    for flag in args[::2]:
        base.pop(flag, None)
    argv = [*[item for pair in base.items() for item in pair], *SMALL_RUN, *args]
    if fresh_process:
        result = run_cli(*argv)
        code, stderr = result.returncode, result.stderr
    else:
        code, stderr = run_cli_here(capsys, *argv)
    assert code == 2
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr[-2000:]
    for word in words:
        assert word in errors[0]


class PoisonAtEpoch(keras.callbacks.Callback):
    """Makes the discriminator's weights NaN when epoch `epoch` starts, as a real divergence would."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            for weight in self.model.discriminator.trainable_weights:
                weight.assign(np.full(weight.shape, np.nan, dtype="float32"))


def test_nan_loss_stops_cleanly_and_keeps_the_last_good_generator(tmp_path, mnist_path):
    out = tmp_path / "diverged"
    with pytest.raises(TrainingDiverged) as error:
        train(
            "gan",
            out,
            epochs=3,
            steps_per_epoch=2,
            data=mnist_path,
            per_class=10,
            overrides={"width": 0.25, "batch_size": 20},
            verbose=0,
            extra_callbacks=[PoisonAtEpoch(2)],
        )
    message = str(error.value)
    assert "step 3" in message and "nan" in message and "epoch 1" in message and "\n" not in message
    record = json.loads((out / "run.json").read_text())
    assert record["generator_saved_at_epoch"] == 1 and record["diverged"].startswith("step 3")
    generator = keras.models.load_model(out / "gan_generator.keras", compile=False)
    assert np.isfinite(np.asarray(generator(np.zeros((2, 100), "float32")))).all()
    assert (out / "samples_epoch_001.png").exists() and not (out / "samples_epoch_002.png").exists()
