"""Publishing a study's export: the report and the winners' generators go, the per-run weights stay."""

import json
import subprocess
import sys

import pytest
from conftest import REPO, checkout_commit

# an export as the study leaves it (sweeps/report.py run), a file per kind
EXPORT = {
    "report.md": "# report",
    "report.html": "<html>",
    "optuna.db": "sqlite",
    "optuna.db-journal": "sqlite",
    "figures/fid_strip.png": "png",
    "best/gan/config.json": "{}",
    "best/gan/samples.png": "png",
    "best/gan/gan_generator.h5": "weights",
    "best/gan/gan_generator.keras": "weights",
    "final/leaderboard.md": "| variant |",
    "final/runs/gan_best_s0_512000/gan_generator.h5": "weights",
    "final/runs/gan_best_s0_512000/samples.png": "png",
    "final/generators/cgan/cgan_generator_ema.h5": "weights",
    "final/generators/cgan/metrics.json": "{}",
    "precision_control/cgan_float32_s0/run.json": "{}",
    "precision_control.md": "| variant |",
    "throughput.csv": "variant",
}
PUBLISHED = {
    "report.md",
    "figures/fid_strip.png",
    "best/gan/config.json",
    "best/gan/samples.png",
    "final/leaderboard.md",
    "final/generators/cgan/cgan_generator_ema.h5",
    "final/generators/cgan/metrics.json",
    "precision_control.md",
    "throughput.csv",
}


def publish(*args):
    return subprocess.run(
        [sys.executable, "-m", "sweeps.study.publish", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )


@pytest.fixture
def export(tmp_path):
    root = tmp_path / "export"
    for name, text in EXPORT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def tree(root):
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_publishing_copies_the_report_and_the_winners_generators_and_leaves_the_runs_weights_and_grids(
    export, tmp_path
):
    dest = tmp_path / "docs" / "cpu"
    done = publish(export, dest)
    assert done.returncode == 0, done.stderr
    assert tree(dest) == PUBLISHED | {"publication.json"}
    marker = json.loads((dest / "publication.json").read_text())
    assert marker["from"] == str(export.resolve())
    assert marker["commit"].rstrip("+") == checkout_commit()
    assert (dest / "final/generators/cgan/cgan_generator_ema.h5").read_text() == "weights"
    assert f"published {len(PUBLISHED)} files" in done.stdout
    assert tree(export) == set(EXPORT)  # the export is left whole


def test_replacing_a_publication_leaves_no_file_of_the_older_study(export, tmp_path):
    dest = tmp_path / "cpu"
    assert publish(export, dest).returncode == 0
    (dest / "figures" / "gone_since.png").write_text("an older study's figure")
    refused = publish(export, dest)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "--replace" in refused.stderr
    assert (dest / "figures" / "gone_since.png").exists()  # nothing lost without --replace
    assert publish(export, dest, "--replace").returncode == 0
    assert tree(dest) == PUBLISHED | {"publication.json"}
    assert not list(tmp_path.glob(".cpu*"))  # the staging and replaced folders are gone


CASES = ["no report", "not a publication", "a link to a publication", "inside the export", "holds the export"]


@pytest.mark.parametrize("case", CASES)
def test_bad_publication_input_says_what_and_exits_2_touching_nothing(export, tmp_path, case):
    dest = tmp_path / "elsewhere"
    if case == "no report":
        (export / "report.md").unlink()
    elif case == "not a publication":  # a report of its own, but not written by publishing
        dest.mkdir()
        (dest / "report.md").write_text("mine")
    elif case == "a link to a publication":
        assert publish(export, tmp_path / "cpu").returncode == 0
        dest.symlink_to(tmp_path / "cpu")
    elif case == "inside the export":
        dest = export / "published"
    else:  # an earlier publication by its look, which removing would take the export with it
        dest = tmp_path
        (dest / "publication.json").write_text("{}")
    before = tree(tmp_path)
    done = publish(export, dest, "--replace")
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert str(export if case == "no report" else dest) in done.stderr
    assert tree(tmp_path) == before
