"""The comparison report, built from a real smoke sweep (conftest's shared sweep) and opened in
headless Chromium; and its final-stage part, a family at a time, from a final stage whose answers
are known."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_holds_the_sweeps_numbers(sweep_export):
    export_dir, result = sweep_export
    assert result.returncode == 0, result.stderr[-3000:]
    page = (export_dir / "report.html").read_text()
    board = pd.read_csv(export_dir / "leaderboard.csv")
    for _, row in board.iterrows():
        assert f">{row['variant']}<" in page
        assert f"{row['fid']:.4g}" in page  # the leaderboard's FID, as the page prints it
        assert (export_dir / "figures" / f"losses_{row['variant']}.png").is_file()
    assert (export_dir / "figures" / "fid_curves.png").is_file()
    assert (export_dir / "figures" / "best_grids.png").is_file() and 'alt="best grids"' in page
    comparison = pd.read_csv(export_dir / "defaults_vs_best.csv")
    assert sorted(comparison["variant"]) == sorted(board["variant"])
    assert comparison["defaults_sweep_fid"].notna().all()  # every sweep measured the papers' defaults
    for (
        _,
        row,
    ) in comparison.iterrows():  # the best is the export's: the finalist best on the validation slice
        trials = pd.read_csv(export_dir / "trials" / f"{row['variant']}.csv")
        chosen = trials.loc[trials["final_val_fid"].idxmin()]
        assert row["best_hyperparameters"] == chosen["hyperparameters"], row["variant"]
        assert row["best_sweep_fid"] == pytest.approx(chosen["sweep_fid"]), row["variant"]
    markdown = (export_dir / "report.md").read_text()
    assert "## Search leaderboard" in markdown and all(v in markdown for v in board["variant"])
    assert "data:image/png;base64," in page and page.count("<img") >= 2 + 2 * len(board)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_opens_in_headless_chromium(sweep_export, tmp_path):
    from playwright.sync_api import sync_playwright

    export_dir, _ = sweep_export
    errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto((export_dir / "report.html").as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])"
            )
            variants = page.evaluate(
                "Array.from(document.querySelectorAll('#leaderboard tbody tr td:first-child'))"
                ".map(td => td.textContent)"
            )
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert images and all(loaded for _, loaded in images), images
    assert sorted(variants) == ["dcgan", "gan"]
    assert (tmp_path / "report.png").stat().st_size > 10_000
    print(f"screenshot: {tmp_path / 'report.png'}")


def test_the_report_reads_the_study_beside_an_export_read_elsewhere_and_none_where_none_was_kept(tmp_path):
    """An export fetched or copied away from where its sweep ran: its optuna.db beside it is read,
    not the path sweep.json records; with no database anywhere there is no study, and none is made."""
    import optuna

    from sweeps.reporting.importance import load_study

    stale = {"name": "s", "optuna_storage": f"sqlite:///{tmp_path / 'gone' / 'optuna.db'}"}
    assert load_study(stale, "gan", tmp_path) is None
    elsewhere = {"name": "s", "optuna_storage": f"sqlite:///{tmp_path / 'optuna.db'}"}
    assert load_study(elsewhere, "gan") is None and not (tmp_path / "optuna.db").exists()
    export = tmp_path / "export"
    export.mkdir()
    optuna.create_study(study_name="s-gan", storage=f"sqlite:///{export / 'optuna.db'}").enqueue_trial({})
    assert load_study(stale, "gan", export).study_name == "s-gan"
    assert load_study(stale, "wgan", export) is None  # no study of that variant there


def test_an_export_without_its_study_keeps_the_importances_it_was_written_with(tmp_path):
    import optuna

    from sweeps.reporting.importance import importances

    sweep = {"name": "s", "optuna_storage": f"sqlite:///{tmp_path / 'gone.db'}"}
    assert importances(sweep, ["gan"], tmp_path).empty  # nothing stored, nothing kept
    pd.DataFrame({"g_lr": [0.7], "d_lr": [0.3]}, index=["gan"]).to_csv(tmp_path / "importance.csv")
    kept = importances(sweep, ["gan"], tmp_path)
    assert kept.loc["gan", "g_lr"] == 0.7
    study = optuna.create_study(study_name="s-gan", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    for value in range(6):  # a stored study wins over the kept table
        study.add_trial(
            optuna.trial.create_trial(
                params={"g_lr": 1e-4 * (value + 1), "beta1": 0.5},
                distributions={
                    "g_lr": optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True),
                    "beta1": optuna.distributions.FloatDistribution(0.0, 0.9),
                },
                value=float(value),
            )
        )
    fresh = importances(sweep, ["gan"], tmp_path)
    assert "d_lr" not in fresh.columns and "g_lr" in fresh.columns


def final_export(tmp_path):
    """An export folder holding only a final stage, written by analysis.write from runs whose
    answers are known: gan leads the unconditional family (dcgan fully separated from it at 6 vs
    6, lsgan only 3 seeds and overlapping), cgan the conditional one; a dcgan seed diverged."""
    from test_final_stage import runs_table

    from sweeps.study import analysis

    fids = {
        ("gan", "best"): [50.0, 52.0, 51.0, 53.0, 49.0, 54.0],
        ("dcgan", "best"): [90.0, 91.0, 92.0, 93.0, 94.0, 95.0, math.nan],
        ("lsgan", "best"): [45.0, 70.0, 52.0],
        ("lsgan", "defaults"): [45.0, 70.0, 52.0],
        ("cgan", "best"): [20.0, 21.0, 22.0],
        ("acgan", "best"): [30.0, 31.0, 200.0],
    }
    table = runs_table(fids, classifier_score=5.0)
    table["same_runs_as_best"] = (table["variant"] == "lsgan") & (table["arm"] == "defaults")
    analysis.write(tmp_path / "final", table, pd.DataFrame())
    return tmp_path


def test_the_report_answers_a_family_at_a_time_with_medians_and_rank_tests(tmp_path):
    from sweeps.reporting.axes import load_axes
    from sweeps.reporting.page import render_html, render_markdown

    results = final_export(tmp_path)
    (results / "figures").mkdir()
    axes = load_axes(results, {}, {}, results / "figures")
    quality = axes["findings"]["quality"]
    unconditional, conditional = quality.split(" Among conditional variants, ")
    board = axes["board"].set_index(["variant", "arm"])
    interval = f"[{board.at[('gan', 'best'), 'fid_low']:.4g}, {board.at[('gan', 'best'), 'fid_high']:.4g}]"
    assert unconditional.startswith(
        f"Among unconditional variants, gan has the lowest median FID, 51.5 {interval} over 6 seeds (P(best) "
    )
    assert "lsgan cannot be told apart at n=3 vs 6 (the test detects a ratio of medians of " in unconditional
    # 2/C(13, 6) (its seventh run, without a finite FID, ranked worst), doubled in a family of two
    assert "dcgan differs (Holm p=0.0023)" in unconditional
    assert conditional.startswith("cgan has the lowest median FID, 21 [") and "] over 3 seeds" in conditional
    assert "acgan cannot be told apart at n=3 vs 3 (no difference is detectable" in conditional
    assert axes["strip"].is_file() and axes["strip"].name == "fid_strip.png"
    markdown = render_markdown(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), axes)
    assert "median [95% bootstrap interval]" in markdown and "Mann-Whitney" in markdown
    assert "strip plots score each run's generator weights (no weight average was scored)." in markdown
    assert markdown.index("### Unconditional variants") < markdown.index("### Conditional variants")
    assert (
        "| 7 (1 without a finite FID, ranked worst) |" in markdown
        and "![final FID per seed](figures/fid_strip.png)" in markdown
    )
    assert "#### Conditional variants" in markdown  # the winners, a family at a time
    page = render_html(
        pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [], {}, None, None, axes
    )
    assert 'alt="final FID per seed"' in page and "Holm-adjusted within the family" in page
    assert "t interval" not in page + markdown and "Welch" not in page + markdown


def test_the_report_carries_the_precision_control_where_it_was_run(tmp_path):
    from sweeps.reporting.axes import load_axes
    from sweeps.reporting.page import render_html, render_markdown
    from sweeps.study.precision_control import comparison, markdown

    results = final_export(tmp_path)
    (results / "figures").mkdir()
    assert load_axes(results, {}, {}, results / "figures")["precision"] is None
    runs = pd.DataFrame(
        [
            {"variant": "cgan", "precision": precision, "seed": seed, "fid": fid}
            for precision, fids in (("mixed_bfloat16", [20.0, 22.0, 21.0]), ("float32", [30.0, 33.0, 31.0]))
            for seed, fid in enumerate(fids)
        ]
    )
    table = comparison(runs, "mixed_bfloat16", "float32")
    (results / "precision_control.md").write_text(markdown(table, "mixed_bfloat16", "float32", 2))
    axes = load_axes(results, {}, {}, results / "figures")
    report = render_markdown(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), axes)
    assert "\n## FID at mixed_bfloat16 against float32\n" in report
    assert "| cgan | 3 vs 3 | 0 vs 0 | 21.0 [20.0, 22.0] | 31.0 [30.0, 33.0] | 0.677 |" in report
    frames = [pd.DataFrame()] * 4
    page = render_html(*frames, [], {}, None, None, axes)
    assert "<h2>Precision control</h2>" in page and "| cgan | 3 vs 3 |" in page


def test_the_report_says_whether_each_familys_top_3_kept_their_order_along_the_ladder(tmp_path):
    from test_final_stage import runs_table

    from sweeps.reporting.axes import load_axes
    from sweeps.reporting.page import render_html, render_markdown
    from sweeps.study import analysis

    first = runs_table(
        {
            ("dcgan", "best"): [200.0, 210.0, 220.0],
            ("gan", "best"): [300.0, 310.0, 320.0],
            ("lsgan", "best"): [400.0, 410.0, 420.0],
            ("cgan", "best"): [100.0, 110.0, 120.0],
        }
    ).assign(budget_images=1000)
    later = first.assign(budget_images=10_000, fid=lambda t: t["fid"] / 2)
    later.loc[later["variant"] == "gan", "fid"] = [40.0, 41.0, 42.0]  # gan overtakes dcgan
    # the weight average: worse in every run at the first budget, better at the second
    first, later = first.assign(ema_fid=first["fid"] * 3), later.assign(ema_fid=later["fid"] * 0.9)
    analysis.write(tmp_path / "final", pd.concat([first, later], ignore_index=True), pd.DataFrame())
    (tmp_path / "figures").mkdir()
    axes = load_axes(tmp_path, {}, {}, tmp_path / "figures")
    markdown = render_markdown(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), axes)
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in markdown.splitlines()]
    order = {(c[0], c[1]): (c[2], c[-1]) for c in cells if c[0] in ("unconditional", "conditional")}
    assert order[("unconditional", "1,000")] == ("dcgan, gan, lsgan", "")
    assert order[("unconditional", "10,000")] == ("gan, dcgan, lsgan", "no")
    assert order[("conditional", "10,000")] == ("cgan", "yes")
    page = render_html(
        pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [], {}, None, None, axes
    )
    assert "same order as the budget before" in page and "top 3 keep their order" in page
    # each budget's boards name the generator that budget's runs chose
    assert "### 1,000 training images (scored by the weights)" in markdown
    assert "<h3>10,000 training images (scored by the weights&#x27; moving average)</h3>" in page
    assert "at 1,000 training images, each run's generator weights" in axes["generator"]


def test_the_report_says_the_weights_score_the_curves_wherever_a_budget_chose_the_average(tmp_path):
    from sweeps.reporting.axes import generator_sentence

    weights = {"generator": "weights", "budget_images": 1000, "why": "too few runs"}
    averaged = {"generator": "ema", "budget_images": 5000, "why": "lower", "weights_only": ["cas"]}
    (tmp_path / "generator_choice.json").write_text(json.dumps({**weights, "by_budget": [weights, averaged]}))
    said = generator_sentence(tmp_path)
    assert said.startswith("The final stage's tables and strip plots score each run's generator weights")
    assert "at 5,000 training images, each run's exponential moving average" in said
    assert "the FID curves, time to quality, class shares, seeds' grids and CAS are the weights'" in said
    (tmp_path / "generator_choice.json").write_text(json.dumps({**weights, "by_budget": [weights]}))
    assert "are the weights'" not in generator_sentence(tmp_path)


def test_the_report_reads_and_draws_a_final_stage_without_ray_or_tensorflow(tmp_path):
    results = final_export(tmp_path)
    (results / "figures").mkdir()
    # a fresh interpreter: this one has imported Ray for other tests
    script = f"""
import sys
from pathlib import Path

import pandas as pd

import sweeps.report  # noqa: F401  (the command line's own imports)
from sweeps.reporting.axes import load_axes
from sweeps.reporting.page import render_html

results = Path({str(results)!r})
axes = load_axes(results, {{}}, {{}}, results / "figures")
empty = pd.DataFrame()
page = render_html(empty, empty, empty, empty, [], {{}}, None, None, axes)
assert "final FID per seed" in page
print(",".join(m for m in ("ray", "tensorflow", "keras") if m in sys.modules) or "none")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "none"


def test_the_strip_plot_draws_every_finite_seed_once_and_collapsed_ones_hollow(tmp_path):
    from sweeps.reporting.figures import drawn_runs, strip_points

    runs = pd.read_csv(final_export(tmp_path) / "final" / "runs.csv")
    dots = strip_points(drawn_runs(runs))
    assert len(dots) == 6 + 6 + 3 + 3 + 3  # dcgan's diverged seed has no dot; lsgan's copy none either
    assert set(dots["arm"]) == {"best"}
    rows = dots.groupby(["family", "variant"])["row"].first()
    assert rows["unconditional"].sort_values().index.tolist() == ["gan", "lsgan", "dcgan"]
    assert rows["conditional"].sort_values().index.tolist() == ["cgan", "acgan"]
    hollow = dots[dots["collapsed"]]
    assert hollow[["variant", "fid"]].values.tolist() == [["acgan", 200.0]]  # over twice acgan's median
    assert dots.loc[dots["variant"] == "gan", "median"].iloc[0] == 51.5


def test_a_verdict_shared_by_several_variants_is_said_in_the_plural():
    from sweeps.reporting.axes import agreed, names

    assert f"{names(['gan', 'wgan'])} {agreed('differs (Holm p=0.0043)', ['gan', 'wgan'])}" == (
        "gan and wgan differ (Holm p=0.0043)"
    )
    assert agreed("has no finite FID", ["a", "b"]) == "have no finite FID"
    assert agreed("differs (Holm p=0.01)", ["gan"]) == "differs (Holm p=0.01)"
    assert agreed("cannot be told apart at n=6 vs 6", ["a", "b"]) == "cannot be told apart at n=6 vs 6"
