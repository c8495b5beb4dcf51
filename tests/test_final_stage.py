"""The final stage's statistics (sweeps/study/final_stage.py): intervals over seeds, the significance
marks and time-to-quality, on tables whose answers are known; and the stage end to end on a tiny
sweep."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sweeps.search import presets
from sweeps.search.spaces import paper_defaults_point
from sweeps.study.final_stage import holm, interval, leaderboard, time_to_quality

REPO = Path(__file__).resolve().parents[1]


def test_the_interval_is_students_t_over_seeds():
    mean, low, high, n = interval([10.0, 12.0, 14.0])
    # mean 12, sd 2, t(0.975, 2) = 4.303: half-width 4.303 * 2 / sqrt(3) = 4.969
    assert (
        (mean, n) == (12.0, 3)
        and low == pytest.approx(12 - 4.969, abs=1e-3)
        and high == pytest.approx(12 + 4.969, abs=1e-3)
    )
    assert (
        math.isnan(interval([5.0])[1]) and interval([5.0, math.nan])[3] == 1
    )  # one finite seed: no interval


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12), st.floats(0.001, 0.2))
def test_holm_rejects_a_prefix_of_the_sorted_pvalues_and_never_more_than_bonferroni_allows_per_step(
    pvalues, alpha
):
    rejected = holm(pvalues, alpha)
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    flags = [rejected[i] for i in order]
    assert flags == sorted(flags, reverse=True)  # rejections are the smallest p-values
    for rank, i in enumerate(order):
        if rejected[i]:
            assert pvalues[i] <= alpha / (len(pvalues) - rank)
    assert holm([0.001, 0.04, 0.03], 0.05) == [True, False, False]  # 0.001 <= .05/3; 0.03 > .05/2


def runs_table(fids: dict) -> pd.DataFrame:
    rows = []
    for (variant, arm), values in fids.items():
        for seed, fid in enumerate(values):
            rows.append(
                {
                    "variant": variant,
                    "arm": arm,
                    "seed": seed,
                    "fid": fid,
                    "training_images": 1000,
                    "generator_steps": 10,
                    "diverged": False,
                    "images_per_s": 100.0,
                }
            )
    return pd.DataFrame(rows)


def test_the_leaderboard_ranks_by_mean_and_marks_only_gaps_beyond_noise():
    table = runs_table(
        {
            ("a", "best"): [100, 101, 99, 100],
            ("b", "best"): [150, 151, 149, 150],
            ("c", "best"): [80, 140, 110, 120],
        }
    )
    board = leaderboard(table)
    assert list(board["variant"]) == ["a", "c", "b"]
    marks = dict(zip(board["variant"], board["differs_from_top"]))
    assert marks == {"a": False, "c": False, "b": True}  # c's spread covers a's mean; b is clear of it
    assert board.loc[0, "fid_low"] < 100 < board.loc[0, "fid_high"]


def test_defaults_made_of_the_best_runs_take_their_verdict_and_stay_out_of_the_holm_family():
    from scipy import stats

    a, b = [100.0, 101.0, 99.0], [103.0, 104.5, 102.0]
    p = stats.ttest_ind(a, b, equal_var=False).pvalue
    assert 0.025 < p < 0.05  # significant alone; not if a copy doubled the family (Holm: 0.05 / 2)
    table = runs_table({("a", "best"): a, ("b", "best"): b, ("b", "defaults"): b})
    table["same_runs_as_best"] = table["arm"] == "defaults"
    board = leaderboard(table)
    assert list(board["arm"]) == ["best", "best", "defaults"]  # a copy ties with its best row and follows it
    board = board.set_index(["variant", "arm"])
    assert board.loc[("b", "best"), "differs_from_top"] and board.loc[("b", "defaults"), "differs_from_top"]
    assert (
        board.loc[("b", "defaults"), "p_vs_top"] == board.loc[("b", "best"), "p_vs_top"] == pytest.approx(p)
    )


def test_runs_of_a_best_that_is_the_papers_defaults_fill_both_rows():
    from types import SimpleNamespace

    from sweeps.study.final_stage import results_table

    def result(variant, arm, seed, fid, once):
        history = pd.DataFrame(
            {
                "training_iteration": [1, 2],
                "fid": [fid + 50, fid],
                "training_images": [10, 20],
                "train_seconds": [1.0, 2.0],
            }
        )
        return SimpleNamespace(
            config={
                "final": {"run": {"variant": variant, "arm": arm, "seed": seed, "best_is_defaults": once}}
            },
            metrics={"final_fid": fid, "training_images": 20},
            metrics_dataframe=history,
            error=None,
        )

    grid = [
        result("a", "best", 0, 100.0, True),
        result("a", "best", 1, 110.0, True),
        result("b", "best", 0, 200.0, False),
        result("b", "defaults", 0, 300.0, False),
    ]
    table, histories = results_table(grid)
    rows = table.set_index(["variant", "arm", "seed"])
    assert (
        rows.loc[("a", "defaults", 1), "fid"] == 110.0 and rows.loc[("a", "defaults", 1), "same_runs_as_best"]
    )
    assert not rows.loc[("b", "defaults", 0), "same_runs_as_best"] and len(table) == 6
    assert len(histories[(histories["variant"] == "a") & (histories["arm"] == "defaults")]) == 4


def test_time_to_quality_is_the_first_report_at_or_under_each_threshold():
    rows = []
    for seed, fids in enumerate([[900, 500, 300, 150], [900, 450, 390, 250]]):
        for i, fid in enumerate(fids):
            rows.append(
                {
                    "variant": "a",
                    "arm": "best",
                    "seed": seed,
                    "training_iteration": i + 1,
                    "fid": fid,
                    "training_images": 1000 * (i + 1),
                    "train_seconds": 10.0 * (i + 1),
                }
            )
    found = time_to_quality(pd.DataFrame(rows), thresholds=(400.0, 200.0)).iloc[0]
    assert found["reached_400"] == 2 and found["images_to_400"] == np.mean([3000, 3000])
    assert found["reached_200"] == 1 and found["images_to_200"] == 4000 and found["seconds_to_200"] == 40.0


@pytest.mark.integration
def test_the_final_stage_retrains_best_and_defaults_over_seeds_and_ranks_them(tmp_path, mnist_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "sweeps" / "tune_all.py"),
            "--preset",
            "smoke",
            "--name",
            "f",
            "--variants",
            "gan,dcgan",
            "--num-samples",
            "2",
            "--max-rounds",
            "2",
            "--grace-rounds",
            "1",
            "--final-seeds",
            "2",
            "--final-rounds",
            "2",
            "--data",
            str(mnist_path),
            "--storage",
            str(tmp_path / "store"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # a variant whose search's best is its papers' defaults trains those once (both rows read them)
    fixed = presets.get("smoke").fixed
    once = sorted(
        v
        for v in ("dcgan", "gan")
        if {
            k: x
            for k, x in json.loads((tmp_path / "store" / "f" / "best" / v / "config.json").read_text())[
                "hyperparameters"
            ].items()
            if k not in fixed
        }
        == paper_defaults_point(v, fixed)
    )
    said = f"; {', '.join(once)}: the best is the papers' defaults, trained once" if once else ""
    assert (
        f"final stage: {2 * (4 - len(once))} runs (best and papers' defaults x 2 seeds{said}), "
        "3,200 training images each" in result.stdout
    )
    final = tmp_path / "store" / "f" / "final"
    runs = pd.read_csv(final / "runs.csv")
    assert len(runs) == 8 and set(runs["seed"]) == {0, 1} and set(runs["arm"]) == {"best", "defaults"}
    for variant in once:
        mine = runs[runs["variant"] == variant].set_index(["arm", "seed"])["fid"]
        assert list(mine["defaults"]) == list(mine["best"])
    assert (runs["training_images"] == 3200).all() and (
        runs["fid"] > 0
    ).all()  # the same budget for every run
    board = pd.read_csv(final / "leaderboard.csv")
    assert len(board) == 4 and (board["seeds"] == 2).all() and list(board["fid"]) == sorted(board["fid"])
    assert (board["fid_low"] <= board["fid"]).all() and (board["fid"] <= board["fid_high"]).all()
    assert (final / "time_to_quality.csv").is_file() and "FID (95% interval)" in (
        final / "leaderboard.md"
    ).read_text()
    # the report answers the four questions from it, each with a finding drawn from its table
    report = (tmp_path / "store" / "f" / "report.md").read_text()
    for title in (
        "## Image quality",
        "## Classification accuracy",
        "## Losses (every search trial)",
        "## Computing time",
    ):
        assert title in report
    top = board[board["top"]].iloc[0]
    assert (
        top["arm"] == "best"
        and f"**{top['variant']} has the lowest mean FID, {top['fid']:.4g} "
        f"[{top['fid_low']:.4g}, {top['fid_high']:.4g}] over 2 seeds"
        in report
    )
    # images/s measured alone, one variant after another, then the report's computing answer from it
    export = tmp_path / "store" / "f"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sweeps.study.throughput",
            str(export),
            "--seconds",
            "0.5",
            "--repeats",
            "2",
            "--data",
            str(mnist_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    alone = pd.read_csv(export / "throughput.csv")
    assert (
        sorted(alone["variant"]) == ["dcgan", "gan"]
        and (alone["windows"] == 2).all()
        and (alone["threads"] == 1).all()
    )
    assert (alone["images_per_s_alone_low"] <= alone["images_per_s_alone"]).all() and (
        alone["images_per_s_alone"] > 0
    ).all()
    assert (
        subprocess.run(
            [sys.executable, str(REPO / "sweeps" / "report.py"), str(export)],
            capture_output=True,
            timeout=600,
        ).returncode
        == 0
    )
    fastest = alone.sort_values("images_per_s_alone").iloc[-1]
    assert (
        f"{fastest['variant']} trains fastest ({fastest['images_per_s_alone']:.0f} images/s measured alone)"
        in (export / "report.md").read_text()
    )


def test_the_computing_answer_uses_the_rate_measured_alone_and_the_images_to_quality():
    from sweeps.reporting.axes import computing, findings

    board = pd.DataFrame(
        [
            {
                "variant": v,
                "arm": "best",
                "fid": fid,
                "fid_low": fid - 5,
                "fid_high": fid + 5,
                "seeds": 3,
                "differs_from_top": v != "a",
                "images_per_s": shared,
                "images_per_s_low": shared - 1,
                "images_per_s_high": shared + 1,
                "training_images": 9000,
                "generator_steps": 70,
            }
            for v, fid, shared in (("a", 100.0, 50.0), ("b", 150.0, 300.0), ("c", 200.0, 90.0))
        ]
    )
    ttq = pd.DataFrame(
        [
            {
                "variant": "a",
                "arm": "best",
                "images_to_400": 1000.0,
                "images_to_200": 4000.0,
                "images_to_100": np.nan,
            },
            {
                "variant": "b",
                "arm": "best",
                "images_to_400": 2000.0,
                "images_to_200": 3000.0,
                "images_to_100": np.nan,
            },
            {
                "variant": "c",
                "arm": "best",
                "images_to_400": 500.0,
                "images_to_200": np.nan,
                "images_to_100": np.nan,
            },
        ]
    )
    alone = pd.DataFrame(
        [
            {
                "variant": v,
                "images_per_s_alone": r,
                "images_per_s_alone_low": r - 2,
                "images_per_s_alone_high": r + 2,
            }
            for v, r in (("a", 200.0), ("b", 100.0), ("c", 400.0))
        ]
    )
    said = findings(board, pd.DataFrame(), ttq, alone)["computing time"]
    # fastest alone is c though b was fastest in the shared stage; 200 is the hardest threshold two
    # variants reach
    assert said == (
        "c trains fastest (400 images/s measured alone), b slowest (100). "
        "To FID 200, b needs the fewest images "
        "(3,000 on average, 30 s alone); 1 of 3 variants never reach it in the budget."
    )
    # a measurement that leaves a variant out cannot rank them: the final stage's rates do
    assert findings(board, pd.DataFrame(), ttq, alone[alone["variant"] != "c"])["computing time"].startswith(
        "b trains fastest (300 images/s in"
    )
    table = computing(board, ttq, alone).set_index("variant")
    assert (
        table.at["a", "images_per_s_alone"] == "200 [198, 202]"
        and table.at["a", "seconds_alone_to_200"] == 20.0
    )
    assert findings(board, pd.DataFrame(), ttq)["computing time"].startswith(
        "b trains fastest (300 images/s in the final stage, trials sharing the machine), a slowest (50)."
    )


def test_the_classification_answer_shows_the_discriminators_accuracy_beside_the_evaluators():
    from sweeps.reporting.axes import classification

    board = pd.DataFrame(
        [
            {
                "variant": v,
                "arm": "best",
                "fid": f,
                "classifier_score": c,
                "classifier_score_low": c - 1,
                "classifier_score_high": c + 1,
            }
            for v, f, c in (("a", 100.0, 8.0), ("b", 200.0, 5.0))
        ]
    )
    stable = pd.DataFrame(
        [
            {"variant": "a", "d_acc_real_last": 0.7, "d_acc_fake_last": 0.6, "d_saturated_share": 0.0},
            {"variant": "b", "d_acc_real_last": 0.99, "d_acc_fake_last": 0.98, "d_saturated_share": 0.5},
        ]
    )
    table = classification(board, stable).set_index("variant")
    assert table.at["a", "classifier_score"] == "8 [7, 9]" and table.at["b", "d_saturated_share"] == 0.5


def test_evaluator_agreement_is_the_rank_correlation_of_the_variants_fids():
    from sweeps.study.evaluator_agreement import agreement

    rows = [
        {"variant": v, "evaluator": e, "fid": fid}
        for v, fids in {"a": (10, 100), "b": (20, 300), "c": (30, 200), "d": (40, 400)}.items()
        for e, fid in zip(("main", "second"), fids)
    ]
    found = agreement(pd.DataFrame(rows))
    assert found["variants"] == 4 and found["same_winner"]
    assert found["spearman_rho"] == pytest.approx(0.8)  # one swap among four: 1 - 6*2/(4*15)
    assert found["kendall_tau"] == pytest.approx(2 / 3)
    assert found["ranks"]["second"] == {"a": 1, "b": 3, "c": 2, "d": 4}
    # every one of the 24 pairings is counted: |rho| >= 0.8 for the identity, the reversal and 3 swaps each
    assert found["spearman_p"] == pytest.approx(8 / 24)


def test_spearmans_p_for_a_perfect_ranking_is_the_chance_of_drawing_it_not_zero():
    from sweeps.study.evaluator_agreement import spearman_p

    assert spearman_p(range(5), range(5)) == pytest.approx(
        2 / 120
    )  # the identity or the reversal, of 5! pairings
    assert (
        0 < spearman_p(range(11), range(11)) < 1e-4
    )  # 11! pairings: sampled, never below 1 / (resamples + 1)


def test_the_report_states_the_evaluators_agreement_with_both_rankings(tmp_path):
    from sweeps.reporting.axes import load_agreement
    from sweeps.study.evaluator_agreement import agreement

    rows = pd.DataFrame(
        [
            {"variant": v, "evaluator": e, "fid": fid}
            for v, fids in {"a": (10, 300), "b": (20, 100), "c": (30, 200)}.items()
            for e, fid in zip(("main", "second"), fids)
        ]
    )
    rows.to_csv(tmp_path / "evaluator_agreement.csv", index=False)
    (tmp_path / "evaluator_agreement.json").write_text(json.dumps(agreement(rows)))
    found = load_agreement(tmp_path)
    assert found["sentence"].startswith(
        "The 3 variants' best generators rank differently under the two evaluators (the second: "
        "another architecture and seed): Spearman's rho -0.500"
    )
    assert found["sentence"].endswith("the two put different variants first.")
    assert list(found["table"]["variant"]) == ["a", "b", "c"] and list(found["table"]["rank, second"]) == [
        3,
        1,
        2,
    ]
    assert load_agreement(tmp_path / "nothing") is None


def test_evaluator_agreement_on_a_folder_without_generators_is_refused_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sweeps.study.evaluator_agreement", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: no exported generators in {tmp_path / 'best'}: give a sweep's export folder"
    ]
