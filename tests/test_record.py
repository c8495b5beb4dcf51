"""The sweep's record (`--record`): a checkout without the sweep's storage goes on from it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from conftest import SHARED_SWEEP_ENV, SHARED_SWEEP_NAME, shared_sweep_args
from sweep_runs import tune_all

REPO = Path(__file__).resolve().parents[1]


def resume(tmp_path: Path, mnist_path: Path) -> subprocess.CompletedProcess:
    """The shared sweep's command with --resume, on the copies in tmp_path."""
    return tune_all(
        *shared_sweep_args(tmp_path / "store", tmp_path / "record", mnist_path),
        "--resume",
        env={**os.environ, **SHARED_SWEEP_ENV},
    )


def write_files(root: Path, contents: dict[str, str]) -> None:
    for name, text in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def runs_table(tmp_path: Path) -> pd.DataFrame:
    return pd.read_csv(tmp_path / "store" / SHARED_SWEEP_NAME / "final" / "runs.csv")


def test_a_study_goes_on_from_its_record_without_its_storage(shared_sweep, tmp_path, mnist_path):
    # conftest's shared sweep: a search, a first budget of 2 seeds, one of them on to two longer
    # budgets: every kind of part
    store, _, record, done = shared_sweep
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    name = SHARED_SWEEP_NAME
    # small: no training state (the runs that went on to a longer budget kept theirs until the longer
    # budget's part was recorded), no weights but the longest budget's generators (the winner's among them)
    assert not list(record.rglob("training_state.npz"))
    assert (store / f"{name}-final-gan-best").is_dir() and len(list(store.rglob("training_state.npz"))) > 2
    (winner,) = (store / name / "final" / "generators").iterdir()
    kept = {p.relative_to(record).parts[:2] for p in record.rglob("*.h5")}
    longest = {("ray", f"{name}-final-3-{variant}") for variant in ("dcgan", "gan")}
    assert kept == longest | {("export", "final")}, kept
    assert not list(record.rglob("*.keras"))
    assert (record / "export" / "sweep.json").is_file() and (record / "export" / "optuna.db").is_file()

    # copies of both, which the resumed runs below may change; the storage moved with its copy
    shutil.copytree(store, tmp_path / "store", symlinks=True)
    shutil.copytree(record, tmp_path / "record", symlinks=True)
    record = tmp_path / "record"
    before = runs_table(tmp_path)

    # the same checkout: the finished search is not exported again (its wall time would be the resume's)
    searched = (tmp_path / "store" / name / "sweep.json").read_text()
    again = resume(tmp_path, mnist_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "the search finished before" in again.stdout
    assert (tmp_path / "store" / name / "sweep.json").read_text() == searched

    # a new checkout: the record only. Nothing is trained again; the tables are the same
    shutil.rmtree(tmp_path / "store")
    again = resume(tmp_path, mnist_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "the search finished before" in again.stdout
    assert " report " not in again.stdout and "trained again" not in again.stdout
    pd.testing.assert_frame_equal(runs_table(tmp_path), before)
    generators = tmp_path / "store" / name / "final" / "generators"
    assert (generators / winner.name / f"{winner.name}_generator.h5").is_file()

    # a record that stopped before the longer budgets: the runs to continue go on from the training
    # state it kept then (put back here from the sweep's storage, as the record copied it); a part
    # recorded without its states is trained again first, then continued
    shutil.rmtree(tmp_path / "store")
    for variant in ("dcgan", "gan"):
        shutil.rmtree(record / "ray" / f"{name}-final-3-{variant}")
    (other,) = {"dcgan", "gan"} - {winner.name}
    first = f"{name}-final-{winner.name}-best"
    for params in (store / f"{name}-final-3-{winner.name}").glob("*/params.json"):
        checkpoint = Path(json.loads(params.read_text())["final"]["run"]["continue_from"])
        for state in (store / first / checkpoint.parent.name / checkpoint.name).glob("*state*"):
            shutil.copyfile(state, record / "ray" / first / state.relative_to(store / first))
    assert len(list((record / "ray" / first).rglob("training_state.npz"))) == 1
    again = resume(tmp_path, mnist_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"final stage, ladder: {name}-final-{other}-best holds no training state" in again.stdout
    assert f"{name}-final-{winner.name}-best holds" not in again.stdout
    after = runs_table(tmp_path)
    assert sorted(after["budget_images"].unique()) == [1600, 3200, 4800]
    longest = after[after["budget_images"] == 4800]
    assert (longest["fid"] > 0).all() and set(longest["variant"]) == {"dcgan", "gan"}
    assert (record / "ray" / f"{name}-final-3-{winner.name}").is_dir()  # kept again
    assert not list(record.rglob("training_state.npz"))  # and the states it went on from dropped


def test_a_record_beside_object_storage_is_refused_in_one_line(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "sweeps" / "tune_all.py"),
            "--storage",
            "s3://bucket/sweeps",
            "--record",
            str(tmp_path / "record"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: --record ")
    assert not (tmp_path / "record").exists()


def test_the_record_keeps_an_export_without_weights_but_the_winners_and_restores_only_what_is_missing(
    tmp_path,
):
    from sweeps.search import record

    export = tmp_path / "export"
    write_files(
        export,
        {
            "sweep.json": "{}",
            "leaderboard.csv": "variant\ngan\n",
            "optuna.db": "db",
            "optuna.db-journal": "journal",
            "best/gan/config.json": "{}",
            "best/gan/gan_generator.h5": "weights",
            "best/gan/gan_generator.keras": "weights",
            "final/runs/gan_best_s0_1600/gan_generator.h5": "weights",
            "final/runs/gan_best_s0_1600/samples.png": "png",
            "final/generators/gan/gan_generator.h5": "the winner's",
        },
    )
    (export / "latest").symlink_to(export / "best")
    kept = tmp_path / "record"
    record.keep_export(export, kept)
    files = sorted(str(p.relative_to(kept / "export")) for p in (kept / "export").rglob("*") if p.is_file())
    assert files == [
        "best/gan/config.json",
        "final/generators/gan/gan_generator.h5",
        "final/runs/gan_best_s0_1600/samples.png",
        "leaderboard.csv",
        "optuna.db",
        "sweep.json",
    ]
    # a checkout without the export gets it back; one with an export keeps its own
    (kept / "ray" / "s-final-gan-best").mkdir(parents=True)
    (kept / "ray" / "s-final-gan-best" / "experiment_state.json").write_text("{}")
    (kept / "ray" / ".s-final-gan-defaults.new").mkdir()  # a copy cut short: not a part
    fresh, storage = tmp_path / "fresh", tmp_path / "store"
    assert record.restore(kept, str(storage), fresh) == [f"the search's export ({fresh})", "s-final-gan-best"]
    assert (fresh / "optuna.db").read_text() == "db" and not (storage / ".s-final-gan-defaults.new").exists()
    (fresh / "optuna.db").write_text("newer")
    assert record.restore(kept, str(storage), fresh) == []
    assert (fresh / "optuna.db").read_text() == "newer"


def test_a_recorded_part_keeps_only_rays_newest_state_and_is_not_copied_again_when_nothing_trained(tmp_path):
    from sweeps.search import record

    part = tmp_path / "store" / "s-final-gan-best"
    write_files(
        part,
        {
            "experiment_state-2026-12-05_16-56-06.json": "first",
            "experiment_state-2026-12-05_18-26-06.json": "resumed",
            "basic-variant-state-2026-12-05_16-56-06.json": "first",
            "basic-variant-state-2026-12-05_18-26-06.json": "resumed",
            "tuner.pkl": "tuner",
            "gan_best_s0_1/result.json": '{"fid": 1}\n',
        },
    )
    kept = record.keep_experiment(str(tmp_path / "store"), part.name, tmp_path / "record")
    assert sorted(p.name for p in kept.iterdir()) == [
        "basic-variant-state-2026-12-05_18-26-06.json",
        "experiment_state-2026-12-05_18-26-06.json",
        "gan_best_s0_1",
        "tuner.pkl",
    ]
    # restored in a later session: Ray writes a newer state, no run reports anything new
    (part / "experiment_state-2026-12-06_09-00-00.json").write_text("restored")
    record.keep_experiment(str(tmp_path / "store"), part.name, tmp_path / "record")
    assert not (kept / "experiment_state-2026-12-06_09-00-00.json").exists()
    # trained again (a part without its training state): its reports differ, the copy is replaced
    (part / "gan_best_s0_1" / "result.json").write_text('{"fid": 2}\n')
    record.keep_experiment(str(tmp_path / "store"), part.name, tmp_path / "record")
    assert (kept / "experiment_state-2026-12-06_09-00-00.json").read_text() == "restored"
    assert not (kept / "experiment_state-2026-12-05_18-26-06.json").exists()


def test_a_recorded_part_keeps_the_training_states_asked_for_and_only_those(tmp_path):
    from sweeps.search import record

    part = tmp_path / "store" / "s-final-gan-best"
    trial = "gan_best_s{}_1/checkpoint_000009/"
    write_files(
        part,
        {
            **{trial.format(s) + "training_state.npz": "state" for s in (0, 1)},
            **{trial.format(s) + "state.json": "{}" for s in (0, 1)},
            **{trial.format(s) + "final/samples.png": "png" for s in (0, 1)},
            **{f"gan_best_s{s}_1/result.json": '{"fid": 1}\n' for s in (0, 1)},
        },
    )
    # recorded without: no training state anywhere
    kept = record.keep_experiment(str(tmp_path / "store"), part.name, tmp_path / "record")
    assert not list(kept.rglob("training_state.npz")) and len(list(kept.rglob("samples.png"))) == 2
    # asked for one run's, with nothing trained since: copied again, that run's state only
    record.keep_experiment(
        str(tmp_path / "store"), part.name, tmp_path / "record", states=frozenset({"gan_best_s0_1"})
    )
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*state*")) == [
        trial.format(0) + "state.json",
        trial.format(0) + "training_state.npz",
    ]
    # a part restored from that record (no state of its own beside the one kept) is not copied again
    restored = tmp_path / "restored"
    shutil.copytree(kept, restored / part.name)
    (kept / "marker").write_text("the record's own copy")
    record.keep_experiment(
        str(restored), part.name, tmp_path / "record", states=frozenset({"gan_best_s0_1", "gan_best_s1_1"})
    )
    assert (kept / "marker").is_file()
    # no longer asked for (a recorded later part went on from it): the record drops it, keeps the rest
    record.keep_experiment(str(restored), part.name, tmp_path / "record")
    assert not list(kept.rglob("*state*")) and not (kept / "marker").exists()
    assert len(list(kept.rglob("samples.png"))) == 2 and len(list(kept.rglob("result.json"))) == 2
