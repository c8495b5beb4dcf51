"""The precision control (sweeps/study/precision_control.py): its comparison, its resume, its refusals.
A real control trains with `python -m ganlib.train`, whose precision and evaluation are tested in
test_precision.py and test_train_cli.py."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pandas as pd
import pytest

from sweeps.study import precision_control
from sweeps.study.statistics import smallest_p


def runs(fids: dict) -> pd.DataFrame:
    rows = [
        {"variant": variant, "precision": precision, "seed": seed, "fid": fid}
        for (variant, precision), values in fids.items()
        for seed, fid in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_the_comparison_gives_medians_in_their_data_and_the_test_at_these_seeds():
    table = precision_control.comparison(
        runs(
            {
                ("cgan", "mixed_bfloat16"): [10, 11, 12, 13, 14, 15],
                ("cgan", "float32"): [20, 21, 22, 23, 24, 25],
                ("dcgan", "mixed_bfloat16"): [50, 60, 55],
                ("dcgan", "float32"): [52, 58, 56],
            }
        ),
        "mixed_bfloat16",
        "float32",
    ).set_index("variant")
    cgan = table.loc["cgan"]
    assert cgan["fid_mixed_bfloat16"] == 12.5 and cgan["fid_float32"] == 22.5
    assert cgan["ratio"] == pytest.approx(12.5 / 22.5) and cgan["cliffs_delta"] == -1.0
    assert cgan["p"] == pytest.approx(smallest_p(6, 6)) and cgan["seeds"] == "6 vs 6"
    assert 10 <= cgan["fid_mixed_bfloat16_low"] <= 12.5 <= cgan["fid_mixed_bfloat16_high"] <= 15
    dcgan = table.loc["dcgan"]
    assert dcgan["p"] > 0.5 and dcgan["smallest_p"] == pytest.approx(0.1)  # interleaved: no difference
    # beside "no difference", what could have been told: nothing at 3 vs 3, a finite ratio at 6 vs 6
    assert dcgan["detectable_ratio"] == math.inf and 1 < cgan["detectable_ratio"] < 2
    text = precision_control.markdown(table.reset_index(), "mixed_bfloat16", "float32", 2)
    assert "| cgan | 6 vs 6 | 0 vs 0 | 12.5 [" in text and "| 0.556 | -1.00 |" in text


def export(tmp_path):
    best = tmp_path / "best" / "gan"
    best.mkdir(parents=True)
    (best / "config.json").write_text(json.dumps({"seed": 0, "hyperparameters": {"width": 0.25}}))
    return tmp_path


def test_finished_runs_are_read_not_trained_again_and_diverged_ones_counted(tmp_path, monkeypatch):
    root = export(tmp_path)
    records = {("mixed_bfloat16", s): {"metrics": {"fid": f}} for s, f in enumerate([40.0, 42.0, 44.0, 46.0])}
    records |= {("float32", s): {"metrics": {"fid": f}} for s, f in enumerate([41.0, 43.0])}
    # ended diverged: by its FID after training (metrics written), or in training (none written)
    records[("float32", 2)] = {"metrics": {"fid": 3e6}, "diverged": "FID 3e6 after training"}
    records[("float32", 3)] = {"diverged": "non-finite losses at step 9"}
    for (precision, seed), record in records.items():
        out = root / "precision_control" / f"gan_{precision}_s{seed}"
        out.mkdir(parents=True)
        (out / "run.json").write_text(json.dumps(record))

    def no_training(*args, **kwargs):
        raise AssertionError(f"trained again: {args}")

    monkeypatch.setattr(precision_control.subprocess, "run", no_training)
    assert precision_control.main([str(root), "--variants", "gan", "--seeds", "4"]) == 0
    table = pd.read_csv(root / "precision_control.csv")
    assert len(table) == 8 and table["diverged"].sum() == 2 and table["fid"].isna().sum() == 2
    text = (root / "precision_control.md").read_text()
    # the two diverged float32 runs rank worst: its median is between 43 and an infinite FID
    assert "| gan | 4 vs 4 | 0 vs 2 | 43.0 [40.0, 46.0] | inf [41.0, inf] |" in text


def test_the_command_trains_the_exported_configuration_at_the_asked_precision(tmp_path):
    args = precision_control.argparse.Namespace(epochs=2, eval_samples=10_000, data="m.npz", per_class=None)
    line = precision_control.command("cgan", {"g_lr": 6e-4, "width": 0.5}, "float32", 3, tmp_path, args)
    text = " ".join(line[1:])
    assert text.startswith("-m ganlib.train --variant cgan --epochs 2 --seed 3 --precision float32")
    assert "--set g_lr=0.0006 --set width=0.5" in text and "--eval-samples 10000" in text


@pytest.mark.parametrize(
    "args, words",
    [
        (["--variants", "stylegan"], ["--variants stylegan not exported", "exported: gan"]),
        (["--variants", "gan", "--seeds", "1"], ["--seeds 1", "at least 2 seeds"]),
        (["--variants", "gan", "--eval-samples", "0"], ["--eval-samples 0", "1 sample"]),
        (["--variants", "gan", "--precisions", "float32"], ["--precisions 'float32'", "two different"]),
        (["--variants", "gan", "--precisions", "float32,float32"], ["'float32,float32'", "two different"]),
        (["--variants", "gan", "--precisions", "float32,bf16"], ["'float32,bf16'", "mixed_bfloat16"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_training(tmp_path, capsys, args, words):
    root = export(tmp_path)
    assert precision_control.main([str(root), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:") and all(w in err for w in words)
    assert not (root / "precision_control").exists()


def test_a_control_with_no_scored_run_says_so_and_exits_1(tmp_path, monkeypatch, capsys):
    root = export(tmp_path)
    monkeypatch.setattr(precision_control.subprocess, "run", lambda *a, **k: SimpleNamespace(returncode=1))
    assert precision_control.main([str(root), "--variants", "gan", "--seeds", "2"]) == 1
    assert "no run was scored" in capsys.readouterr().err
