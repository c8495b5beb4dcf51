"""The report's search part (sweeps/reporting/search.py) on tables whose answers are known."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ganlib.divergence import SENTINEL_FID
from sweeps.reporting.search import averaged_against_raw, best_so_far, selection_bias


def test_best_so_far_follows_the_order_trials_started_and_a_diverged_trial_finds_nothing():
    trials = {
        "gan": pd.DataFrame(
            {"trial_id": ["c", "a", "b", "d"], "sweep_fid": [50.0, 300.0, SENTINEL_FID, 80.0]}
        )
    }
    # started a, b, c, d: 300, diverged, 50, 80
    history = pd.DataFrame({"trial_id": ["a", "b", "c", "d", "a"], "timestamp": [1, 2, 3, 4, 9]})
    frame = best_so_far(trials, {"gan": history})
    assert list(frame["trials"]) == [1, 2, 3, 4]
    assert list(frame["best_fid"]) == [300.0, 300.0, 50.0, 50.0]


def test_selection_bias_compares_the_same_finalists_on_few_and_many_samples():
    trials = {
        "gan": pd.DataFrame(
            {
                "trial_id": ["a", "b", "c", "d"],
                "last_fid": [110.0, 100.0, 130.0, 500.0],
                "final_val_fid": [95.0, 98.0, 120.0, math.nan],  # d was stopped early: no finalist
            }
        )
    }
    row = selection_bias(trials).iloc[0]
    assert row["finalists"] == 3 and row["median_difference"] == 10.0
    assert not row["same_pick"]  # b leads on few samples, a on 10,000
    assert abs(row["kendall_tau"] - (2 - 1) / 3) < 1e-12  # one discordant pair of three (a, b)


def test_the_average_is_set_against_the_weights_per_variant_arm_and_budget():
    runs = pd.DataFrame(
        {
            "variant": ["gan"] * 4 + ["cgan"] * 2,
            "arm": ["best"] * 4 + ["best", "defaults"],
            "budget_images": [100, 100, 100, 200, 100, 100],
            "fid": [10.0, 20.0, 30.0, 5.0, 10.0, 10.0],
            "ema_fid": [8.0, 25.0, 15.0, 4.0, 9.0, 9.0],
            "same_runs_as_best": [False] * 5 + [True],  # cgan's defaults are its best's runs
        }
    )
    table = averaged_against_raw(runs)
    assert len(table[table["variant"] == "cgan"]) == 1  # those runs once
    table = table[table["variant"] == "gan"].set_index("budget_images")
    assert table.loc[100, "fid_weights"] == 20.0 and table.loc[100, "fid_average"] == 15.0
    assert table.loc[100, "average_lower_in"] == 2 and table.loc[200, "seeds"] == 1
    # each seed's own ratio (0.8, 1.25, 0.5): its median and an interval inside the seeds' range
    assert table.loc[100, "seed_ratio"] == 0.8
    assert 0.5 <= table.loc[100, "seed_ratio_low"] <= 0.8 <= table.loc[100, "seed_ratio_high"] <= 1.25
    assert averaged_against_raw(runs.drop(columns="ema_fid")).empty


def test_fid_bands_are_the_median_and_range_over_seeds_against_images_and_seconds_alone():
    from sweeps.reporting.search import fid_bands

    histories = pd.DataFrame(
        {
            "variant": ["gan"] * 7 + ["cgan"] * 2,
            "arm": ["best"] * 7 + ["best", "defaults"],
            "seed": [0, 1, 2, 3, 0, 1, 2, 0, 0],
            "training_images": [100, 100, 100, 100, 200, 200, 200, 100, 100],
            "fid": [30.0, 10.0, 20.0, 400.0, 5.0, SENTINEL_FID, 7.0, 50.0, 90.0],
        }
    )
    alone = pd.DataFrame({"variant": ["gan"], "images_per_s_alone": [50.0]})
    bands = fid_bands(histories, alone).set_index(["variant", "training_images"])
    # seed 3 stopped at 100 images: not in the band, which would narrow where it stops
    assert tuple(bands.loc[("gan", 100), ["median", "low", "high", "seeds"]]) == (20.0, 10.0, 30.0, 3)
    assert bands.loc[("gan", 200), "seeds"] == 2  # a diverged report is left out
    assert bands.loc[("gan", 200), "seconds_alone"] == 4.0
    assert bands.loc[("cgan", 100), "median"] == 50.0
    assert math.isnan(bands.loc[("cgan", 100), "seconds_alone"])


def test_a_climber_that_diverged_early_keeps_its_reports_in_the_band():
    """The seeds meant to run the whole length come from runs.csv, where a run lost before a budget
    has a row there: its reports before it diverged stay in the band."""
    from sweeps.reporting.search import fid_bands

    histories = pd.DataFrame(
        {
            "variant": ["gan"] * 6,
            "arm": ["best"] * 6,
            "seed": [0, 1, 2, 0, 1, 0],
            "training_images": [100, 100, 100, 200, 200, 300],
            "fid": [30.0, 10.0, 20.0, 5.0, SENTINEL_FID, 4.0],  # seed 1 diverged at 200 images
        }
    )
    runs = pd.DataFrame(
        {
            "variant": ["gan"] * 5,
            "arm": ["best"] * 5,
            "seed": [0, 1, 2, 0, 1],
            "budget_images": [100, 100, 100, 300, 300],  # seeds 0 and 1 were to climb; 2 stops
        }
    )
    bands = fid_bands(histories, runs=runs).set_index("training_images")
    assert tuple(bands.loc[100, ["median", "low", "high", "seeds"]]) == (20.0, 10.0, 30.0, 2)
    assert bands.loc[200, "seeds"] == 1 and bands.loc[300, "seeds"] == 1
    # from the histories alone, seed 1 (no report at 300 images) would be gone from the start
    assert fid_bands(histories).set_index("training_images").loc[100, "seeds"] == 1


def test_the_fid_bands_figure_draws_seconds_alone_only_where_they_were_measured(tmp_path):
    import matplotlib.image

    from sweeps.reporting.search import fid_bands, fid_bands_figure

    histories = pd.DataFrame(
        {
            "variant": ["gan"] * 4,
            "arm": ["best"] * 4,
            "seed": [0, 1, 0, 1],
            "training_images": [100, 100, 200, 200],
            "fid": [30.0, 20.0, 10.0, 12.0],
        }
    )
    alone = pd.DataFrame({"variant": ["gan"], "images_per_s_alone": [50.0]})
    both = fid_bands_figure(fid_bands(histories, alone), tmp_path / "both.png")
    images_only = fid_bands_figure(fid_bands(histories), tmp_path / "images.png")
    # one panel is half as wide as two: no empty seconds panel without a measurement
    width = {path.name: matplotlib.image.imread(path).shape[1] for path in (both, images_only)}
    assert width["images.png"] * 2 == width["both.png"]


def test_the_final_stages_losses_are_drawn_a_row_a_loss_family_never_across_families(tmp_path):
    import matplotlib.image

    from sweeps.reporting.search import loss_bands_figure, seed_bands

    histories = pd.DataFrame(
        {
            "variant": ["gan"] * 4 + ["dcgan"] * 2 + ["wgan"] * 2,
            "arm": ["best"] * 8,
            "seed": [0, 1, 0, 1, 0, 0, 0, 0],
            "training_images": [100, 100, 200, 200, 100, 200, 100, 200],
            "fid": [300.0, 200.0, 100.0, 90.0, 250.0, 120.0, 400.0, 300.0],
            "d_loss": [1.2, 1.0, 1.3, 1.1, 1.2, 1.3, -40.0, -20.0],
            "g_loss": [0.8, 0.9, 0.7, float("nan"), 0.8, 0.7, 30.0, 10.0],
        }
    )
    band = seed_bands(histories, "g_loss").set_index(["variant", "training_images"])
    assert band.loc[("gan", 200), "seeds"] == 1  # a report without a finite loss is left out
    assert tuple(band.loc[("gan", 100), ["median", "low", "high"]]) == pytest.approx((0.85, 0.8, 0.9))
    two = loss_bands_figure(histories, tmp_path / "two.png")  # cross-entropy, wasserstein
    one = loss_bands_figure(histories[histories["variant"] != "wgan"], tmp_path / "one.png")
    rows = {path.name: matplotlib.image.imread(path).shape[0] for path in (two, one)}
    assert rows["two.png"] == 2 * rows["one.png"]  # gan and dcgan share one family's row
    assert loss_bands_figure(histories.drop(columns="d_loss"), tmp_path / "none.png") is None


def test_the_class_shares_figure_is_drawn_from_the_runs_class_columns_and_skipped_without_them(tmp_path):
    from sweeps.reporting.figures import class_shares

    shares = {f"class_{d}": [0.1, 0.1] for d in range(10)}
    runs = pd.DataFrame({"variant": ["gan", "cgan"], "arm": ["best", "best"], **shares})
    drawn = class_shares(runs, tmp_path / "c.png")
    assert drawn is not None and drawn.stat().st_size > 1000
    assert class_shares(runs.drop(columns="class_3"), tmp_path / "d.png") is None
    assert not (tmp_path / "d.png").exists()


def test_loss_spreads_are_read_within_their_loss_family_and_fid_jumps_are_counted():
    from sweeps.reporting.axes import fid_jumps, findings, within_loss_family

    stable = pd.DataFrame(
        {
            "variant": ["gan", "dcgan", "wgan", "wgan_gp", "lsgan"],
            "loss_family": ["cross-entropy", "cross-entropy", "wasserstein", "wasserstein", "least squares"],
            "trials": [3, 3, 3, 3, 3],
            "diverged": [0, 0, 0, 0, 0],
            "fid_jumps": [0, 1, 0, 2, 0],
            "d_loss_spread": [0.1, 0.3, 1.0, 3.0, 0.5],
            "g_loss_spread": [0.1, 0.3, 1.0, 3.0, 0.5],
        }
    )
    scaled = within_loss_family(stable).set_index("variant")["g_loss_spread_in_family"]
    assert scaled["gan"] == 0.5 and scaled["wgan_gp"] == 1.5  # against 0.2 and 2.0, not one scale
    assert math.isnan(scaled["lsgan"])  # alone in its family: nothing to be read against
    board = pd.DataFrame(
        {"variant": ["gan"], "arm": ["best"], "family": ["unconditional"], "fid": [10.0], "leader": [True]}
    )
    said = findings(board.assign(fid_low=9.0, fid_high=11.0, seeds=3), stable, pd.DataFrame())["losses"]
    assert said.startswith("Among cross-entropy losses gan's generator loss moves least")
    assert "among wasserstein losses wgan's" in said and "wgan_gp's most (3)" in said
    assert "3 search reports had an FID over twice the trial's best so far (most: wgan_gp)" in said

    history = pd.DataFrame(
        {
            "trial_id": ["a"] * 4 + ["b"] * 3,
            "training_iteration": [1, 2, 3, 4, 1, 2, 3],
            "fid": [300.0, 100.0, 250.0, 90.0, 500.0, 400.0, SENTINEL_FID],
        }
    )
    assert fid_jumps(history) == 1  # a's 250 after its 100; b's diverged report is not a jump


def test_every_final_seeds_grid_is_drawn_a_row_an_arm_and_budget_with_its_fid_and_collapsed_ones_marked(
    tmp_path,
):
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    from sweeps.reporting.figures import seed_grids

    def grid(name):
        folder = tmp_path / "final" / "runs" / name
        folder.mkdir(parents=True)
        plt.imsave(folder / "samples.png", [[0.0, 1.0], [1.0, 0.0]], cmap="gray")

    for name in ("gan_best_s0_300", "gan_best_s1_100", "wgan_gp_best_s0_100"):
        grid(name)
    (tmp_path / "final" / "runs" / "gan_defaults_s0_100").mkdir()  # no grid (a lost run): no panel
    runs = pd.DataFrame(
        {
            "variant": ["gan", "gan", "wgan_gp", "gan"],
            "arm": ["best", "best", "best", "defaults"],
            "seed": [0, 1, 0, 0],
            "budget_images": [300, 100, 100, 100],
            "training_images": [300, 100, 100, 100],
            "fid": [12.5, 99.0, 40.0, 300.0],
            "collapsed": [False, True, False, True],
        }
    )
    drawn = seed_grids(tmp_path / "final", runs, tmp_path)
    assert sorted(drawn) == ["gan", "wgan_gp"] and drawn["gan"].stat().st_size > 1000
    one_row = mpimg.imread(drawn["wgan_gp"]).shape[0]
    assert mpimg.imread(drawn["gan"]).shape[0] == 2 * one_row  # gan's best at 100 and at 300 images
    # the papers' defaults are final seeds too: their grids a row of their own
    grid("gan_defaults_s0_100_")  # not a run's folder name: left out
    (tmp_path / "final" / "runs" / "gan_defaults_s0_100" / "samples.png").write_bytes(
        (tmp_path / "final" / "runs" / "gan_best_s1_100" / "samples.png").read_bytes()
    )
    drawn = seed_grids(tmp_path / "final", runs, tmp_path)
    assert mpimg.imread(drawn["gan"]).shape[0] == 3 * one_row
    assert seed_grids(tmp_path / "nothing", runs, tmp_path) == {}
