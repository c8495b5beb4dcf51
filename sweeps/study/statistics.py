"""Statistics for comparing GAN variants over a handful of seeds, chosen to stay in their support:
medians with percentile-bootstrap intervals (which cannot leave the data's range, unlike a mean
plus or minus a t quantile, which can give a negative FID or a recall above 1), Mann-Whitney tests
with Holm's correction against the leader, Cliff's delta and the ratio of medians as effect sizes,
and each group's bootstrap probability of having the best median. With three to ten seeds a rank
test cannot reach small p-values at all, so every "not significant" comes with the smallest p the
test could have given (`smallest_p`). A lower-is-better figure may be +inf, a run with no usable
figure (its training diverged): ranked worst by every test, medians and probabilities, rather than
left out, so that a variant is not ranked by the seeds that survived. NaN is a figure that is
missing (left out; callers count it). Pure numpy/scipy/pandas/statsmodels: no Ray, no TensorFlow.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

# Up to this many ways of splitting the pooled sample, Mann-Whitney's null distribution is
# enumerated (exact); beyond it (about 9 vs 9 and up) the normal approximation is fine and cheaper.
EXACT_SPLITS = 20_000


def _clean(values) -> np.ndarray:
    """The values as floats with NaNs (and Nones) dropped; callers report how many were dropped.
    Infinities stay: +inf is a run ranked worst on a lower-is-better scale."""
    array = np.asarray([math.nan if v is None else v for v in np.ravel(values)], dtype=float)
    return array[~np.isnan(array)]


def _quantiles(values: np.ndarray, qs) -> np.ndarray:
    """numpy's linear-interpolation quantiles, an infinity allowed: numpy's own gives NaN when it
    interpolates towards one (inf * 0); the limit, inf, is what a quantile there is."""
    values = np.asarray(values, dtype=float)
    if np.isfinite(values).all():
        return np.quantile(values, qs)
    ordered = np.sort(values)
    position = np.asarray(qs, dtype=float) * (len(ordered) - 1)
    below, above = np.floor(position).astype(int), np.ceil(position).astype(int)
    low, high, fraction = ordered[below], ordered[above], position - below
    with np.errstate(invalid="ignore"):
        between = low + (high - low) * fraction
    return np.where((fraction == 0) | (low == high), low, between)


def _bootstrap_medians(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    return np.median(values[rng.integers(0, len(values), size=(resamples, len(values)))], axis=1)


def median_interval(
    values, *, low=0.0, high=math.inf, level=0.95, resamples=10_000, seed=0
) -> tuple[float, float, float]:
    """(median, lo, hi): the median and its percentile-bootstrap interval at `level`, inside
    [low, high] and inside the data's [min, max]; deterministic given `seed`. NaNs are dropped;
    one value gives (v, NaN, NaN), a median with no interval (a resample of one value is that value
    every time: [v, v] would read as certainty), none gives NaNs. Data outside [low, high] raise
    ValueError."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    values = _clean(values)
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    if values.min() < low or values.max() > high:
        raise ValueError(f"values outside their support [{low}, {high}]: {values.min()} .. {values.max()}")
    median = float(np.median(values))
    if len(values) == 1:
        return median, math.nan, math.nan
    medians = _bootstrap_medians(values, resamples, np.random.default_rng(seed))
    lo, hi = _quantiles(medians, [(1 - level) / 2, (1 + level) / 2])
    # Every bootstrap median is a median of data values, so lo and hi already lie within
    # [min, max] and hence within [low, high]; the clip guards bounded metrics (recall in [0, 1],
    # classes covered in [0, 10]) against rounding at the edges all the same.
    return median, float(np.clip(lo, low, high)), float(np.clip(hi, low, high))


def iqr(values) -> tuple[float, float]:
    """(q1, q3): the 25th and 75th percentiles, NaNs dropped (NaNs when nothing is left)."""
    values = _clean(values)
    if len(values) == 0:
        return math.nan, math.nan
    q1, q3 = _quantiles(values, [0.25, 0.75])
    return float(q1), float(q3)


def smallest_p(n: int, m: int) -> float:
    """The smallest two-sided p exact Mann-Whitney can give with n vs m values: both complete
    separations together, 2 / C(n + m, n) (0.1 at 3 vs 3, 2/924 at 6 vs 6)."""
    if n < 1 or m < 1:
        return math.nan
    return min(1.0, 2 / math.comb(n + m, n))


def detectable_ratio(a, b, *, alpha=0.05, power=0.8, resamples=2000, seed=0, largest=100.0) -> float:
    """The smallest ratio of medians that a two-sided Mann-Whitney test at `alpha` (before any
    multiple-test adjustment) detects with probability `power` at these sample sizes: what a "cannot
    be told apart" could have told. Simulated on the log scale from the two groups' pooled spread
    (each centred on its median; a smoothed bootstrap, Silverman's bandwidth, so draws do not tie),
    the second group shifted by the ratio. NaN when a side has under 2 values or a value is not
    positive and finite; inf when no ratio up to `largest` reaches the power (at 3 vs 3 none can: the
    smallest attainable p is 0.1)."""
    a, b = _clean(a), _clean(b)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if smallest_p(len(a), len(b)) >= alpha:
        return math.inf
    if not all(((side > 0) & np.isfinite(side)).all() for side in (a, b)):
        return math.nan
    logs = np.log(a), np.log(b)
    residuals = np.concatenate([side - np.median(side) for side in logs])
    bandwidth = 1.06 * max(float(residuals.std(ddof=1)), 1e-12) * len(residuals) ** -0.2
    rng = np.random.default_rng(seed)

    def draw(n: int) -> np.ndarray:
        return rng.choice(residuals, (resamples, n)) + rng.normal(0.0, bandwidth, (resamples, n))

    first, second = draw(len(a)), draw(len(b))
    exact = math.comb(len(a) + len(b), len(a)) <= EXACT_SPLITS
    method = "exact" if exact else "asymptotic"

    def detected(shift: float) -> float:
        found = stats.mannwhitneyu(first, second + shift, axis=1, alternative="two-sided", method=method)
        return float(np.mean(found.pvalue < alpha))

    # the same draws at every shift: each draw's p falls as the shift grows, so the power rises
    low, high = 0.0, math.log(largest)
    if detected(high) < power:
        return math.inf
    for _ in range(16):  # log(largest) / 2^16: the ratio to better than 1e-4, past its 3 digits shown
        middle = (low + high) / 2
        low, high = (low, middle) if detected(middle) >= power else (middle, high)
    return float(math.exp(high))


def mann_whitney(a, b) -> float:
    """Two-sided Mann-Whitney p of a against b, NaNs dropped (NaN if either side is empty).
    Small samples get the exact null distribution; larger ones the tie-corrected normal one."""
    a, b = _clean(a), _clean(b)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    if math.comb(len(a) + len(b), len(a)) > EXACT_SPLITS:
        method = "asymptotic"
    elif len(np.unique(np.concatenate([a, b]))) == len(a) + len(b):
        method = "exact"
    elif min(len(a), len(b)) == 1:
        # scipy's permutation test wants two values a side; one value against m has m + 1 splits
        return _one_against_many(*((a, b) if len(a) == 1 else (b, a)))
    else:
        # With ties scipy's "exact" is not exact and the normal approximation is anti-conservative
        # at a few seeds (3 vs 3, all tied within each side: p = 0.047, below the attainable 0.1);
        # enumerating every split of the pooled values is the exact test and is cheap at this size.
        method = stats.PermutationMethod(n_resamples=EXACT_SPLITS)
    return float(stats.mannwhitneyu(a, b, alternative="two-sided", method=method).pvalue)


def _one_against_many(one: np.ndarray, many: np.ndarray) -> float:
    """The exact two-sided Mann-Whitney p of one value against `many`, ties counted half, as scipy's
    permutation test gives it for larger samples (twice the smaller one-sided p): each pooled value
    in turn is the lone one, its U the count of the others it beats."""
    pooled = np.concatenate([one, many])
    beats = (pooled[:, None] > pooled[None, :]).sum(axis=1)
    ties = (pooled[:, None] == pooled[None, :]).sum(axis=1) - 1
    u = beats + 0.5 * ties
    greater, less = np.mean(u >= u[0] - 1e-9), np.mean(u <= u[0] + 1e-9)
    return float(min(1.0, 2 * min(greater, less)))


def holm(pvalues) -> np.ndarray:
    """Holm-adjusted p-values for a family (statsmodels' multipletests); NaNs stay NaN and are
    not counted in the family."""
    pvalues = np.asarray(pvalues, dtype=float)
    adjusted = np.full(pvalues.shape, math.nan)
    finite = ~np.isnan(pvalues)
    if finite.any():
        adjusted[finite] = multipletests(pvalues[finite], method="holm")[1]
    return adjusted


def cliffs_delta(a, b) -> float:
    """P(a > b) - P(a < b) over all pairs, in [-1, 1]: positive when a tends to be larger."""
    a, b = _clean(a), _clean(b)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    # comparisons, not the sign of a difference: inf - inf is NaN, and two infinities tie
    signs = (a[:, None] > b[None, :]).astype(int) - (a[:, None] < b[None, :]).astype(int)
    return float(signs.mean())


def ratio_of_medians(a, b) -> float:
    """median(a) / median(b), NaNs dropped (NaN when either is empty, median(b) is 0 or both
    medians are infinite)."""
    a, b = _clean(a), _clean(b)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    top, bottom = float(np.median(a)), float(np.median(b))
    if bottom == 0 or (math.isinf(top) and math.isinf(bottom)):
        return math.nan
    return top / bottom


def prob_best(
    groups: dict[str, object], *, lower_is_better=True, resamples=10_000, seed=0
) -> dict[str, float]:
    """Each group's bootstrap probability of having the best median: the share of resamples in
    which its resampled median is the best one, a tie splitting the resample among the tied groups
    (so the probabilities sum to 1). Groups without data get 0 (all NaN if no group has data)."""
    cleaned = {name: _clean(values) for name, values in groups.items()}
    present = [name for name in sorted(cleaned) if len(cleaned[name])]  # sorted: dict order is no input
    if not present:
        return {name: math.nan for name in groups}
    rng = np.random.default_rng(seed)
    medians = np.column_stack([_bootstrap_medians(cleaned[name], resamples, rng) for name in present])
    best = medians.min(axis=1) if lower_is_better else medians.max(axis=1)
    winners = medians == best[:, None]
    shares = (winners / winners.sum(axis=1, keepdims=True)).mean(axis=0)
    probabilities = dict(zip(present, shares.tolist()))
    return {name: probabilities.get(name, 0.0) for name in groups}


def collapsed(fids, classes_covered, *, classes=10, factor=2.0) -> np.ndarray:
    """One arm's seeds: True where a seed covers fewer than `classes` classes or its FID is over
    `factor` times the arm's median FID. A missing (NaN) figure never marks a seed by itself."""
    fids = np.asarray(fids, dtype=float)
    classes_covered = np.asarray(classes_covered, dtype=float)
    with np.errstate(invalid="ignore"):
        few_classes = classes_covered < classes
        if np.isnan(fids).all():
            return few_classes
        return few_classes | (fids > factor * np.nanmedian(fids))


def compare(
    groups: dict[str, object],
    *,
    lower_is_better=True,
    alpha=0.05,
    low=0.0,
    high=math.inf,
    seed=0,
    leader: str | None = None,
) -> pd.DataFrame:
    """One row per group, the leader first and the rest best median first: n (NaNs dropped,
    counted in `dropped`), median, q1, q3, min, max, the median's interval (lo, hi), and against
    the leader (the best median unless `leader` names another group): the Mann-Whitney p, its Holm
    adjustment over the family of comparisons with the leader, the ratio of medians and Cliff's
    delta (this group over / against the leader), prob_best, and a verdict; where a row cannot be
    told from the leader, the ratio of medians the test would detect (detectable_ratio) at Holm's
    strictest level, alpha over the number of comparisons."""
    if leader is not None and leader not in groups:
        raise ValueError(f"leader {leader!r} is not one of the groups: {', '.join(map(str, groups))}")
    rows = []
    for name, values in groups.items():
        clean = _clean(values)
        median, lo, hi = median_interval(clean, low=low, high=high, seed=seed)
        q1, q3 = iqr(clean)
        rows.append(
            {
                "group": name,
                "n": len(clean),
                "dropped": int(np.size(values)) - len(clean),
                "median": median,
                "q1": q1,
                "q3": q3,
                "min": float(clean.min()) if len(clean) else math.nan,
                "max": float(clean.max()) if len(clean) else math.nan,
                "lo": lo,
                "hi": hi,
            }
        )
    board = pd.DataFrame(rows)
    if board.empty:
        return board
    # tied medians (two infinite ones: most runs of both diverged) go by the lower quartile, then
    # the best value: the group whose better half is better comes first
    board = board.sort_values(
        ["median", "q1" if lower_is_better else "q3", "min" if lower_is_better else "max", "group"],
        ascending=[lower_is_better] * 3 + [True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)
    leader = board.loc[0, "group"] if leader is None else leader
    board = pd.concat([board[board["group"] == leader], board[board["group"] != leader]], ignore_index=True)
    cleaned = {name: _clean(values) for name, values in groups.items()}
    best = cleaned[leader]
    board["p"] = [math.nan if g == leader else mann_whitney(cleaned[g], best) for g in board["group"]]
    board["p_holm"] = holm(board["p"])
    board["ratio"] = [ratio_of_medians(cleaned[g], best) for g in board["group"]]
    board["cliffs_delta"] = [cliffs_delta(cleaned[g], best) for g in board["group"]]
    board["prob_best"] = board["group"].map(prob_best(groups, lower_is_better=lower_is_better, seed=seed))
    # what a non-significant row could have shown, at the level Holm holds its first comparison to
    # (alpha over the comparisons): at alpha itself it would claim more power than Holm leaves
    level = alpha / max(1, int(board["p"].notna().sum()))
    board["detectable_ratio"] = [
        math.nan if g == leader or p < alpha else detectable_ratio(cleaned[g], best, alpha=level, seed=seed)
        for g, p in zip(board["group"], board["p_holm"])
    ]
    board["verdict"] = [_verdict(row, leader, len(best), alpha) for row in board.itertuples()]
    return board


def _verdict(row, leader: str, n_leader: int, alpha: float) -> str:
    if row.group == leader:
        return "leader" if row.n else "no data"
    if row.n == 0 or n_leader == 0:
        return "no data"
    if row.p_holm < alpha:
        return f"differs (Holm p={row.p_holm:.2g})"
    return cannot_tell(row.n, n_leader, getattr(row, "detectable_ratio", math.nan))


def cannot_tell(n: int, m: int, ratio: float) -> str:
    """A non-significant verdict at n vs m values, beside what the test could have detected
    (detectable_ratio's `ratio`): a non-significant result says nothing without it."""
    said = f"cannot be told apart at n={n} vs {m}"
    attainable = smallest_p(n, m)
    if math.isfinite(ratio):
        return f"{said} (the test detects a ratio of medians of {ratio:.3g} or more with 80% power)"
    if ratio == math.inf:
        return f"{said} (no difference is detectable: the smallest attainable p is {attainable:.2g})"
    return f"{said} (smallest attainable p {attainable:.2g})"
