"""The comparison report, built from a real smoke sweep, and opened in headless Chromium."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_holds_the_sweeps_numbers(smoke_sweep):
    export_dir, result = smoke_sweep
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
def test_report_opens_in_headless_chromium(smoke_sweep):
    from playwright.sync_api import sync_playwright

    export_dir, _ = smoke_sweep
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
            page.screenshot(path=str(export_dir / "report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert images and all(loaded for _, loaded in images), images
    assert sorted(variants) == ["gan", "lsgan"]
    assert (export_dir / "report.png").stat().st_size > 10_000
    print(f"screenshot: {export_dir / 'report.png'}")


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
