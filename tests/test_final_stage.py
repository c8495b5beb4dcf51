"""The final stage (sweeps/study/final_stage.py) and its statistics (sweeps/study/analysis.py):
medians and intervals over seeds that stay in their support, the tests within each family, the
winners and time-to-quality, on tables whose answers are known; and the stage end to end on a tiny
sweep."""

from __future__ import annotations

import json
import math
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sweeps.search import presets
from sweeps.search.spaces import paper_defaults_point
from sweeps.study.analysis import VERDICT, collapsed_runs, leaderboard, time_to_quality, winners, write

REPO = Path(__file__).resolve().parents[1]


def runs_table(fids: dict, **columns) -> pd.DataFrame:
    """One run a seed of each (variant, arm) with the given FIDs; `columns`: other figures, a list
    per (variant, arm) or one value for every run."""
    rows = []
    for (variant, arm), values in fids.items():
        for seed, fid in enumerate(values):
            row = {
                "variant": variant,
                "arm": arm,
                "seed": seed,
                "fid": fid,
                "training_images": 1000,
                "generator_steps": 10,
                "diverged": False,
                "images_per_s": 100.0,
                "classes_covered": 10,
            }
            for name, given in columns.items():
                row[name] = given[(variant, arm)][seed] if isinstance(given, dict) else given
            rows.append(row)
    return pd.DataFrame(rows)


def test_the_leaderboard_ranks_each_family_by_median_and_marks_only_gaps_beyond_noise():
    table = runs_table(
        {
            ("gan", "best"): [100, 101, 99, 100, 102, 98],
            ("dcgan", "best"): [150, 151, 149, 150, 152, 148],
            ("lsgan", "best"): [80, 140, 110, 120, 90, 105],
        }
    )
    board = leaderboard(table)
    assert list(board["variant"]) == ["gan", "lsgan", "dcgan"]
    assert list(board["leader"]) == [True, False, False]
    assert board.loc[0, "fid"] == 100.0  # the median, not the mean
    assert list(board["differs"]) == [False, False, True]  # lsgan's spread covers gan's; dcgan is clear of it
    assert board.loc[0, "fid_low"] <= 100 <= board.loc[0, "fid_high"]
    assert (board.loc[0, ["fid_q1", "fid_q3", "fid_min", "fid_max"]] == [99.25, 100.75, 98.0, 102.0]).all()


def test_intervals_of_a_bounded_figure_stay_inside_its_bounds_and_the_seeds_range():
    # three seeds spread across recall's range: mean plus or minus t gives [-0.63, 1.66]
    recall = {("gan", "best"): [0.1, 0.5, 0.95]}
    fids = {("gan", "best"): [10.0, 100.0, 600.0]}  # and an FID whose t interval goes below 0
    row = leaderboard(runs_table(fids, recall=recall)).iloc[0]
    assert row["recall"] == 0.5 and 0.1 <= row["recall_low"] <= 0.5 <= row["recall_high"] <= 0.95
    assert 10.0 <= row["fid_low"] <= row["fid"] <= row["fid_high"] <= 600.0
    assert (row["recall_min"], row["recall_max"]) == (0.1, 0.95)


def test_a_rounding_past_a_bound_is_snapped_onto_it_and_a_figure_far_outside_is_refused():
    fids = {("gan", "best"): [10.0, 20.0, 30.0]}
    scores = {("gan", "best"): [1 - 1e-12, 5.0, 9.0]}  # one-class samples: exp of a KL a hair under 0
    row = leaderboard(runs_table(fids, classifier_score=scores)).iloc[0]
    assert row["classifier_score_min"] == 1.0 and row["classifier_score_low"] >= 1.0
    with pytest.raises(ValueError, match="support"):
        leaderboard(runs_table(fids, recall={("gan", "best"): [0.5, 0.6, 1.2]}))


def test_a_seed_without_a_finite_fid_ranks_worst_unless_its_run_failed():
    # seed 1 failed (an error: left out, counted); seed 3 diverged (no figure: ranked worst)
    failed = {("gan", "best"): [False, True, False, False], ("dcgan", "best"): [False] * 3}
    table = runs_table(
        {("gan", "best"): [100.0, math.nan, 200.0, math.nan], ("dcgan", "best"): [300.0] * 3}, failed=failed
    )
    board = leaderboard(table).set_index("variant")
    assert board.at["gan", "seeds"] == 4 and board.at["gan", "non_finite"] == 2
    assert board.at["gan", "fid"] == 200.0 and board.at["gan", "fid_max"] == math.inf
    assert board.at["dcgan", "non_finite"] == 0
    assert board.at["dcgan", "verdict"] == (
        "cannot be told apart at n=3 vs 3 (no difference is detectable: the smallest attainable p is 0.1)"
    )


def test_a_variant_that_mostly_diverged_does_not_lead_on_the_seed_that_survived(tmp_path):
    from sweeps.study.analysis import search_gain

    table = runs_table(
        {
            ("gan", "best"): [5.0] + [math.nan] * 9,  # one good seed, nine diverged
            ("dcgan", "best"): [6.0 + i / 10 for i in range(10)],
            ("dcgan", "defaults"): [math.nan] * 4 + [30.0, 31.0],  # four of six diverged
        }
    )
    board = leaderboard(table).set_index(["variant", "arm"])
    assert board["leader"].idxmax() == ("dcgan", "best")
    assert board.at[("gan", "best"), "fid"] == math.inf and board.at[("gan", "best"), "differs"]
    assert board.at[("gan", "best"), "prob_best"] < 0.001  # a resample drawing its good seed 6 times of 10
    # the diverged defaults count against them: six worse than all ten best seeds
    gain = search_gain(table).set_index("variant")
    assert gain.at["dcgan", "defaults_seeds"] == 6 and gain.at["dcgan", "p"] == pytest.approx(2 / 8008)
    assert gain.at["dcgan", "verdict"].startswith("the search's best lower")
    assert (
        winners(table).set_index(["family", "axis"]).at[("unconditional", "image quality"), "variant"]
        == "dcgan"
    )


def test_six_fully_separated_seeds_a_side_differ_with_the_holm_p_shown():
    table = runs_table({("gan", "best"): np.arange(6.0) + 50, ("dcgan", "best"): np.arange(6.0) + 90})
    row = leaderboard(table).set_index("variant").loc["dcgan"]
    assert row["p_vs_leader"] == pytest.approx(2 / 924) and row["p_holm"] == pytest.approx(2 / 924)
    assert row["verdict"] == "differs (Holm p=0.0022)" and row["differs"]
    assert row["cliffs_delta"] == 1.0 and row["ratio_of_medians"] == pytest.approx(92.5 / 52.5)


def test_conditional_variants_are_ranked_and_tested_only_among_themselves():
    table = runs_table(
        {
            ("gan", "best"): [10.0, 11.0, 12.0, 13.0],
            ("dcgan", "best"): [20.0, 21.0, 22.0, 23.0],
            ("cgan", "best"): [30.0, 31.0, 32.0, 33.0],  # worse than gan, yet its family's leader
            ("acgan", "best"): [40.0, 41.0, 42.0, 43.0],
            ("acgan", "defaults"): [50.0, 51.0, 52.0, 53.0],
        }
    )
    board = leaderboard(table).set_index(["variant", "arm"])
    assert list(board.index.get_level_values("variant")) == ["gan", "dcgan", "cgan", "acgan", "acgan"]
    assert board.loc[("cgan", "best"), "leader"] and board.loc[("gan", "best"), "leader"]
    assert board.loc[("cgan", "best"), "family"] == "conditional" == board.loc[("acgan", "best"), "family"]
    # acgan against cgan, not gan: the ratio of its medians to cgan's; Holm over the two conditional rows
    assert board.loc[("acgan", "best"), "ratio_of_medians"] == pytest.approx(41.5 / 31.5)
    assert board.loc[("acgan", "best"), "p_holm"] == pytest.approx(2 * 2 / 70)
    assert board.loc[("dcgan", "best"), "p_holm"] == pytest.approx(2 / 70)  # a family of one comparison
    assert board.loc[("gan", "best"), "prob_best"] == 1.0 == board.loc[("cgan", "best"), "prob_best"]


def test_defaults_made_of_the_best_runs_take_their_verdict_and_stay_out_of_the_holm_family():
    a, b = [100.0, 101.0, 99.0, 98.0], [103.0, 104.5, 102.0, 105.0]
    # 4 vs 4 separated: p = 2/70 = 0.029, significant alone; not if a copy doubled the family
    table = runs_table({("gan", "best"): a, ("dcgan", "best"): b, ("dcgan", "defaults"): b})
    table["same_runs_as_best"] = table["arm"] == "defaults"
    board = leaderboard(table)
    assert list(board["arm"]) == ["best", "best", "defaults"]  # a copy ties with its best row and follows it
    board = board.set_index(["variant", "arm"])
    best, copy = board.loc[("dcgan", "best")], board.loc[("dcgan", "defaults")]
    assert best["p_holm"] == pytest.approx(2 / 70) and best["verdict"] == "differs (Holm p=0.029)"
    assert (copy[VERDICT] == best[VERDICT]).all() and not copy["leader"]


def test_collapsed_counts_a_seed_that_covers_nine_classes():
    classes = {("gan", "best"): [10, 9, 10], ("dcgan", "best"): [10, 10, 10]}
    table = runs_table(
        {("gan", "best"): [50.0, 52.0, 51.0], ("dcgan", "best"): [60.0, 61.0, 200.0]}, classes_covered=classes
    )
    board = leaderboard(table).set_index("variant")
    assert board.at["gan", "collapsed"] == 1 and board.at["dcgan", "collapsed"] == 1  # 200 > 2 x 61
    assert collapsed_runs(table).tolist() == [False, True, False, False, False, True]


def test_the_winners_are_picked_within_each_family_on_every_axis():
    table = runs_table(
        {
            ("gan", "best"): [10.0, 11.0, 12.0],
            ("dcgan", "best"): [20.0, 21.0, 22.0],
            ("dcgan", "defaults"): [1.0, 1.5, 2.0],  # not a best configuration: never a winner
            ("cgan", "best"): [30.0, 31.0, 32.0],
            ("acgan", "best"): [40.0, 41.0, 42.0],
        },
        classifier_score={
            ("gan", "best"): [5.0] * 3,
            ("dcgan", "best"): [6.0] * 3,
            ("dcgan", "defaults"): [9.0] * 3,
            ("cgan", "best"): [8.0] * 3,
            ("acgan", "best"): [9.0] * 3,
        },
        cas={
            ("gan", "best"): [math.nan] * 3,
            ("dcgan", "best"): [math.nan] * 3,
            ("dcgan", "defaults"): [math.nan] * 3,
            ("cgan", "best"): [0.9] * 3,
            ("acgan", "best"): [0.8] * 3,
        },
    )
    found = winners(table).set_index(["family", "axis"])
    assert found.loc[("unconditional", "image quality"), "variant"] == "gan"
    assert found.loc[("unconditional", "classification"), "variant"] == "dcgan"
    assert found.loc[("conditional", "image quality"), "variant"] == "cgan"
    assert found.loc[("conditional", "classification"), "variant"] == "acgan"
    assert found.loc[("conditional", "classification accuracy score"), "variant"] == "cgan"
    assert ("unconditional", "classification accuracy score") not in found.index  # no CAS there
    quality = found.loc[("unconditional", "image quality")]
    assert quality["median"] == 11.0 and 10.0 <= quality["low"] <= 11.0 <= quality["high"] <= 12.0
    assert quality["prob_best"] == 1.0 and quality["runner_up"] == "dcgan"


def test_the_final_stage_writes_a_table_a_family_and_the_winners(tmp_path):
    table = runs_table({("gan", "best"): [10.0, 11.0, 12.0], ("cgan", "best"): [30.0, 31.0, math.nan]})
    write(tmp_path, table, pd.DataFrame())
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert markdown.index("## Unconditional variants") < markdown.index("## Conditional variants")
    assert (
        "FID median [95% interval]" in markdown and "| 3 (1 without a finite FID, ranked worst) |" in markdown
    )
    assert "| 10.0 to 12.0 |" in markdown and "| 30.0 to inf " in markdown  # min to max: lost run worst
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs["family"]) == ["unconditional"] * 3 + ["conditional"] * 3 and "collapsed" in runs
    assert sorted(pd.read_csv(tmp_path / "winners.csv")["family"].unique()) == [
        "conditional",
        "unconditional",
    ]
    assert "## Conditional variants" in (tmp_path / "winners.md").read_text()
    from sweeps.study import tables

    # the report reads winners.csv back: a family of one has no runner-up, shown empty, not "nan"
    shown = tables.winners_table(pd.read_csv(tmp_path / "winners.csv"))
    assert "nan" not in shown.to_markdown() and (shown["runner-up"] == "").all()


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
    for seed, fids in enumerate([[900, 500, 300, 150], [900, 450, 390, 250], [390, 300, 300, 300]]):
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
    found = time_to_quality(pd.DataFrame(rows), thresholds=(400.0, 250.0, 200.0)).iloc[0]
    # the median of 3000, 3000 and 1000 images (their mean would be 2333)
    assert found["reached_400"] == 3 and found["images_to_400"] == 3000 and found["seconds_to_400"] == 30.0
    # two of three got there: the third counts as later than both, the median is the second's
    assert found["reached_250"] == 2 and found["images_to_250"] == 4000 and found["seconds_to_250"] == 40.0
    # one of three: the median seed never got there (the one that did would flatter the variant)
    assert (
        found["reached_200"] == 1
        and math.isnan(found["images_to_200"])
        and math.isnan(found["seconds_to_200"])
    )


def test_the_final_stage_retrains_best_and_defaults_over_seeds_and_ranks_them(
    shared_sweep, mnist_path, tmp_path
):
    store, _, _, result = shared_sweep
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # a variant whose search's best is its papers' defaults trains those once (both rows read them)
    fixed = presets.get("smoke").fixed
    once = sorted(
        v
        for v in ("dcgan", "gan")
        if {
            k: x
            for k, x in json.loads((store / "s" / "best" / v / "config.json").read_text())[
                "hyperparameters"
            ].items()
            if k not in fixed
        }
        == paper_defaults_point(v, fixed)
    )
    said = f"; {', '.join(once)}: the best is the papers' defaults, trained once" if once else ""
    assert (
        f"final stage: {2 * (4 - len(once))} runs (best x 2 seeds, papers' defaults x 2{said}), "
        "1,600 training images each; 1 seeds of each best on to 3,200" in result.stdout
    )
    assert "final stage, ladder: dcgan, gan (2 runs) on from 3,200 to 4,800 training images" in result.stdout
    final = store / "s" / "final"
    every = pd.read_csv(final / "runs.csv")
    runs = every[every["budget_images"] == 1600]
    assert len(runs) == 8 and set(runs["seed"]) == {0, 1} and set(runs["arm"]) == {"best", "defaults"}
    for variant in once:
        mine = runs[runs["variant"] == variant].set_index(["arm", "seed"])["fid"]
        assert list(mine["defaults"]) == list(mine["best"])
    assert (runs["training_images"] == 1600).all() and (runs["fid"] > 0).all()  # one budget for every run
    # the ladder: seed 0 of each best scored again at 3,200 and, continued, at 4,800 images
    for budget in (3200, 4800):
        longer = every[every["budget_images"] == budget]
        assert sorted(longer["variant"]) == ["dcgan", "gan"] and set(longer["seed"]) == {0}
        assert (longer["training_images"] == budget).all() and (longer["fid"] > 0).all()
    histories = pd.read_csv(final / "histories.csv")
    reports = histories[(histories["arm"] == "best") & (histories["seed"] == 0)].groupby("variant")["round"]
    assert all(sorted(r) == [1, 2, 3] for _, r in reports)  # one run, continued: no round twice
    assert (histories["fid_on"] == "test split").all()  # a ladder's reports score the test split
    assert set(pd.read_csv(final / "ladder.csv")["budget_images"]) == {1600, 3200, 4800}
    assert len(pd.read_csv(final / "order.csv")) == 3
    # every finished run's generator and grid, at the budget it ran to
    kept = sorted(path.name for path in (final / "runs").iterdir())
    assert {"gan_best_s0_4800", "dcgan_best_s0_3200", "gan_best_s1_1600"} <= set(kept)
    assert all((final / "runs" / name / "samples.png").is_file() for name in kept)
    # the family winner's median seed at its longest budget, for anyone to score again
    (winner,) = (final / "generators").iterdir()
    record = json.loads((winner / "metrics.json").read_text())
    assert (record["budget_images"], record["seed"], record["family"]) == (4800, 0, "unconditional")
    command = shlex.split(record["rescore"][f"{winner.name}_generator.h5"]["command"])
    assert record["rescore_from"].startswith("this folder")
    rescored = subprocess.run(
        [sys.executable, *command[1:], "--data", str(mnist_path), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=winner,  # the folder moves (docs/results/): its command names no path outside it
    )
    assert rescored.returncode == 0, rescored.stderr[-3000:]
    assert json.loads(rescored.stdout)["fid"] == pytest.approx(record["run"]["fid"], rel=1e-3)
    # the report lists it, with the command to run from the report's folder
    from sweeps.reporting.axes import winners_generators

    listed = winners_generators(final).iloc[0]
    assert (listed["variant"], listed["file"]) == (winner.name, f"{winner.name}_generator.h5")
    assert (
        listed["score it again"]
        == f"cd final/generators/{winner.name} && {record['rescore'][listed['file']]['command']}"
    )
    assert listed["FID"] == record["run"]["fid"]
    # the headline: the longest budget both variants reached, the ladder's last here
    board = pd.read_csv(final / "leaderboard.csv")
    assert len(board) == 2 and (board["seeds"] == 1).all() and list(board["fid"]) == sorted(board["fid"])
    assert (board["budget_images"] == 4800).all() and (board["arm"] == "best").all()
    # one seed a row: a median without an interval, and none shown
    assert board["fid_low"].isna().all() and board["fid_high"].isna().all() and (board["fid"] > 0).all()
    assert (board["family"] == "unconditional").all() and (board["non_finite"] == 0).all()
    table = (final / "leaderboard.md").read_text()
    assert (final / "time_to_quality.csv").is_file() and "FID median [95% interval]" in table
    assert "## Unconditional variants" in table and "## Conditional variants" not in table
    assert set(pd.read_csv(final / "winners.csv")["variant"]) <= {"gan", "dcgan"}
    # the report answers the four questions from it, each with a finding drawn from its table
    report = (store / "s" / "report.md").read_text()
    for title in (
        "### The winners' generators, to score again",
        "## Final stage at 4,800 training images (median",
        "## Image quality",
        "## Classification accuracy",
        "## Losses (every search trial)",
        "## Computing time",
    ):
        assert title in report
    top = board[board["leader"]].iloc[0]
    assert (
        top["arm"] == "best"
        and f"**At 4,800 training images, among unconditional variants, {top['variant']} has the lowest "
        f"median FID, {top['fid']:.4g} over 1 seed"  # one seed: no interval
        in report
    )
    # images/s measured alone, one variant after another, then the report's computing answer from it,
    # in a copy of the export (the shared sweep's is read by other tests)
    export = tmp_path / "s"
    shutil.copytree(store / "s", export, symlinks=True)
    # as a study's final stage would have trained them: with a weight average, which the rate pays for
    sweep = json.loads((export / "sweep.json").read_text())
    sweep["preset"]["final_ema_half_life"] = 1000
    (export / "sweep.json").write_text(json.dumps(sweep))
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
    assert alone["window_images_per_s"].map(lambda w: len(w.split(";"))).eq(2).all()
    assert (alone["ema_half_life"] == 1000).all()
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
    # the winners' computing time from the same rates, not the final stage's shared ones
    (row,) = [
        line
        for line in (export / "report.md").read_text().splitlines()
        if line.startswith("| computing time (images_per_s_alone, higher is better)")
    ]
    assert row.split("|")[2].strip() == fastest["variant"]


def test_the_search_gain_tests_each_variants_best_against_its_defaults_over_their_seeds(tmp_path):
    from sweeps.study.analysis import search_gain

    table = runs_table(
        {
            ("gan", "best"): [100.0 + i for i in range(10)],
            ("gan", "defaults"): [300.0 + i for i in range(6)],  # the search gained 3x
            ("dcgan", "best"): [50.0, 60, 70, 80, 90, 55, 65, 75, 85, 95],
            ("dcgan", "defaults"): [52.0, 62, 72, 82, 92, 77],  # the same spread
            ("cgan", "best"): [20.0] * 6,
            ("cgan", "defaults"): [20.0] * 6,  # the best's own runs
        }
    )
    table["same_runs_as_best"] = (table["variant"] == "cgan") & (table["arm"] == "defaults")
    gain = search_gain(table).set_index("variant")
    assert sorted(gain.index) == ["dcgan", "gan"]
    assert (gain.at["gan", "best_seeds"], gain.at["gan", "defaults_seeds"]) == (10, 6)
    assert gain.at["gan", "ratio_of_medians"] == pytest.approx(302.5 / 104.5)
    assert gain.at["gan", "cliffs_delta"] == 1.0 and gain.at["gan", "p_holm"] < 0.05
    assert gain.at["gan", "verdict"].startswith("the search's best lower (Holm p=")
    # Holm over the two variants: the adjusted p is at least the raw one
    assert (gain["p_holm"] >= gain["p"]).all() and gain.at["gan", "p_holm"] == pytest.approx(
        2 * gain.at["gan", "p"]
    )
    assert (
        "cannot be told apart at n=6 vs 10 (the test detects a ratio of medians of"
        in gain.at["dcgan", "verdict"]
    )
    assert (gain["best_low"] <= gain["best"]).all() and (gain["best"] <= gain["best_high"]).all()
    write(tmp_path, table.assign(budget_images=1000), pd.DataFrame())
    shown = (tmp_path / "search_gain.md").read_text()
    assert "## Unconditional variants" in shown and "| 10, 104.5 [" in shown


def test_the_computing_time_winner_is_the_fastest_measured_alone_not_in_the_shared_stage():
    """In the final stage runs share the machine; the winners' computing time comes from the
    timed windows of sweeps.study.throughput where they exist, compared by Mann-Whitney."""
    from sweeps.study import tables
    from sweeps.study.analysis import winners, with_alone_rates

    table = runs_table(
        {("gan", "best"): [30.0] * 6, ("dcgan", "best"): [20.0] * 6, ("cgan", "best"): [10.0] * 6},
        images_per_s={
            ("gan", "best"): [900.0] * 6,
            ("dcgan", "best"): [100.0] * 6,
            ("cgan", "best"): [50.0] * 6,
        },
    )
    shared = winners(table)
    assert shared.set_index(["family", "axis"]).at[("unconditional", "computing time"), "variant"] == "gan"
    alone = pd.DataFrame(
        {
            "variant": ["gan", "dcgan"],
            "window_images_per_s": [";".join(["400"] * 6), "800;810;790;805;795;800"],
        }
    )
    variants = ["gan", "dcgan", "cgan"]
    found = {(r["family"], r["axis"]): r for _, r in with_alone_rates(shared, alone, variants).iterrows()}
    fastest = found[("unconditional", "computing time")]
    assert (fastest["variant"], fastest["metric"], fastest["median"]) == (
        "dcgan",
        "images_per_s_alone",
        800.0,
    )
    assert fastest["runner_up"] == "gan" and fastest["runner_up_verdict"].startswith("differs")
    # the other axes, and a family without windows, keep the final stage's answer
    assert found[("unconditional", "image quality")]["variant"] == "dcgan"
    assert found[("conditional", "computing time")]["metric"] == "images_per_s"
    assert with_alone_rates(shared, alone.drop(columns="window_images_per_s"), variants).equals(shared)
    # a family answers from windows only where every variant has them: one diverged while timed,
    # and the family keeps the final stage's answer (the report's finding reads every rate too)
    lost = pd.concat(
        [alone, pd.DataFrame({"variant": ["sngan"], "window_images_per_s": [math.nan]})], ignore_index=True
    )
    kept = with_alone_rates(shared, lost, [*variants, "sngan"])
    assert (kept["metric"] == "images_per_s_alone").sum() == 0 and len(kept) == len(shared)
    assert "runs sharing the machine" in tables.winners_note(kept)
    mixed = with_alone_rates(shared, alone, variants)
    assert "(images_per_s_alone), or images/s in the final stage" in tables.winners_note(mixed)


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
                "family": "unconditional",
                "leader": v == "a",
                "verdict": "leader" if v == "a" else "differs (Holm p=0.01)",
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
        "(3,000, the median, 30 s alone); 1 of 3 variants' median seeds do not reach it within the budget."
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
                "family": "unconditional",
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
        "The 3 variants' generators (each variant's exported best) rank differently under the two "
        "evaluators (the second: another architecture and seed): Spearman's rho -0.500"
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
        f"error: no generators in {tmp_path / 'best'} or {tmp_path / 'final'}: give a sweep's export folder"
    ]


def test_evaluator_agreement_scores_each_variants_median_seed_at_its_longest_budget_as_the_stage_chose(
    tmp_path,
):
    from sweeps.study.evaluator_agreement import BEST, FINAL, generators

    final = tmp_path / "final"
    (tmp_path / "best" / "a").mkdir(parents=True)
    (tmp_path / "best" / "a" / "a_generator.keras").write_text("")
    rows = []
    # a: 4 seeds at 512,000 (the average chosen there) and 102,400; seed 3 diverged (ranks worst);
    # by the average's FID the lower middle is seed 1, by the weights' it would be seed 2
    for seed, fid, ema in ((0, 30.0, 20.0), (1, 10.0, 25.0), (2, 20.0, 30.0), (3, None, None)):
        rows.append(
            {
                "variant": "a",
                "arm": "best",
                "seed": seed,
                "budget_images": 512_000,
                "fid": fid,
                "ema_fid": ema,
            }
        )
        rows.append(
            {
                "variant": "a",
                "arm": "best",
                "seed": seed,
                "budget_images": 102_400,
                "fid": 1.0,
                "ema_fid": 1.0,
            }
        )
    # b: reached only 102,400 (the weights chosen there); its defaults arm is not scored
    for seed, fid in ((0, 50.0), (1, 40.0), (2, 60.0)):
        rows.append(
            {
                "variant": "b",
                "arm": "best",
                "seed": seed,
                "budget_images": 102_400,
                "fid": fid,
                "ema_fid": 1.0,
            }
        )
        rows.append({"variant": "b", "arm": "defaults", "seed": seed, "budget_images": 102_400, "fid": 1.0})
    # c: its median seed's generator was not kept
    rows.append({"variant": "c", "arm": "best", "seed": 0, "budget_images": 102_400, "fid": 5.0})
    final.mkdir()
    pd.DataFrame(rows).to_csv(final / "runs.csv", index=False)
    (final / "generator_choice.json").write_text(
        json.dumps(
            {
                "generator": "ema",
                "by_budget": [
                    {"budget_images": 102_400, "generator": "weights"},
                    {"budget_images": 512_000, "generator": "ema"},
                ],
            }
        )
    )
    kept = {
        "a": final / "runs" / "a_best_s1_512000" / "a_generator_ema.h5",
        "b": final / "runs" / "b_best_s0_102400" / "b_generator.h5",
    }
    decoys = [
        final / "runs" / "a_best_s1_512000" / "a_generator.h5",
        final / "runs" / "a_best_s2_512000" / "a_generator_ema.h5",
        final / "runs" / "b_best_s1_102400" / "b_generator.h5",
    ]
    for path in [*kept.values(), *decoys]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    assert generators(tmp_path) == (FINAL, kept)
    # without a final stage's generators: the search's exported bests
    for path in [*kept.values(), *decoys]:
        path.unlink()
    assert generators(tmp_path) == (BEST, {"a": tmp_path / "best" / "a" / "a_generator.keras"})


def ladder_run(mnist_path, **run) -> dict:
    fixed = {"width": 0.25, "batch_size": 16}
    return {
        "run": {
            "variant": "gan",
            "data": str(mnist_path),
            "seed": 1,
            "per_class": 10,
            "fixed": fixed,
            "eval_every_images": 64,
            "eval_split": "test",
            "eval_samples": 100,
            "final_eval_samples": 100,
            "cpus_per_trial": 1,
            "gpus_per_trial": 0,
            "scheduler": "none",
            "arm": "best",
            **run,
        },
        "ema_half_life": 1000,
    }


def test_a_ladder_run_is_scored_in_full_at_each_rung_and_a_continued_run_goes_on_from_its_state(
    tmp_path, mnist_path, monkeypatch
):
    """A final-stage run with rungs [1, 2] is scored in full (weights and their average) at both
    and only there, every report carrying the same keys (Ray's progress.csv keeps the first
    report's columns); a run continued from its checkpoint starts from its weights and counters."""
    import numpy as np

    from sweeps.search.trainable import GANTrainable
    from sweeps.study.final_stage import FinalTrainable, results_table

    monkeypatch.setattr(GANTrainable, "placement", {"threads": 0, "gpus_visible": 0})
    monkeypatch.setattr("ray.get_gpu_ids", lambda: [])
    first = FinalTrainable({"final": ladder_run(mnist_path, max_rounds=3, rungs=[1, 3])})
    reports = [first.train() for _ in range(3)]
    assert [r["rung_images"] for r in reports] == [64, 0, 192]
    assert all(set(r) >= {"full_fid", "full_ema_fid", "full_recall"} for r in reports)
    assert np.isnan(reports[1]["full_fid"]) and reports[0]["full_fid"] > 0 and reports[2]["full_ema_fid"] > 0
    assert reports[2]["full_fid"] == reports[2]["final_fid"]  # the end of the budget: the trainable's own
    shares = [[r[f"full_class_{d}"] for d in range(10)] for r in (reports[0], reports[2])]
    assert all(abs(sum(each) - 1) < 1e-3 for each in shares) and np.isnan(reports[1]["full_class_3"])
    checkpoint = first.save(str(tmp_path / "first"))
    weights = [w.copy() for w in first.model.generator.get_weights()]
    # the finished run keeps its weights' average as a generator too, beside the weights
    from ganlib.export import load_generator
    from ganlib.metrics import sample

    files = tmp_path / "first" / "final"
    drawn = {
        kind: sample(load_generator(files / f"gan_generator{kind}.h5"), 8, 0)[0] for kind in ("", "_ema")
    }
    np.testing.assert_allclose(drawn[""], sample(first.model, 8, 0)[0], atol=1e-5)
    assert np.abs(drawn["_ema"] - drawn[""]).max() > 1e-3
    first.stop()

    later = FinalTrainable(
        {"final": ladder_run(mnist_path, max_rounds=4, rungs=[4], continue_from=str(tmp_path / "first"))}
    )
    assert checkpoint and later.rounds == 3 and later.images == 192 and later.replaced == ""
    assert all(np.array_equal(a, b) for a, b in zip(weights, later.model.generator.get_weights()))
    report = later.train()
    assert report["training_images"] == 256 and report["rung_images"] == 256 and report["full_fid"] > 0
    later.stop()

    # the table: one row per run and rung, the average's figures beside the weights'
    from types import SimpleNamespace

    grid = [
        SimpleNamespace(
            config={"final": ladder_run(mnist_path, max_rounds=3, rungs=[1, 3])},
            metrics=reports[-1],
            metrics_dataframe=pd.DataFrame(reports),
            error=None,
        )
    ]
    table, _ = results_table(grid)
    assert list(table["budget_images"]) == [64, 192]
    assert table.loc[1, "fid"] == reports[2]["full_fid"]
    assert table.loc[0, "ema_fid"] == reports[0]["full_ema_fid"]
    assert table.loc[1, "class_7"] == reports[2]["full_class_7"]


@pytest.mark.integration
def test_a_final_stage_run_scores_its_weight_average_with_the_cas_too(mnist_path, monkeypatch):
    """The average is scored on every figure the weights are, the CAS too, at a rung (FinalTrainable)
    and at the end of the budget (the trainable's own full evaluation)."""
    from sweeps.search.trainable import GANTrainable
    from sweeps.study.final_stage import FinalTrainable

    monkeypatch.setattr(GANTrainable, "placement", {"threads": 0, "gpus_visible": 0})
    monkeypatch.setattr("ray.get_gpu_ids", lambda: [])
    run = FinalTrainable(
        {"final": ladder_run(mnist_path, max_rounds=2, rungs=[1, 2], cas_every_generator=True)}
    )
    reports = [run.train() for _ in range(2)]
    run.stop()
    assert [r["rung_images"] for r in reports] == [64, 128]
    assert all(0 <= r[f"full_{kind}cas_evaluator"] <= 1 for r in reports for kind in ("", "ema_"))


def test_the_ladder_takes_each_familys_best_on_and_says_whether_the_order_held(tmp_path):
    from sweeps.study.analysis import kept_order, order
    from sweeps.study.final_stage import climbers

    table = runs_table(
        {
            ("gan", "best"): [100, 101, 99],
            ("dcgan", "best"): [90, 91, 89],
            ("lsgan", "best"): [200, 210, 190],
            ("cgan", "best"): [30, 31, 29],
            ("acgan", "best"): [50, 51, 49],
            ("wgan", "defaults"): [10, 11, 9],  # a defaults arm never goes on
        }
    ).assign(budget_images=1000)
    assert climbers(table, 1000, {"conditional": 1, "unconditional": 2}) == ["cgan", "dcgan", "gan"]
    assert climbers(table, 2000, {"unconditional": 2}) == []
    assert kept_order(["dcgan", "gan", "lsgan"], ["dcgan", "gan"])
    assert not kept_order(["dcgan", "gan", "lsgan"], ["gan", "dcgan"])
    assert not kept_order(["dcgan", "gan"], ["dcgan", "wgan"])
    later = table[table["variant"].isin(["gan", "dcgan"])].assign(budget_images=5000)
    later.loc[later["variant"] == "gan", "fid"] = 20.0  # gan overtakes dcgan at the longer budget
    boards = [leaderboard(table[table["arm"] == "best"]), leaderboard(later)]
    found = order(boards, [1000, 5000]).set_index(["family", "budget_images"])
    assert found.loc[("unconditional", 1000), "top"] == "dcgan, gan, lsgan"
    assert not found.loc[("unconditional", 5000), "same_order_as_before"]
    assert found.loc[("unconditional", 5000), "top"] == "gan, dcgan"
    from sweeps.study.tables import order_table

    order(boards, [1000, 5000]).to_csv(tmp_path / "order.csv", index=False)  # as the report reads it
    shown = order_table(pd.read_csv(tmp_path / "order.csv")).set_index(["family", "training images"])
    assert shown.loc[("unconditional", "5,000"), "same order as the budget before"] == "no"
    assert shown.loc[("unconditional", "1,000"), "same order as the budget before"] == ""


def test_the_headline_is_the_longest_budget_every_variant_reached_lost_runs_counted(tmp_path):
    from sweeps.study.analysis import headline_budget, write

    first = runs_table(
        {
            ("gan", "best"): [300, 310, 320],
            ("gan", "defaults"): [500, 510, 520],  # scored at the first budget only
            ("dcgan", "best"): [200, 210, 220],
            ("cgan", "best"): [100, 110, 120],
        }
    ).assign(budget_images=1000)
    tenth = first[first["arm"] == "best"].assign(budget_images=10_000, fid=lambda t: t["fid"] / 4)
    tenth.loc[(tenth["variant"] == "dcgan") & (tenth["seed"] == 2), "fid"] = math.nan  # lost on the way
    thirtieth = tenth[tenth["variant"].isin(["dcgan", "cgan"])].assign(budget_images=30_000)
    table = pd.concat([first, tenth, thirtieth], ignore_index=True)
    assert headline_budget(table) == 10_000
    assert headline_budget(first) == 1000 and headline_budget(first.drop(columns="budget_images")) is None
    board = write(tmp_path, table, pd.DataFrame()).set_index("variant")
    assert (board["budget_images"] == 10_000).all() and set(board["arm"]) == {"best"}
    assert board.at["dcgan", "fid"] == 52.5 and board.at["dcgan", "non_finite"] == 1  # the lost run worst
    assert (pd.read_csv(tmp_path / "leaderboard.csv")["budget_images"] == 10_000).all()
    ladder = pd.read_csv(tmp_path / "ladder.csv")
    assert sorted(set(ladder["budget_images"])) == [1000, 10_000, 30_000]
    assert set(ladder.loc[ladder["budget_images"] == 1000, "arm"]) == {"best", "defaults"}


def test_each_familys_winner_gives_its_median_seeds_generators_at_its_longest_budget(tmp_path, capsys):
    from sweeps.study.final_stage import winner_generators

    short = runs_table(
        {
            ("gan", "best"): [100, 90, 80],
            ("dcgan", "best"): [70, 60, 50],
            ("cgan", "best"): [30, 20, 10],
            ("acgan", "defaults"): [1, 1, 1],  # a defaults arm is never the answer
        },
        cas={("gan", "best"): [0.5] * 3, ("dcgan", "best"): [0.5] * 3, ("cgan", "best"): [0.9] * 3}
        | {("acgan", "defaults"): [0.9] * 3},
    ).assign(budget_images=1000)
    # at the longer budget gan overtakes dcgan; of its 5 seeds one has no finite FID (diverged): it
    # ranks worst, so the median seed is the leaderboard's median, FID 30 (leaving it out would pick
    # the lower middle of the other 4, FID 20); cgan's family
    # reached only the short budget, and was not scored with a CAS there
    longer = runs_table({("gan", "best"): [40, 10, 30, 20, math.nan], ("dcgan", "best"): [45, 44, 43]})
    table = pd.concat([short.assign(cas=math.nan), longer.assign(budget_images=3000)], ignore_index=True)
    table.loc[table["variant"] == "gan", "cas_evaluator"] = 0.8
    for _, row in table.iterrows():
        folder = tmp_path / "runs" / f"{row['variant']}_{row['arm']}_s{row['seed']}_{row['budget_images']}"
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "_ema"):
            (folder / f"{row['variant']}_generator{suffix}.h5").write_text(folder.name + suffix)
    (tmp_path / "generators" / "wgan").mkdir(parents=True)  # an earlier winner's: no answer now
    written = winner_generators(table, tmp_path, 10_000, "/data/my mnist.npz")
    assert sorted(path.name for path in written) == ["cgan", "gan"]
    assert sorted(p.name for p in (tmp_path / "generators").iterdir()) == ["cgan", "gan"]
    gan = json.loads((tmp_path / "generators" / "gan" / "metrics.json").read_text())
    assert (gan["seed"], gan["budget_images"], gan["of_seeds"], gan["run"]["fid"]) == (2, 3000, 5, 30)
    assert (tmp_path / "generators" / "gan" / "gan_generator_ema.h5").read_text() == "gan_best_s2_3000_ema"
    raw, average = gan["rescore"]["gan_generator.h5"], gan["rescore"]["gan_generator_ema.h5"]
    # the file by its name, run from its folder (committed, moved), with no path of this machine
    assert raw["command"] == "python -m ganlib.evaluate gan_generator.h5 --n 10000 --seed 2 --cas"
    assert gan["rescore_from"].startswith("this folder") and "/data/my mnist.npz" in gan["rescore_from"]
    assert (raw["reproduces"], average["reproduces"]) == ("fid", "ema_fid")
    cgan = json.loads((tmp_path / "generators" / "cgan" / "metrics.json").read_text())
    assert (cgan["seed"], cgan["budget_images"], cgan["family"]) == (1, 1000, "conditional")
    assert not cgan["rescore"]["cgan_generator.h5"]["command"].endswith("--cas")

    # a family without one finite FID has no winner; a winner's missing folder is said, not hidden
    lost = table.copy()
    lost.loc[lost["variant"].isin(["gan", "cgan"]), "fid"] = math.nan
    lost = lost[~((lost["variant"] == "dcgan") & (lost["budget_images"] == 1000))]
    for path in (tmp_path / "runs").glob("dcgan_best_s1_3000"):
        shutil.rmtree(path)
    assert winner_generators(lost, tmp_path, 10_000, None) == []
    said = capsys.readouterr().out
    assert "no generator in" in said and "conditional's best median FID is not finite" in said
    assert winner_generators(table.iloc[:0], tmp_path, 10_000, None) == []


def test_the_headline_scores_the_weight_average_only_where_it_is_significantly_better():
    from sweeps.study.analysis import generator_choice

    fids = {("gan", "best"): [100.0, 110, 120, 130], ("dcgan", "best"): [60.0, 70, 80, 90]}
    table = runs_table(fids).assign(budget_images=1000)
    table["ema_fid"] = table["fid"] * 0.9  # lower in all 8 runs: two-sided p = 2 / 2^8
    found = generator_choice(table, 1000)
    assert found["generator"] == "ema" and found["lower_in"] == 8 and found["runs"] == 8
    assert found["median_ratio"] == pytest.approx(0.9) and found["wilcoxon_p"] == pytest.approx(2 / 256)
    # lower in 5 of 8 by small amounts, higher in 3 by more: not better
    table["ema_fid"] = table["fid"] * np.array([0.99, 0.99, 0.99, 0.99, 0.99, 1.2, 1.2, 1.2])
    assert generator_choice(table, 1000)["generator"] == "weights"
    # much worse everywhere: a significant difference the wrong way keeps the weights
    table["ema_fid"] = table["fid"] * 3
    assert generator_choice(table, 1000)["generator"] == "weights"
    few = table.iloc[:5].assign(ema_fid=lambda t: t["fid"] * 0.5)  # p cannot go under 0.0625
    said = generator_choice(few, 1000)
    assert said["generator"] == "weights" and "too few" in said["why"]
    assert generator_choice(table.drop(columns="ema_fid"), 1000)["generator"] == "weights"
    # only the headline budget's runs decide
    later = table.assign(budget_images=5000, ema_fid=lambda t: t["fid"] * 0.8)
    assert generator_choice(pd.concat([table, later]), 1000)["generator"] == "weights"
    # the signed ranks decide the direction: 26 runs a little lower and 24 much higher have a median
    # ratio under 1, yet the average is significantly worse
    mixed = runs_table({("gan", "best"): [100.0] * 50}).assign(budget_images=1000)
    mixed["ema_fid"] = [100.0 * math.exp(-0.001 * (i + 1)) for i in range(26)] + [150.0] * 24
    said = generator_choice(mixed, 1000)
    assert said["median_ratio"] < 1 and said["wilcoxon_p"] < 0.05 and said["generator"] == "weights"
    # a defaults row made of its best row's runs is one pair, not two
    copies = table[table["variant"] == "gan"].assign(arm="defaults", same_runs_as_best=True)
    doubled = pd.concat([table.assign(same_runs_as_best=False, ema_fid=table["fid"] * 0.9), copies])
    assert generator_choice(doubled, 1000)["runs"] == 8


def test_a_winning_weight_average_scores_the_leaderboard_and_picks_the_shipped_seed(tmp_path):
    from sweeps.study.analysis import write
    from sweeps.study.final_stage import winner_generators

    fids = {("gan", "best"): [100.0, 110, 120, 130, 140, 150], ("dcgan", "best"): [60.0, 70, 80, 90, 95, 99]}
    table = runs_table(fids, classes_covered=10).assign(budget_images=1000)
    # the average is lower in every run, and reverses gan's seed order: its median seed is another
    table["ema_fid"] = table["fid"] * 0.9
    table.loc[table["variant"] == "gan", "ema_fid"] = [120.0, 110, 100, 90, 80, 70]
    table["ema_classes_covered"] = 10
    table.loc[(table["variant"] == "dcgan") & (table["seed"] == 0), "ema_classes_covered"] = 9
    # the average was not scored with a CAS: the tables keep the weights' and say so
    table["cas_evaluator"], table["ema_cas_evaluator"] = 0.7, math.nan
    board = write(tmp_path, table, pd.DataFrame()).set_index("variant")
    choice = json.loads((tmp_path / "generator_choice.json").read_text())
    assert choice["generator"] == "ema" and choice["weights_only"] == ["cas_evaluator"]
    assert (board["cas_evaluator"] == 0.7).all()
    assert (board["generator"] == "ema").all()
    assert board.at["gan", "fid"] == 95.0 and board.at["dcgan", "fid"] == pytest.approx(0.9 * 85)
    assert board.index[0] == "dcgan"  # scored by the average, dcgan still leads
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert runs["fid"].tolist() == table["fid"].tolist()  # both generators' columns kept
    # dcgan's seed 0 collapsed by its average's nine classes, not by its weights': the board counts it
    assert runs["ema_collapsed"].sum() == 1 and runs["collapsed"].sum() == 0
    assert board.at["dcgan", "collapsed"] == 1 and board.at["gan", "collapsed"] == 0
    from sweeps.reporting.figures import drawn_runs, strip_points
    from sweeps.study.analysis import as_scored

    dots = strip_points(drawn_runs(as_scored(runs, "ema")))  # as the report draws them: one hollow
    assert dots.loc[dots["collapsed"], ["variant", "seed"]].values.tolist() == [["dcgan", 0]]
    for _, row in table.iterrows():
        folder = tmp_path / "runs" / f"{row['variant']}_best_s{row['seed']}_1000"
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "_ema"):
            (folder / f"{row['variant']}_generator{suffix}.h5").write_text(folder.name + suffix)
    winner_generators(table[table["variant"] == "gan"], tmp_path, 100, None, generator="ema")
    record = json.loads((tmp_path / "generators" / "gan" / "metrics.json").read_text())
    # the lower middle of the average's six FIDs is 90 (seed 3); by the weights it would be seed 2
    assert (record["seed"], record["run"]["ema_fid"], record["run"]["fid"]) == (3, 90.0, 130.0)
    assert record["generator"] == "ema" and record["headline_file"] == "gan_generator_ema.h5"
    winner_generators(table[table["variant"] == "gan"], tmp_path, 100, None)
    assert json.loads((tmp_path / "generators" / "gan" / "metrics.json").read_text())["seed"] == 2


def test_each_budget_scores_the_generator_its_own_runs_choose(tmp_path):
    """A weight average that still holds its start at the first budget (few generator steps) is
    worse there and better at the longest: the first budget's tables score the weights, the
    longest's the average, as the ladder chose its climbers at each budget."""
    from sweeps.reporting.axes import generator_sentence
    from sweeps.study.analysis import as_chosen, chosen_generators, write
    from sweeps.study.final_stage import winner_generators

    fids = {
        ("gan", "best"): [300.0, 310, 320, 330, 340, 350],
        ("dcgan", "best"): [200.0, 210, 220, 230, 240, 250],
    }
    first = runs_table(fids, classes_covered=10).assign(budget_images=1000)
    first["ema_fid"] = first["fid"] * 3  # worse in every run at the first budget
    defaults = runs_table({("gan", "defaults"): [400.0] * 6}).assign(budget_images=1000)
    defaults["ema_fid"] = defaults["fid"] * 3
    longest = first.assign(budget_images=5000, fid=first["fid"] / 2, ema_fid=first["fid"] / 2 * 0.9)
    # dcgan's average is lower in every seed and reverses their order: its median seed is another
    longest.loc[longest["variant"] == "dcgan", "ema_fid"] = [99.0, 95, 90, 85, 80, 70]
    table = pd.concat([first, defaults, longest], ignore_index=True)
    board = write(tmp_path, table, pd.DataFrame()).set_index("variant")
    choice = json.loads((tmp_path / "generator_choice.json").read_text())
    assert choice["generator"] == "ema" and choice["budget_images"] == 5000
    assert [(c["budget_images"], c["generator"]) for c in choice["by_budget"]] == [
        (1000, "weights"),
        (5000, "ema"),
    ]
    assert board.at["dcgan", "fid"] == 87.5 and (board["generator"] == "ema").all()
    ladder = pd.read_csv(tmp_path / "ladder.csv").set_index(["budget_images", "variant", "arm"])
    assert ladder.at[(1000, "dcgan", "best"), "fid"] == 225.0  # the weights', not 675
    assert ladder.at[(1000, "dcgan", "best"), "generator"] == "weights"
    assert ladder.at[(5000, "gan", "best"), "fid"] == pytest.approx(325 / 2 * 0.9)
    said = (tmp_path / "ladder.md").read_text()
    assert "## 1,000 training images (scored by the weights)" in said
    assert "## 5,000 training images (scored by the weights' moving average)" in said
    gain = pd.read_csv(tmp_path / "search_gain.csv").set_index("variant")
    assert gain.loc["gan", ["best", "defaults"]].tolist() == [325.0, 400.0]  # both arms by the weights
    sentence = generator_sentence(tmp_path)
    assert "score each run's exponential moving average" in sentence
    assert "; at 1,000 training images, each run's generator weights: over the 18 runs" in sentence
    # the report's runs as the tables scored them, row for row
    generators = chosen_generators(tmp_path)
    assert generators == {1000: "weights", 5000: "ema"}
    scored = as_chosen(table, generators)
    assert scored.index.equals(table.index)
    assert scored["fid"].tolist() == [*table["fid"][:18], *table["ema_fid"][18:]]
    shuffled = table.sample(frac=1, random_state=0).set_axis([7] * len(table))  # any order, any index
    again = as_chosen(shuffled, generators)
    assert again.index.equals(shuffled.index)
    expected = shuffled["fid"].where(shuffled["budget_images"] == 1000, shuffled["ema_fid"])
    assert again["fid"].tolist() == expected.tolist()
    # a stage written before budgets chose their own: its one generator for every budget
    old = tmp_path / "old"
    old.mkdir()
    (old / "generator_choice.json").write_text(json.dumps({"generator": "ema", "budget_images": 5000}))
    assert chosen_generators(old) == "ema" and as_chosen(table, "ema")["fid"].equals(table["ema_fid"])
    # the winners' generator: as the family's longest budget chose
    for _, row in table.iterrows():
        folder = tmp_path / "runs" / f"{row['variant']}_{row['arm']}_s{row['seed']}_{row['budget_images']}"
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "_ema"):
            (folder / f"{row['variant']}_generator{suffix}.h5").write_text(folder.name + suffix)
    winner_generators(table, tmp_path, 100, None, generator=generators)
    record = json.loads((tmp_path / "generators" / "dcgan" / "metrics.json").read_text())
    # the lower middle of the average's six FIDs is 85 (seed 3); by the weights it would be seed 2
    assert (record["budget_images"], record["generator"], record["seed"]) == (5000, "ema", 3)
    assert record["headline_file"] == "dcgan_generator_ema.h5"


def test_time_to_quality_at_the_headline_counts_only_the_runs_trained_to_it(tmp_path):
    from sweeps.study.analysis import write

    first = runs_table({("gan", "best"): [300.0] * 4, ("gan", "defaults"): [500.0] * 2}).assign(
        budget_images=1000
    )
    later = first[(first["arm"] == "best") & (first["seed"] < 2)].assign(budget_images=2000, fid=90.0)
    reports = [
        {
            "variant": "gan",
            "arm": arm,
            "seed": seed,
            "budget_images": images,
            "training_images": images,
            "train_seconds": images / 100,
            "fid": fid,
            "fid_on": "test split",  # results_table: the split the run's config scored
        }
        for arm, seeds in (("best", range(4)), ("defaults", range(2)))
        for seed in seeds
        for images, fid in ((1000, 300.0), (2000, 90.0))
        if images == 1000 or (arm == "best" and seed < 2)
    ]
    write(tmp_path, pd.concat([first, later], ignore_index=True), pd.DataFrame(reports))
    found = pd.read_csv(tmp_path / "time_to_quality.csv").set_index("arm")
    # seeds 2 and 3 stopped at the first budget: they are not counted as never reaching FID 100
    assert found.at["best", "seeds"] == 2 and found.at["best", "reached_100"] == 2
    assert "defaults" not in found.index
    assert (found["fid_on"] == "test split").all()  # the figure's label: the split the reports scored


def test_the_goals_are_reported_met_or_not_per_budget_with_lost_runs_not_covering(tmp_path):
    from sweeps.reporting.axes import load_goals
    from sweeps.study.analysis import goals, write

    fids = {
        ("gan", "best"): [14.0, 15, 16, 17, 18],
        ("dcgan", "best"): [30.0, 31, 32, 33, 34],
        ("cgan", "best"): [11.0, 12, 13, 14, 15],
        ("cgan", "defaults"): [11.0, 12, 13, 14, 15],  # the best's own runs: counted once
        ("acgan", "best"): [40.0, 41, 42, 43, math.nan],  # a run lost on the way
    }
    table = runs_table(fids, classes_covered=10).assign(budget_images=1000)
    table["same_runs_as_best"] = (table["variant"] == "cgan") & (table["arm"] == "defaults")
    table.loc[table["fid"].isna(), "classes_covered"] = math.nan
    found = goals(table).set_index("goal")
    assert found.at["best unconditional median FID", "variant"] == "gan"
    assert found.at["best unconditional median FID", "measured"] == 16.0
    assert found.at["best unconditional median FID", "met"]
    assert found.at["best conditional median FID", "measured"] == 13.0
    assert not found.at["best conditional median FID", "met"]
    coverage = found.loc["runs covering all 10 classes"]
    assert coverage["variant"] == "19 of 20 runs" and coverage["met"]  # 95%: the lost run does not cover
    table.loc[(table["variant"] == "gan") & (table["seed"] == 0), "classes_covered"] = 9
    assert not goals(table).set_index("goal").at["final seeds covering all 10 classes", "met"]  # 18 of 20
    write(tmp_path, table, pd.DataFrame())
    said = load_goals(tmp_path)["sentence"]
    assert "best unconditional median FID at 1,000 images: 16 [" in said
    assert "(gan) against <= 20, met" in said
    assert "final seeds covering all 10 classes: 90% (18 of 20 runs, each at its longest budget)" in said
    assert "against >= 95%, not met" in said


def test_the_coverage_goal_counts_every_final_seed_once_at_its_longest_budget():
    """The final seeds are every run at the end of its training, not only the runs of the longest
    budget (the few that climbed there)."""
    from sweeps.study.analysis import goals

    short = runs_table({("gan", "best"): [30.0] * 10, ("dcgan", "best"): [20.0] * 10}, classes_covered=10)
    short = short.assign(budget_images=1000)
    short.loc[(short["variant"] == "dcgan") & (short["seed"] == 0), "classes_covered"] = 9
    long = short[(short["variant"] == "gan") & (short["seed"] < 4)].assign(budget_images=5000)
    long.loc[long["seed"] == 3, "classes_covered"] = 8  # collapsed on the way
    found = goals(pd.concat([short, long], ignore_index=True))
    final = found[found["goal"] == "final seeds covering all 10 classes"].iloc[0]
    assert final["variant"] == "18 of 20 runs, each at its longest budget" and final["measured"] == 0.9
    assert "final seeds of the best configurations covering all 10 classes" not in set(
        found["goal"]
    )  # no other arm
    with_defaults = pd.concat(
        [short, long, short.assign(arm="defaults", classes_covered=5)], ignore_index=True
    )
    shares = goals(with_defaults).set_index("goal")["measured"]
    assert shares["final seeds covering all 10 classes"] == 18 / 40
    assert shares["final seeds of the best configurations covering all 10 classes"] == 0.9
    per_budget = found[found["goal"] == "runs covering all 10 classes"].set_index("budget_images")
    assert per_budget.at[1000, "measured"] == 0.95 and per_budget.at[5000, "measured"] == 0.75


def test_a_resumed_ladder_keeps_the_climbers_and_runs_it_first_chose(tmp_path):
    """On --resume the earlier budget's table can change (a failed run retried and finished); the
    later experiment already holds the first choice's runs, so the first choice stands: its
    variants, and of their runs only those it took (the experiment expects that many)."""
    from sweeps.study.final_stage import kept_ladder_step

    def runs_of(variants, seeds=(0, 1)):
        return [{"run": {"variant": v, "seed": s}} for v in variants for s in seeds]

    uri = str(tmp_path / "store" / "study-final-ladder.json")
    going, configs = kept_ladder_step(uri, 30, ["cgan", "dcgan"], runs_of)
    assert going == ["cgan", "dcgan"] and len(configs) == 4
    # resumed: acgan now leads its family, and a retried dcgan run (seed 2) got through
    going, configs = kept_ladder_step(uri, 30, ["acgan", "dcgan"], lambda v: runs_of(v, (0, 1, 2)))
    assert going == ["cgan", "dcgan"]
    assert sorted((c["run"]["variant"], c["run"]["seed"]) for c in configs) == [
        ("cgan", 0),
        ("cgan", 1),
        ("dcgan", 0),
        ("dcgan", 1),
    ]
    assert kept_ladder_step(uri, 60, ["dcgan"], runs_of)[0] == ["dcgan"]  # another budget: its own
    kept = json.loads((tmp_path / "store" / "study-final-ladder.json").read_text())
    assert sorted(kept) == ["30", "60"] and kept["30"]["runs"][0] == ["cgan", 0]
    assert not [p for p in (tmp_path / "store").iterdir() if p.name.startswith(".partial")]


def test_the_real_data_cas_baseline_trains_on_balanced_training_digits_and_scores_the_test_split(mnist_path):
    from sweeps.study.final_stage import real_baseline

    # 200 digits a class: the CAS protocol (5 epochs from scratch) measured 0.93-0.95 on them
    # (seeds 0-2); 100 a class gave 0.48-0.71
    found = real_baseline(str(mnist_path), 2000, seed=0)
    assert found["n"] == 2000 and 0.85 < found["cas_real"] <= 1.0


def test_a_budget_is_the_planned_one_when_a_step_overshoots_the_round(mnist_path, monkeypatch):
    """WGAN's steps take 64 x n_critic images, which need not divide a round: its rows must carry
    the planned budget (what every variant is compared at), its images trained beside it."""
    from sweeps.search.trainable import GANTrainable
    from sweeps.study.final_stage import FinalTrainable

    monkeypatch.setattr(GANTrainable, "placement", {"threads": 0, "gpus_visible": 0})
    monkeypatch.setattr("ray.get_gpu_ids", lambda: [])
    config = ladder_run(mnist_path, eval_every_images=40, max_rounds=1, rungs=[1])
    trainable = FinalTrainable({"final": config})
    report = trainable.train()
    trainable.stop()
    assert report["training_images"] == 48 and report["rung_images"] == 40  # 3 steps of 16


def test_a_run_lost_before_a_later_budget_is_counted_there_not_at_the_budget_it_reached():
    from types import SimpleNamespace

    from sweeps.study.final_stage import results_table

    history = pd.DataFrame(
        {
            "training_iteration": [1, 2],
            "training_images": [100, 200],
            "rung_images": [100, 0],
            "full_fid": [80.0, math.nan],
            "fid": [80.0, 70.0],
        }
    )
    run = {"variant": "gan", "arm": "best", "seed": 0, "rungs": [1, 3], "eval_every_images": 100}
    grid = [
        SimpleNamespace(
            config={"final": {"run": run}},
            metrics={"diverged": True, "training_images": 200},
            metrics_dataframe=history,
            error=None,
        )
    ]
    table, _ = results_table(grid)
    rows = table.set_index("budget_images")
    assert list(rows.index) == [100, 300]
    assert rows.loc[100, "fid"] == 80.0 and not rows.loc[100, "diverged"]
    assert math.isnan(rows.loc[300, "fid"]) and rows.loc[300, "diverged"]


def test_time_to_quality_follows_images_across_a_continued_runs_restarted_iterations():
    histories = pd.DataFrame(
        {
            "variant": ["gan"] * 4,
            "arm": ["best"] * 4,
            "seed": [0] * 4,
            # a continued run: Ray counts its iterations from 1 again
            "training_iteration": [1, 2, 1, 2],
            "training_images": [100, 200, 300, 400],
            "train_seconds": [1.0, 2.0, 3.0, 4.0],
            "fid": [500.0, 95.0, 90.0, 80.0],
        }
    )
    found = time_to_quality(histories, thresholds=(100.0,)).iloc[0]
    assert found["images_to_100"] == 200.0  # by iterations the continued run's 300 would come first


def test_the_study_preset_with_fewer_seeds_takes_as_many_ladder_seeds_and_none_without_a_final_stage(
    tmp_path, mnist_path
):
    from sweeps.search.plan import plan
    from sweeps.tune_all import build_parser

    common = ["--preset", "study", "--data", str(mnist_path), "--storage", str(tmp_path)]
    setup = plan(build_parser().parse_args([*common, "--final-seeds", "3"]))
    assert setup.ladder == (10, 30) and setup.ladder_seeds == 3
    search_only = plan(build_parser().parse_args([*common, "--final-seeds", "0", "--final-rounds", "40"]))
    assert search_only.ladder == ()


def test_a_run_that_failed_in_its_setup_is_counted_as_the_run_its_folder_names(tmp_path):
    from types import SimpleNamespace

    from sweeps.study.final_stage import results_table

    history = pd.DataFrame(
        {
            "training_iteration": [1],
            "training_images": [100],
            "rung_images": [100],
            "full_fid": [80.0],
            "fid": [80.0],
            "train_seconds": [1.0],
        }
    )
    run = {"variant": "wgan_gp", "arm": "best", "seed": 0, "rungs": [1], "eval_every_images": 100}
    grid = [
        SimpleNamespace(config={"final": {"run": run}}, metrics={}, metrics_dataframe=history, error=None),
        # Ray keeps no config for a trial that failed before its first report
        SimpleNamespace(
            config=None,
            metrics={},
            metrics_dataframe=None,
            error=RuntimeError("setup"),
            path=str(tmp_path / "s-final-wgan_gp-best" / "wgan_gp_best_s1_ab12c_00001"),
        ),
    ]
    table, histories = results_table(grid)
    lost = table[table["seed"] == 1].iloc[0]
    assert (lost["variant"], lost["arm"], bool(lost["failed"])) == ("wgan_gp", "best", True)
    write(tmp_path / "final", table, histories)  # the stage's tables are written with it
    assert (tmp_path / "final" / "runs.csv").is_file()


def test_the_ladder_and_the_leaderboard_rank_a_mostly_diverged_variant_alike():
    from sweeps.study.final_stage import climbers

    diverged = runs_table(
        {
            ("gan", "best"): [5.0] + [math.nan] * 5,  # its one seed that got through is the best of all
            ("dcgan", "best"): [6.0, 7.0, 8.0, 9.0, 10.0, 11.0],
            ("lsgan", "best"): [12.0, 13.0, 14.0, 15.0, 16.0, 17.0],
        }
    ).assign(budget_images=1000)
    assert climbers(diverged, 1000, {"unconditional": 1}) == ["dcgan"]
    assert leaderboard(diverged)["variant"].tolist() == ["dcgan", "lsgan", "gan"]
    # two infinite medians: the better lower half goes first, in the table and on the ladder
    tied = runs_table(
        {("gan", "best"): [5.0, 6.0, math.nan, math.nan], ("dcgan", "best"): [7.0] + [math.nan] * 3}
    ).assign(budget_images=1000)
    board = leaderboard(tied)
    assert board["variant"].tolist() == ["gan", "dcgan"] and board["leader"].tolist() == [True, False]
    assert climbers(tied, 1000, {"unconditional": 1}) == ["gan"]


def test_a_failed_runs_reports_do_not_count_as_never_reaching_a_threshold(tmp_path):
    table = runs_table(
        {("gan", "best"): [90.0, 95.0, math.nan]}, failed={("gan", "best"): [False, False, True]}
    )
    reports = pd.DataFrame(
        [
            {
                "variant": "gan",
                "arm": "best",
                "seed": seed,
                "training_images": images,
                "train_seconds": 1.0,
                "fid": fid,
            }
            for seed in range(3)
            for images, fid in ((100, 300.0), (200, 90.0 if seed < 2 else 400.0))
        ]
    )
    write(tmp_path, table, reports)
    found = pd.read_csv(tmp_path / "time_to_quality.csv").iloc[0]
    assert found["seeds"] == 2 and found["reached_100"] == 2 and found["images_to_100"] == 200


def test_the_record_keeps_the_median_trial_the_winners_generator_will_be_taken_from():
    from types import SimpleNamespace

    from sweeps.study.final_stage import median_trials

    def result(seed, fid, error=None):
        return SimpleNamespace(
            config={"final": {"run": {"variant": "gan", "arm": "best", "seed": seed}}},
            metrics={"full_fid": fid, "full_ema_fid": fid},
            path=f"/storage/study-final-gan-best/gan_best_s{seed}_x",
            error=error,
        )

    # seed 4 diverged (ranked worst), seed 5 failed (left out): the median of 10, 20, 30, 40, inf
    grid = [result(s, f) for s, f in enumerate([40.0, 10.0, 30.0, 20.0, math.nan])]
    grid.append(result(5, 1.0, error=RuntimeError("worker died")))
    assert median_trials(grid) == {"gan_best_s2_x"}


def test_the_record_keeps_the_state_of_the_runs_a_later_budget_may_continue_and_only_theirs():
    from types import SimpleNamespace

    from sweeps.study.final_stage import continuable_trials

    def result(seed, arm="best", rounds=10, error=None, diverged=False, checkpoint=True):
        return SimpleNamespace(
            config={"final": {"run": {"variant": "gan", "arm": arm, "seed": seed, "max_rounds": rounds}}},
            metrics={"diverged": diverged},
            path=f"/storage/study-final-gan-best/gan_{arm}_s{seed}_x",
            error=error,
            checkpoint=SimpleNamespace(path="/c") if checkpoint else None,
        )

    grid = [
        result(0),
        result(1),
        result(2, rounds=2),  # an extra seed that stops at the first budget
        result(3, error=RuntimeError("worker died")),
        result(4, diverged=True),
        result(5, checkpoint=False),
        result(6, arm="defaults", rounds=2),
    ]
    assert continuable_trials(grid) == {"gan_best_s0_x", "gan_best_s1_x"}
    assert continuable_trials([result(0, arm="defaults", rounds=2)]) == frozenset()


def test_a_state_has_served_once_a_recorded_part_went_on_from_it_and_only_that_parts(tmp_path):
    from sweeps.study.final_stage import served

    def recorded(part, trial, continue_from):
        folder = tmp_path / "ray" / part / trial
        folder.mkdir(parents=True)
        run = {"variant": "gan", "seed": 0, **({"continue_from": continue_from} if continue_from else {})}
        (folder / "params.json").write_text(json.dumps({"final": {"run": run}}))

    recorded("s-final-gan-best", "gan_best_s0_a", None)  # a first budget's run: went on from nothing
    recorded("s-final-30-gan", "gan_best_s0_b", "/storage/s-final-gan-best/gan_best_s0_a/checkpoint_000009")
    recorded("s-final-30-gan", "gan_best_s1_b", "/storage/s-final-gan-best/gan_best_s1_a/checkpoint_000009")
    recorded(
        "s-final-30-dcgan", "dcgan_best_s0_b", "/storage/s-final-dcgan-best/dcgan_best_s0_a/checkpoint_000009"
    )
    assert served(tmp_path, "s-final-gan-best") == {"gan_best_s0_a", "gan_best_s1_a"}
    assert served(tmp_path, "s-final-dcgan-best") == {"dcgan_best_s0_a"}
    assert served(tmp_path, "s-final-cgan-best") == frozenset()
    assert served(tmp_path / "no record yet", "s-final-gan-best") == frozenset()
