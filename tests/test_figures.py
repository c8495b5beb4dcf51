"""The report's logarithmic FID axes: round, plain, readable tick labels."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sweeps.reporting.figures import PlainLogLocator, fid_strip, plain_log_axis, strip_figure  # noqa: E402


def round_number(value: float) -> bool:
    """1-9 times a power of ten."""
    mantissa = value / 10 ** np.floor(np.log10(value))
    return bool(np.isclose(mantissa, np.round(mantissa)))


@settings(max_examples=400, deadline=None)
@given(
    low=st.floats(min_value=1e-3, max_value=1e6),
    ratio=st.floats(min_value=1.05, max_value=1e12),
)
def test_log_ticks_are_round_in_view_and_few_over_any_span(low, ratio):
    high = low * ratio
    ticks = PlainLogLocator().tick_values(low, high)
    assert 2 <= len(ticks) <= 9, (low, high, ticks)
    assert np.all(np.diff(ticks) > 0)
    assert ticks[0] >= low and ticks[-1] <= high
    labels = [f"{t:g}" for t in ticks]
    assert len(set(labels)) == len(labels), labels  # no two ticks read the same
    if ratio >= 10:  # a decade or more always holds round numbers
        assert all(round_number(t) for t in ticks), ticks


@settings(max_examples=200, deadline=None)
@given(low=st.floats(min_value=1e-3, max_value=1e6), ratio=st.floats(min_value=1.0, max_value=1.05))
def test_log_ticks_of_a_narrow_or_empty_view_stay_in_it_and_never_repeat(low, ratio):
    ticks = PlainLogLocator().tick_values(low, low * ratio)
    assert len(ticks) <= 9 and len(set(ticks.tolist())) == len(ticks)
    assert all(low <= t <= low * ratio for t in ticks)


def test_log_ticks_take_the_densest_round_sequence_that_fits():
    assert PlainLogLocator().tick_values(15, 950).tolist() == [20, 30, 50, 100, 200, 300, 500]
    assert PlainLogLocator().tick_values(45, 80).tolist() == [50, 60, 70, 80]
    assert PlainLogLocator().tick_values(1, 1e6).tolist() == [1, 10, 100, 1e3, 1e4, 1e5, 1e6]
    assert PlainLogLocator().tick_values(1, 1e12).tolist() == [1, 100, 1e4, 1e6, 1e8, 1e10, 1e12]


def crowded_labels(axis, gap: float = 8.0) -> list[tuple[str, str]]:
    """Neighbouring x tick labels less than `gap` pixels apart (overlapping ones included)."""
    renderer = axis.figure.canvas.get_renderer()
    shown = [t for t in axis.get_xticklabels(which="both") if t.get_visible() and t.get_text()]
    boxes = sorted(((t.get_window_extent(renderer), t.get_text()) for t in shown), key=lambda b: b[0].x0)
    return [(a, b) for (box_a, a), (box_b, b) in zip(boxes, boxes[1:]) if box_b.x0 - box_a.x1 < gap]


def test_a_log_fid_axis_from_20_to_900_has_plain_labels_apart():
    figure, axis = plt.subplots(figsize=(7.5, 2))
    axis.plot([20, 250, 900], [0, 1, 2], "o")
    plain_log_axis(axis, "x")
    figure.canvas.draw()
    texts = [t.get_text() for t in axis.get_xticklabels(which="both") if t.get_text()]
    assert texts and all("10^" not in text and "times" not in text for text in texts)
    assert {"20", "100", "500"} <= set(texts)
    assert crowded_labels(axis) == []
    plt.close(figure)


def test_the_strip_plot_labels_each_panel_with_round_fids_apart(tmp_path):
    from test_final_stage import runs_table

    from sweeps.study import analysis

    # the published study's spans: conditional 20-250, unconditional 150-900
    table = runs_table(
        {
            ("gan", "best"): [310.0, 350.0, 360.0],
            ("gan", "defaults"): [460.0, 490.0, 780.0],
            ("wgan", "defaults"): [830.0, 870.0, 900.0],
            ("dcgan", "best"): [150.0, 160.0, 170.0],
            ("cgan", "best"): [20.0, 26.0, 27.0],
            ("cgan", "defaults"): [80.0, 96.0, 99.0],
            ("acgan", "best"): [120.0, 130.0, 150.0],
            ("acgan", "defaults"): [140.0, 180.0, 250.0],
        }
    )
    analysis.write(tmp_path / "final", table, pd.DataFrame())
    runs = pd.read_csv(tmp_path / "final" / "runs.csv")
    assert fid_strip(runs, tmp_path / "strip.png").is_file()
    figure = strip_figure(runs)
    figure.canvas.draw()
    for axis in figure.axes:
        texts = [t.get_text() for t in axis.get_xticklabels(which="both") if t.get_text()]
        assert len(texts) >= 3, texts
        assert all(round_number(float(text)) for text in texts), texts
        assert crowded_labels(axis) == [], axis.get_title()
    plt.close(figure)


def test_every_variant_has_a_colour_no_other_variant_shares():
    from matplotlib.colors import to_hex

    from ganlib import registry
    from sweeps.reporting.figures import variant_colour

    colours = [to_hex(variant_colour(v)) for v in registry.names()]
    assert len(set(colours)) == len(colours)


def test_the_strip_plots_median_bar_is_the_leaderboards_with_a_diverged_run_ranked_worst(tmp_path):
    from test_final_stage import runs_table

    from sweeps.reporting.figures import drawn_runs, strip_points
    from sweeps.study import analysis

    # dcgan: 100, 110, and a diverged run: the median is 110, not the 105 of the two survivors
    table = runs_table({("dcgan", "best"): [100.0, 110.0, math.nan], ("gan", "best"): [120.0, 130.0, 140.0]})
    board = analysis.write(tmp_path / "final", table, pd.DataFrame()).set_index("variant")
    dots = strip_points(drawn_runs(pd.read_csv(tmp_path / "final" / "runs.csv")))
    assert len(dots[dots["variant"] == "dcgan"]) == 2  # no dot for the diverged run
    assert (dots.loc[dots["variant"] == "dcgan", "median"] == board.at["dcgan", "fid"]).all()
    assert board.at["dcgan", "fid"] == 110.0
