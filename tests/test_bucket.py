"""A sweep whose trials and checkpoints live in object storage (`--storage s3://...`), against an
S3-compatible server on 127.0.0.1 that the test starts: interrupted, then resumed from the bucket
alone by a fresh "head" (another export folder), with nothing redone; its exports kept in the
bucket and read back from there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import bucket_files, interrupt_once_a_trial_is_done

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
TUNE_ALL = REPO / "sweeps" / "tune_all.py"


def statuses_in_bucket(env: dict, bucket: str, experiment: str) -> dict[str, str]:
    files = bucket_files(env, bucket, experiment)
    state = json.loads(
        files[sorted(key for key in files if key.rsplit("/", 1)[-1].startswith("experiment_state-"))[-1]]
    )
    return {json.loads(entry[0])["trial_id"]: json.loads(entry[0])["status"] for entry in state["trial_data"]}


def test_an_interrupted_sweep_resumes_from_the_bucket_and_keeps_its_exports_there(
    s3_bucket, tmp_path, mnist_path
):
    bucket, s3_env = s3_bucket
    env = {**os.environ, **s3_env}
    args = [
        "--preset",
        "smoke",
        "--name",
        "s3sweep",
        "--variants",
        "gan,dcgan",
        "--num-samples",
        "2",
        "--max-rounds",
        "2",
        "--data",
        str(mnist_path),
        "--storage",
        f"s3://{bucket}/sweeps",
        "--no-report",
    ]
    process = subprocess.Popen(
        [sys.executable, str(TUNE_ALL), *args, "--export-dir", str(tmp_path / "first-head")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    output = interrupt_once_a_trial_is_done(process, max_rounds=2)
    assert process.returncode != 0, output[-3000:]

    experiment = "sweeps/s3sweep-trials"
    finished = {
        trial
        for trial, status in statuses_in_bucket(s3_env, bucket, experiment).items()
        if status == "TERMINATED"
    }
    assert finished and len(finished) < 4, (finished, output[-3000:])
    before = {
        key: data
        for key, data in bucket_files(s3_env, bucket, experiment).items()
        if key.endswith("/result.json") and key.split("/")[-2].split("_")[-1] in finished
    }
    assert len(before) == len(finished)

    resumed = subprocess.run(
        [sys.executable, str(TUNE_ALL), *args, "--resume", "--export-dir", str(tmp_path / "second-head")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"resuming s3://{bucket}/sweeps/s3sweep-trials" in resumed.stdout
    after = bucket_files(s3_env, bucket, experiment)
    assert {key: after[key] for key in before} == before, "a finished trial was run again"
    assert set(statuses_in_bucket(s3_env, bucket, experiment).values()) == {"TERMINATED"}
    board = pd.read_csv(tmp_path / "second-head" / "leaderboard.csv")
    assert (
        sorted(board["variant"]) == ["dcgan", "gan"]
        and (board["trials"] == 2).all()
        and (board["fid"] > 0).all()
    )
    assert (
        tmp_path / "second-head" / "best" / "gan" / "gan_generator.keras"
    ).is_file()  # from the checkpoint in the bucket

    # the exports outlive the head: in the bucket beside the trials, `latest` pointing at them
    kept = bucket_files(s3_env, bucket, "sweeps/")
    assert kept["sweeps/latest"] == b"s3sweep"
    head = tmp_path / "second-head"
    mirrored = {f"sweeps/s3sweep/{path.relative_to(head)}" for path in head.rglob("*") if path.is_file()}
    assert "sweeps/s3sweep/best/gan/gan_generator.keras" in mirrored and mirrored <= set(kept)
    assert (
        kept["sweeps/s3sweep/leaderboard.csv"] == (tmp_path / "second-head" / "leaderboard.csv").read_bytes()
    )
    # ...and read back on another machine: the report from the bucket alone, written back beside them
    report = subprocess.run(
        [
            sys.executable,
            str(REPO / "sweeps" / "report.py"),
            f"s3://{bucket}/sweeps/latest",
            "--local",
            str(tmp_path / "laptop"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    assert (tmp_path / "laptop" / "report.html").is_file() and "sweeps/s3sweep/report.html" in bucket_files(
        s3_env, bucket, "sweeps/s3sweep/"
    )


def test_the_ladders_first_choice_is_kept_whole_in_the_bucket_and_read_back(s3_bucket, monkeypatch):
    """A study resumed on a new head (nothing local) finds the ladder's first choice beside its
    experiments in the bucket."""
    from sweeps.study.final_stage import kept_ladder_step

    bucket, s3_env = s3_bucket
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)

    def runs_of(variants):
        return [{"run": {"variant": variant, "seed": 0}} for variant in variants]

    uri = f"s3://{bucket}/sweeps/study-final-ladder.json"
    assert kept_ladder_step(uri, 30, ["cgan", "dcgan"], runs_of)[0] == ["cgan", "dcgan"]
    assert kept_ladder_step(uri, 30, ["acgan", "dcgan"], runs_of)[0] == ["cgan", "dcgan"]
    files = bucket_files(s3_env, bucket, "sweeps/")
    assert not [key for key in files if ".partial" in key]  # no temporary object left
    assert json.loads(files["sweeps/study-final-ladder.json"])["30"]["variants"] == ["cgan", "dcgan"]
