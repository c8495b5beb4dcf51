"""sweeps.study.statistics: hand-computed p-values and effect sizes, Holm's adjustment, intervals
that stay in the data's range and the metric's bounds, the collapse rule, prob_best and compare."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sweeps.study import statistics as S


def test_separated_three_vs_three_gives_exact_p_and_full_cliffs_delta():
    low, high = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    # 20 ways to split six values 3 + 3, two of them this extreme: p = 2/20
    assert S.mann_whitney(low, high) == pytest.approx(0.1, abs=1e-12)
    assert S.mann_whitney(high, low) == pytest.approx(0.1, abs=1e-12)
    assert S.cliffs_delta(high, low) == 1.0
    assert S.cliffs_delta(low, high) == -1.0
    assert S.smallest_p(3, 3) == pytest.approx(0.1)


def test_separated_six_vs_six_reaches_smallest_attainable_p():
    a, b = np.arange(6.0), np.arange(6.0) + 10
    assert S.mann_whitney(a, b) == pytest.approx(2 / 924, rel=1e-9)
    assert S.smallest_p(6, 6) == pytest.approx(2 / 924, rel=1e-12)
    assert f"{S.smallest_p(6, 6):.2g}" == "0.0022"
    assert S.smallest_p(1, 1) == 1.0


def test_tied_small_samples_are_not_given_a_p_below_the_exact_floor():
    # all seeds of one arm tie (classes covered 9 vs 10): the normal approximation would give 0.047
    assert S.mann_whitney([9, 9, 9], [10, 10, 10]) == pytest.approx(0.1, abs=1e-12)
    assert S.mann_whitney([10, 10, 10], [10, 10, 10]) == pytest.approx(1.0)
    assert math.isnan(S.mann_whitney([math.nan], [1.0, 2.0]))


def test_holm_adjusts_a_known_family_and_leaves_nans_out():
    np.testing.assert_allclose(S.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    adjusted = S.holm([0.01, math.nan, 0.04, 0.03])
    assert math.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2, 3]], [0.03, 0.06, 0.06])
    assert len(S.holm([])) == 0


BOUNDS = st.sampled_from([(0.0, 1.0), (0.0, 10.0), (0.0, math.inf), (-5.0, 5.0)])


@st.composite
def bounded_samples(draw):
    low, high = draw(BOUNDS)
    top = min(high, 1e6)
    values = draw(
        st.lists(
            st.one_of(
                st.floats(low, top, allow_nan=False),
                st.sampled_from([low, top]),  # values on the bounds, where clipping matters
            ),
            min_size=1,
            max_size=40,
        )
    )
    nans = draw(st.integers(0, 2))
    return low, high, values, nans


@settings(max_examples=300, deadline=None, derandomize=True)
@given(sample=bounded_samples(), level=st.sampled_from([0.5, 0.9, 0.95, 0.99]), seed=st.integers(0, 99))
def test_median_interval_stays_in_the_data_range_and_the_bounds(sample, level, seed):
    low, high, values, nans = sample
    median, lo, hi = S.median_interval(
        values + [math.nan] * nans, low=low, high=high, level=level, resamples=2_000, seed=seed
    )
    assert median == np.median(values)
    if len(values) == 1:  # one value: a median without an interval
        assert math.isnan(lo) and math.isnan(hi)
        return
    assert min(values) <= lo <= median <= hi <= max(values)
    assert low <= lo and hi <= high


def test_median_interval_small_cases_and_determinism():
    for one in ([7.5], [math.nan, 7.5, math.nan]):  # [7.5, 7.5] would read as certainty
        median, lo, hi = S.median_interval(one)
        assert median == 7.5 and math.isnan(lo) and math.isnan(hi)
    assert all(math.isnan(x) for x in S.median_interval([math.nan]))
    values = [0.61, 0.64, 0.70, 0.72, 0.99]
    assert S.median_interval(values, high=1.0, seed=3) == S.median_interval(values, high=1.0, seed=3)
    with pytest.raises(ValueError, match="support"):
        S.median_interval([0.5, 1.2], high=1.0)


def test_iqr_and_ratio_of_medians():
    assert S.iqr([1, 2, 3, 4, 5, math.nan]) == (2.0, 4.0)
    assert S.ratio_of_medians([30.0, 40.0, 50.0], [10.0, 20.0, 30.0]) == 2.0
    assert math.isnan(S.ratio_of_medians([1.0], [0.0, 0.0]))


def test_collapse_rule_on_a_hand_example():
    fids = [20.0, 22.0, 24.0, 49.0, 50.0, 21.0]  # median 23: over 46 is collapsed
    classes = [10, 10, 9, 10, 10, math.nan]
    assert S.collapsed(fids, classes).tolist() == [False, False, True, True, True, False]
    assert S.collapsed([20.0, 46.0, 23.0], [10, 10, 10]).tolist() == [False, False, False]  # twice: not over


def test_prob_best_sums_to_one_and_favours_a_clearly_better_group():
    groups = {"good": [10.0, 11.0, 12.0, 10.5], "bad": [30.0, 31.0, 29.0], "worse": [50.0, 60.0, 55.0]}
    probabilities = S.prob_best(groups)
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert probabilities["good"] > 0.95
    higher = S.prob_best(groups, lower_is_better=False)
    assert higher["worse"] > 0.95
    # identical groups tie in every resample: the resample is split between them
    tied = S.prob_best({"a": [5.0, 5.0], "b": [5.0, 5.0, 5.0], "empty": [math.nan]})
    assert tied == pytest.approx({"a": 0.5, "b": 0.5, "empty": 0.0})


def test_compare_gives_leader_difference_and_what_could_not_be_detected():
    groups = {
        "c": np.arange(30.0, 38.0),  # 8 seeds, all worse than the leader's
        "b": [13.0, 14.0, 15.0],  # all worse than the leader's too, but only 3 vs 3
        "a": [10.0, 11.0, math.nan, 12.0],
    }
    board = S.compare(groups, seed=1)
    assert board["group"].tolist() == ["a", "b", "c"]
    assert board["n"].tolist() == [3, 3, 8] and board["dropped"].tolist() == [1, 0, 0]
    assert board["verdict"].tolist() == [
        "leader",
        "cannot be told apart at n=3 vs 3 (no difference is detectable: the smallest attainable p is 0.1)",
        "differs (Holm p=0.024)",  # 2/C(11, 3) = 0.0121, doubled in a family of two
    ]
    np.testing.assert_allclose(board["p"].iloc[1:], [0.1, 2 / 165])
    np.testing.assert_allclose(board["p_holm"].iloc[1:], [0.1, 4 / 165])
    assert board["cliffs_delta"].iloc[1:].tolist() == [1.0, 1.0]
    assert board.loc[2, "ratio"] == pytest.approx(33.5 / 11.0)
    assert board.loc[0, "prob_best"] > 0.95 and board["prob_best"].sum() == pytest.approx(1.0)
    assert (board["lo"] <= board["median"]).all() and (board["median"] <= board["hi"]).all()
    # higher is better (recall in [0, 1]): the order turns round
    recall = S.compare({"x": [0.2, 0.3, 0.25], "y": [0.8, 0.9, 1.0]}, lower_is_better=False, high=1.0)
    assert recall["group"].tolist() == ["y", "x"] and recall["hi"].max() <= 1.0


def test_compare_against_a_named_leader_that_is_not_the_best_median():
    # the reference is a configuration chosen beforehand (a variant's searched best), not the best median
    groups = {"chosen": [20.0, 21.0, 22.0], "better": [10.0, 11.0, 12.0], "worse": [30.0, 31.0, 32.0]}
    board = S.compare(groups, leader="chosen")
    assert board["group"].tolist() == ["chosen", "better", "worse"]
    assert board["verdict"].tolist()[0] == "leader" and math.isnan(board.loc[0, "p"])
    assert board.loc[1, "ratio"] == pytest.approx(11.0 / 21.0) and board.loc[1, "cliffs_delta"] == -1.0
    np.testing.assert_allclose(board["p"].iloc[1:], [0.1, 0.1])
    with pytest.raises(ValueError, match="not one of the groups"):
        S.compare(groups, leader="absent")


def test_the_detectable_ratio_has_the_power_it_states():
    """The ratio detectable_ratio returns, applied to fresh samples from the distribution the two
    groups came from, is rejected by Mann-Whitney at 5% about 80% of the time."""
    from scipy import stats

    rng = np.random.default_rng(3)
    powers = []
    for seed in range(6):
        a, b = np.exp(rng.normal(0, 0.1, 30)), np.exp(rng.normal(0, 0.1, 30))
        ratio = S.detectable_ratio(a, b, seed=seed)
        fresh = rng.normal(0, 0.1, (4000, 30)), rng.normal(np.log(ratio), 0.1, (4000, 30))
        powers.append(np.mean(stats.mannwhitneyu(*fresh, axis=1).pvalue < 0.05))
    # each estimate carries its samples' spread; together they are near the stated 80%
    assert 0.72 <= np.mean(powers) <= 0.9 and min(powers) > 0.6, powers


def test_the_detectable_ratio_falls_with_seeds_rises_with_spread_and_is_said_where_it_exists():
    a = np.exp(np.linspace(-0.1, 0.1, 6))
    b = np.exp(np.linspace(-0.12, 0.08, 6))
    six = S.detectable_ratio(a, b)
    assert 1.0 < six < 2.0
    assert S.detectable_ratio(np.tile(a, 2), np.tile(b, 2)) < six  # the same spread, twice the seeds
    assert S.detectable_ratio(a**3, b**3) > six  # three times the spread on the log scale
    assert S.detectable_ratio(a[:3], b[:3]) == math.inf  # 3 vs 3: p never reaches 0.05
    assert math.isnan(S.detectable_ratio([1.0, -2.0, 3.0, 4.0], b))  # not on a log scale
    assert math.isnan(S.detectable_ratio([1.0], b))
    board = S.compare({"a": a, "b": b}).set_index("group")  # b leads, a a little behind
    assert board.at["a", "verdict"] == (
        f"cannot be told apart at n=6 vs 6 (the test detects a ratio of medians of "
        f"{board.at['a', 'detectable_ratio']:.3g} or more with 80% power)"
    )
    assert math.isnan(board.at["b", "detectable_ratio"]) and 1 < board.at["a", "detectable_ratio"] < 2


def test_what_a_row_could_have_shown_is_at_holms_level_for_the_familys_comparisons():
    """Holm holds the first of m comparisons to alpha / m: a detectable ratio at alpha itself would
    claim power the adjusted test does not have."""
    a = np.exp(np.linspace(-0.1, 0.1, 6))
    b = np.exp(np.linspace(-0.12, 0.08, 6))
    c = np.exp(np.linspace(-0.09, 0.11, 6))
    two = S.compare({"a": a, "b": b}).set_index("group")
    three = S.compare({"a": a, "b": b, "c": c}).set_index("group")
    assert two.at["a", "detectable_ratio"] == S.detectable_ratio(a, b, alpha=0.05)
    assert three.at["a", "detectable_ratio"] == S.detectable_ratio(a, b, alpha=0.025)
    assert three.at["a", "detectable_ratio"] > two.at["a", "detectable_ratio"]


@st.composite
def groups_with_worst_runs(draw):
    """Two groups of FIDs, some of their runs without a figure (+inf: diverged)."""

    def group():
        values = draw(st.lists(st.floats(1.0, 1000.0), min_size=1, max_size=12))
        lost = draw(st.integers(0, len(values)))
        return values[: len(values) - lost] + [math.inf] * lost

    return group(), group()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(pair=groups_with_worst_runs())
def test_a_run_without_a_figure_ranks_worst_in_every_statistic(pair):
    """+inf stands for a diverged run: every statistic ranks it last, none turns it into NaN, and
    a group that loses a run to it never looks better for it."""
    a, b = sorted(pair[0]), pair[1]  # sorted: a lost run below replaces a's worst, resampled alike
    median, lo, hi = S.median_interval(a, resamples=500)
    assert median == np.median(a) and not math.isnan(median)
    if len(a) > 1:
        assert min(a) <= lo <= median <= hi <= max(a)
    q1, q3 = S.iqr(a)
    assert min(a) <= q1 <= q3 <= max(a)
    assert 0.0 <= S.mann_whitney(a, b) <= 1.0
    delta = S.cliffs_delta(a, b)
    assert -1.0 <= delta <= 1.0 and delta == -S.cliffs_delta(b, a)
    chances = S.prob_best({"a": a, "b": b}, resamples=500)
    assert sum(chances.values()) == pytest.approx(1.0)
    # one more of a's runs lost: its median and its chance of being best cannot improve
    worse = a[:-1] + [math.inf]
    assert np.median(worse) >= np.median(a)
    assert S.prob_best({"a": worse, "b": b}, resamples=500)["a"] <= chances["a"] + 1e-12
    assert S.cliffs_delta(worse, b) >= delta


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30),
    qs=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4),
)
def test_the_quantiles_are_numpys_on_finite_data_and_their_limit_towards_an_infinity(values, qs):
    np.testing.assert_array_equal(S._quantiles(values, qs), np.quantile(values, qs))
    lost = S._quantiles(values + [math.inf], qs)
    assert not np.isnan(lost).any()
    assert (lost >= np.quantile(values, qs)).all()


def test_a_group_mostly_lost_to_divergence_does_not_lead():
    survivor_and_nine_lost = [5.0] + [math.inf] * 9
    steady = [6.0 + i / 10 for i in range(10)]
    board = S.compare({"lost": survivor_and_nine_lost, "steady": steady})
    assert board["group"].tolist() == ["steady", "lost"]
    assert board.loc[1, "median"] == math.inf and board.loc[1, "verdict"].startswith("differs")
    assert board.loc[1, "cliffs_delta"] == pytest.approx(0.8)  # the survivor beats all ten: 10 of 100 pairs
    assert S.ratio_of_medians([math.inf], [math.inf, 2.0, math.inf]) != S.ratio_of_medians([1.0], [2.0])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    one=st.integers(0, 12),
    many=st.lists(st.integers(0, 12), min_size=1, max_size=15),
    spread=st.booleans(),
)
def test_one_value_against_many_is_the_exact_test(one, many, spread):
    """One seed against several: scipy's exact test where nothing ties (there it is exact), the
    whole null distribution by hand where something does."""
    from scipy import stats

    a, b = [float(one)], [float(v) for v in many]
    if spread:  # no ties: scipy's exact distribution applies
        b = [v + (i + 1) / 100 for i, v in enumerate(b)]
        expected = stats.mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue
        assert S.mann_whitney(a, b) == pytest.approx(expected, abs=1e-12)
    p = S.mann_whitney(a, b)
    assert p == S.mann_whitney(b, a) and S.smallest_p(1, len(b)) - 1e-12 <= p <= 1.0
