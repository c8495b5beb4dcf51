"""A sweep whose trials and checkpoints live in object storage (`--storage s3://...`), against an
S3-compatible server on 127.0.0.1 that the test starts: interrupted, then resumed from the bucket
alone by a fresh "head" (another export folder), with nothing redone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from conftest import bucket_files, interrupt_once_a_trial_is_done
from sweeps import presets

REPO = Path(__file__).resolve().parents[1]
TUNE_ALL = REPO / "sweeps" / "tune_all.py"


def statuses_in_bucket(env: dict, bucket: str, experiment: str) -> dict[str, str]:
    files = bucket_files(env, bucket, experiment)
    state = json.loads(files[sorted(key for key in files if key.rsplit("/", 1)[-1].startswith("experiment_state-"))[-1]])
    return {json.loads(entry[0])["trial_id"]: json.loads(entry[0])["status"] for entry in state["trial_data"]}


def test_an_interrupted_sweep_resumes_from_the_bucket_without_redoing_finished_trials(s3_bucket, tmp_path, mnist_path):
    bucket, s3_env = s3_bucket
    env = {**os.environ, **s3_env}
    args = ["--preset", "smoke", "--name", "s3sweep", "--variants", "gan,dcgan", "--num-samples", "3", "--data", str(mnist_path),
            "--storage", f"s3://{bucket}/sweeps", "--no-report"]
    process = subprocess.Popen([sys.executable, str(TUNE_ALL), *args, "--export-dir", str(tmp_path / "first-head")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    output = interrupt_once_a_trial_is_done(process, max_rounds=presets.get("smoke").max_rounds)
    assert process.returncode != 0, output[-3000:]

    experiment = "sweeps/s3sweep-trials"
    finished = {trial for trial, status in statuses_in_bucket(s3_env, bucket, experiment).items() if status == "TERMINATED"}
    assert finished and len(finished) < 6, (finished, output[-3000:])
    before = {key: data for key, data in bucket_files(s3_env, bucket, experiment).items()
              if key.endswith("/result.json") and key.split("/")[-2].split("_")[-1] in finished}
    assert len(before) == len(finished)

    resumed = subprocess.run([sys.executable, str(TUNE_ALL), *args, "--resume", "--export-dir", str(tmp_path / "second-head")],
                             capture_output=True, text=True, env=env, timeout=900)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"resuming s3://{bucket}/sweeps/s3sweep-trials" in resumed.stdout
    after = bucket_files(s3_env, bucket, experiment)
    assert {key: after[key] for key in before} == before, "a finished trial was run again"
    assert set(statuses_in_bucket(s3_env, bucket, experiment).values()) == {"TERMINATED"}
    board = pd.read_csv(tmp_path / "second-head" / "leaderboard.csv")
    assert sorted(board["variant"]) == ["dcgan", "gan"] and (board["trials"] == 3).all() and (board["fid"] > 0).all()
    assert (tmp_path / "second-head" / "best" / "gan" / "gan_generator.keras").is_file()  # from the checkpoint in the bucket
