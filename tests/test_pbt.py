"""A real Population Based Training sweep (`--scheduler pbt`, two variants, two members each, op
determinism on) as a user runs it, and the schedule its export writes retraining a member from
scratch to the member's own losses with `python -m ganlib.train --schedule`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sweep_runs import tune_all

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pbt_sweep(tmp_path_factory, mnist_path):
    store = tmp_path_factory.mktemp("pbt") / "store"
    result = tune_all(
        "--scheduler",
        "pbt",
        "--variants",
        "gan,dcgan",
        "--num-samples",
        "2",
        "--name",
        "pbt",
        "--deterministic",
        "--final-seeds",
        "0",
        "--no-report",
        "--data",
        str(mnist_path),
        "--storage",
        str(store),
        timeout=1200,
    )
    return store, result


def test_a_pbt_sweep_of_two_variants_exports_each_best_member_with_its_schedule(pbt_sweep):
    store, result = pbt_sweep
    assert result.returncode == 0, result.stderr[-3000:]
    board = pd.read_csv(store / "pbt" / "leaderboard.csv").set_index("variant")
    assert set(board.index) == {"gan", "dcgan"}
    assert board["fid"].map(math.isfinite).all() and (board["fid"] > 0).all()
    for variant in ("gan", "dcgan"):
        best = store / "pbt" / "best" / variant
        schedule = json.loads((best / "schedule.json").read_text())
        config = json.loads((best / "config.json").read_text())
        assert schedule["variant"] == variant and schedule["rounds"] == 4
        assert schedule["segments"][0]["round"] == 0
        # the member ended on the config its export names
        assert {k: v for k, v in schedule["segments"][-1]["config"].items()} == config["hyperparameters"]
        assert [row["round"] for row in schedule["trace"]] == [1, 2, 3, 4]
        assert (best / f"{variant}_generator.h5").is_file()


def test_the_console_says_which_member_was_replaced_and_from_whom(pbt_sweep):
    store, result = pbt_sweep
    lines = [line for line in result.stdout.splitlines() if "replaced (its FID was" in line]
    assert lines, result.stdout[-3000:]
    assert all("'s state at" in line for line in lines)
    assert "[Exploit]" not in result.stdout + result.stderr  # Ray's paragraphs give way to the line
    # each copy the history holds was said on the console (Ray's progress.csv of a member resumed
    # before its first rows reached the storage may lack reports; schedule.json keeps the lineage)
    history = pd.concat(pd.read_csv(p) for p in (store / "pbt" / "trials").glob("*_history.csv"))
    recorded = {text for text in history["replaced"].dropna() if text}
    assert recorded and all(any(text in line for line in lines) for text in recorded)


def schedules_with_a_copy(store: Path) -> list[Path]:
    """Every member's schedule (in its last checkpoint) whose lineage changed hyperparameters."""
    found = []
    for path in sorted((store / "pbt-trials").glob("*/checkpoint_*/final/schedule.json")):
        configs = {json.dumps(s["config"], sort_keys=True) for s in json.loads(path.read_text())["segments"]}
        if len(configs) > 1:
            found.append(path)
    return found


def replay(schedule: Path, out: Path) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganlib.train",
            "--schedule",
            str(schedule),
            "--deterministic",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "largest relative gap" in done.stdout
    return json.loads((out / "replay.json").read_text())


def test_a_members_schedule_retrains_it_to_its_own_losses_and_ignoring_it_does_not(pbt_sweep, tmp_path):
    store, result = pbt_sweep
    assert result.returncode == 0, result.stderr[-3000:]
    copied = schedules_with_a_copy(store)
    assert copied, "no member's lineage changed hyperparameters: nothing to replay"
    schedule = copied[0]
    record = replay(schedule, tmp_path / "replay")
    assert record["rounds"] == 4
    assert record["largest_difference"] == 0.0  # bitwise, under op determinism
    document = json.loads(schedule.read_text())
    first = document["segments"][0]["config"]
    ignored = {
        # the schedule ignored: the first segment's hyperparameters and data order all along
        "ignored": {**document, "segments": document["segments"][:1]},
        # its copies and mutations ignored: the same restarts, the first hyperparameters throughout
        "unmutated": {**document, "segments": [{**s, "config": first} for s in document["segments"]]},
    }
    for name, wrong in ignored.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(wrong))
        assert replay(tmp_path / f"{name}.json", tmp_path / name)["largest_difference"] > 1e-3, name
