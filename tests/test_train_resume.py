"""`python -m ganlib.train --resume`: a run killed mid-way and continued takes the steps the
uninterrupted run takes (op determinism on: bitwise), with model, optimizer, noise and data order;
the same for a sweep's trial that Ray saves and restores mid-way; and what every run writes for
TensorBoard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


# `python -m ganlib.train` killed (SIGKILL, by itself) after step S of epoch E, argv 1 and 2 counted
# from 1: a fixed point in the run's progress however slowly a loaded machine gets there. A test that
# watched for a saved epoch and killed the run from outside could find it further on, or finished.
KILLED_RUN = """
import os, signal, sys
from functools import partial

import keras

import ganlib.train as cli

epoch_to_die_in, step_to_die_after = int(sys.argv[1]), int(sys.argv[2])


class Die(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == epoch_to_die_in and batch + 1 == step_to_die_after:
            os.kill(os.getpid(), signal.SIGKILL)


cli.train = partial(cli.train, extra_callbacks=[Die()])  # after ganlib's own: the step's row is logged
sys.exit(cli.main(sys.argv[3:]))
"""


def arguments(out, mnist_path, *extra) -> list[str]:
    return [
        "--variant",
        "gan",
        "--epochs",
        "3",
        "--per-class",
        "50",
        "--set",
        "width=0.25",
        "--batch-size",
        "20",
        "--no-eval",
        "--data",
        str(mnist_path),
        "--out",
        str(out),
        *extra,
    ]


def command(out, mnist_path, *extra, killed_at=None) -> list[str]:
    """The run in a fresh process under op determinism, to the end, or with killed_at=(epoch, step)
    killed there."""
    start = (
        [sys.executable, "-m", "ganlib.train"]
        if killed_at is None
        else [sys.executable, "-c", KILLED_RUN, *map(str, killed_at)]
    )
    return [*start, *arguments(out, mnist_path, "--deterministic", *extra)]


def train(out, mnist_path, *extra, killed_at=None):
    return subprocess.run(
        command(out, mnist_path, *extra, killed_at=killed_at),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )


def train_here(capsys, out, mnist_path, *extra) -> tuple[int, str]:
    """The same command through ganlib.train.main in this process: (exit code, stderr). Without op
    determinism, which cannot be turned off again in a process: the tests using this compare no
    bits, and a TensorFlow start per command would cost them more than their training."""
    from ganlib.train import main

    capsys.readouterr()
    code = main(arguments(out, mnist_path, *extra))
    return code, capsys.readouterr().err


def saved_epoch(out) -> int:
    try:
        return json.loads((out / "training_state" / "state.json").read_text())["epoch"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


def test_a_killed_run_resumed_equals_the_uninterrupted_run(tmp_path, mnist_path):
    # The uninterrupted run beside the one to be killed: neither reads the other's folder, op
    # determinism makes each bitwise the same however the two share the machine, and one mostly
    # starts TensorFlow (one core) while the other trains.
    straight = subprocess.Popen(
        command(tmp_path / "straight", mnist_path),
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = tmp_path / "killed"
    try:
        # mid-way through epoch 2 (25 steps an epoch): no chance to save anything more
        process = train(killed, mnist_path, killed_at=(2, 10))
    finally:
        _, straight_stderr = straight.communicate(timeout=600)
    assert straight.returncode == 0, straight_stderr[-2000:]
    assert process.returncode == -signal.SIGKILL, (process.returncode, process.stderr[-2000:])
    assert saved_epoch(killed) == 1
    # the unfinished epoch's steps were logged, and the resumed run must take them again
    assert pd.read_csv(killed / "losses_steps.csv")["epoch"].value_counts().to_dict() == {1: 25, 2: 10}

    resumed = train(killed, mnist_path, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # every step's losses, every epoch's means, and every weight, optimizer slot and noise state at the end
    for name in ("losses_steps.csv", "history.csv"):
        assert (killed / name).read_text() == (tmp_path / "straight" / name).read_text(), name
    with (
        np.load(killed / "training_state" / "training_state.npz") as a,
        np.load(tmp_path / "straight" / "training_state" / "training_state.npz") as b,
    ):
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert json.loads((killed / "run.json").read_text())["generator_steps"] == 3 * 25
    assert (killed / "training.gif").is_file()


def test_an_epoch_evaluated_but_not_saved_is_listed_once_after_resume(tmp_path, mnist_path, capsys):
    out, evaluation = tmp_path / "run", ("--eval-every", "1", "--eval-samples", "200")
    code, stderr = train_here(capsys, out, mnist_path, "--epochs", "1", *evaluation)
    assert code == 0, stderr[-2000:]
    # the run was stopped after evaluating epoch 2 and before saving its training state
    rows = pd.read_csv(out / "metrics.csv")
    pd.concat([rows, rows.assign(epoch=2)]).to_csv(out / "metrics.csv", index=False)
    code, stderr = train_here(capsys, out, mnist_path, "--resume", "--epochs", "3", *evaluation)
    assert code == 0, stderr[-2000:]
    assert list(pd.read_csv(out / "metrics.csv")["epoch"]) == [1, 2, 3]


def test_resume_refuses_other_settings_and_a_folder_without_a_run(tmp_path, mnist_path, capsys):
    code, stderr = train_here(capsys, tmp_path / "run", mnist_path, "--epochs", "1")
    assert code == 0, stderr[-2000:]
    code, stderr = train_here(capsys, tmp_path / "run", mnist_path, "--resume", "--set", "width=0.5")
    assert code == 2 and "width=0.5 (saved: 0.25)" in stderr.strip().splitlines()[-1], stderr
    code, stderr = train_here(capsys, tmp_path / "empty", mnist_path, "--resume")
    assert code == 2 and "no training state" in stderr.strip().splitlines()[-1], stderr


def test_a_run_writes_tensorboard_scalars_and_the_grid_each_epoch(tmp_path, mnist_path, capsys):
    import tensorflow as tf

    code, stderr = train_here(capsys, tmp_path / "run", mnist_path, "--epochs", "2")
    assert code == 0, stderr[-2000:]
    tags: dict[str, list[int]] = {}
    for path in (tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    for tag in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "samples"):
        assert tags.get(tag) == [1, 2], (tag, tags)


def test_a_run_killed_between_replacing_its_states_resumes_from_the_newer_one(tmp_path, mnist_path):
    from ganlib.run import Run
    from ganlib.train import STATE_DIR, partial_state, resumable_state, save_state

    overrides = {"width": 0.25, "batch_size": 16}
    run = Run("gan", overrides, data=mnist_path, per_class=5)
    (tmp_path / "config.json").write_text(json.dumps({"variant": "gan", "config": run.config}))
    state_dir = tmp_path / STATE_DIR
    save_state(run, state_dir, epoch=1)
    save_state(run, state_dir, epoch=2)
    assert (
        resumable_state(tmp_path, Run("gan", overrides, data=mnist_path, per_class=5), "float32")["epoch"]
        == 2
    )
    # killed after epoch 3's state was complete and the old one moved aside, before the last rename
    run.save(partial_state(state_dir), epoch=3)
    state_dir.rename(state_dir.with_name(".training_state.old"))
    assert (
        resumable_state(tmp_path, Run("gan", overrides, data=mnist_path, per_class=5), "float32")["epoch"]
        == 3
    )
    assert not partial_state(state_dir).exists() and (state_dir / "state.json").is_file()


# A sweep's trial through Ray's Trainable API, as Tune drives it when a stopped experiment goes on:
# one trial trains straight through; another is saved at round 2, and a fresh one (a new actor's)
# restores that checkpoint and trains on. No Ray cluster: the trainable runs in this process, with
# the worker's own TensorFlow placement and op determinism (`deterministic`).
RESTORED_TRIAL = """
import json, sys, tempfile

import numpy as np
import ray

from sweeps.search.trainable import GANTrainable

ray.get_gpu_ids = lambda: []  # no Ray running here, so no GPU held (the call would start Ray)
run, rounds, saved_at = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])


def trial():
    return GANTrainable({"run": run, "g_lr": 2e-4, "d_lr": 2e-4})


straight = trial()
for _ in range(rounds):
    straight.train()
first = trial()
for _ in range(saved_at):
    first.train()
checkpoint = first.save(tempfile.mkdtemp())
first.stop()
restored = trial()
restored.restore(checkpoint)
for _ in range(rounds - saved_at):
    restored.train()
weights_equal = all(
    np.array_equal(a, b) for a, b in zip(straight.model.get_weights(), restored.model.get_weights())
)
print(json.dumps({"straight": straight.trace, "restored": restored.trace, "weights_equal": weights_equal}))
"""


def test_a_trial_ray_restores_mid_way_trains_on_as_the_uninterrupted_trial(mnist_path):
    run = {
        "variant": "gan",
        "data": str(mnist_path),
        "seed": 3,
        "per_class": 20,
        "fixed": {"width": 0.25, "batch_size": 16},
        "eval_every_images": 64,
        "max_rounds": 100,  # never reached: no final evaluation
        "eval_samples": 100,
        "final_eval_samples": 100,
        "cpus_per_trial": 1,
        "gpus_per_trial": 0,
        "scheduler": "none",
        "deterministic": True,
    }
    done = subprocess.run(
        [sys.executable, "-c", RESTORED_TRIAL, json.dumps(run), "4", "2"],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    straight, restored = result["straight"], result["restored"]
    assert [row["round"] for row in restored] == [1, 2, 3, 4]
    # every round's losses and FID, to the bit: the restored trial saw the same batches
    assert restored == straight
    assert result["weights_equal"]
