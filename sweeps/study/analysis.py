"""The final stage's results read into what the study answers: per budget and family, the
leaderboards (medians over seeds with bootstrap intervals, collapse counts, Mann-Whitney against the
family's leader with Holm, ratio of medians, Cliff's delta, P(best)), the winners of each axis, the
search's gain over the papers' defaults, the goals, the weight average's choice and the budget
ladder's order. Reads final_stage.results_table's rows or the CSVs `write` leaves: pandas and
statistics only, no Ray, no TensorFlow, so the report reads a study anywhere.

The search ranks by one noisy run per configuration; these tables say what a configuration gives
across seeds, so that gaps between variants can be told from noise: within each family (conditional
or unconditional generators, registry.family) every configuration is tested against the family's
leader, every figure a median over seeds with a bootstrap interval (sweeps/study/statistics.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ganlib import registry
from ganlib.data import NUM_CLASSES
from sweeps.study import statistics, tables

# the full evaluation's figures (the trainable's final_* on the test split) that the stage summarises
METRICS = [
    "fid",
    "kid",
    "precision",
    "recall",
    "density",
    "coverage",
    "classifier_score",
    "classes_covered",
    "class_kl_uniform",
    "conditional_accuracy",
    "cas",
    "cas_evaluator",  # an unconditional generator's CAS on the evaluator's labels (final_evaluator_cas)
]


# Where each figure can lie; its interval is kept inside. KID's unbiased estimator dips below 0 when
# the two sets are close, so it has no lower bound.
BOUNDS = {
    "fid": (0.0, math.inf),
    "kid": (-math.inf, math.inf),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "density": (0.0, math.inf),
    "coverage": (0.0, 1.0),
    "classifier_score": (1.0, float(NUM_CLASSES)),
    "classes_covered": (0.0, float(NUM_CLASSES)),
    "class_kl_uniform": (0.0, math.inf),
    "conditional_accuracy": (0.0, 1.0),
    "cas": (0.0, 1.0),
    "cas_evaluator": (0.0, 1.0),
    "images_per_s": (0.0, math.inf),
}


def counted_once(table: pd.DataFrame) -> pd.DataFrame:
    """The runs, each once: a papers'-defaults row made of its best row's runs (the search's best
    was the defaults, final_stage.results_table) left out, those runs being the best's rows."""
    if table.empty or "same_runs_as_best" not in table:
        return table
    return table[~table["same_runs_as_best"].fillna(False).astype(bool)]


def finite(values) -> np.ndarray:
    """The values as floats, None and inf turned into NaN: statistics drops NaNs (a figure other
    than the FID of a diverged or failed run is left out and counted; the FID: fid_scores)."""
    array = np.asarray([math.nan if v is None else v for v in values], dtype=float)
    return np.where(np.isfinite(array), array, math.nan)


def fid_scores(runs: pd.DataFrame) -> np.ndarray:
    """The runs' FIDs as ranked: a run without a finite FID that did not fail (its training
    diverged, or its generator gave no usable figure) scores +inf, worst, since leaving it out would
    rank a variant by the seeds that survived; a run that failed (an error: none of the variant's
    doing) is NaN, left out and counted (`non_finite`)."""
    values = finite(runs["fid"])
    failed = runs["failed"].fillna(False).astype(bool).to_numpy() if "failed" in runs else False
    return np.where(np.isnan(values) & ~failed, math.inf, values)


def lower_median(ordered):
    """The middle of an ordered sequence, the lower one of an even count: a run that exists."""
    return ordered[(len(ordered) - 1) // 2]


# how runs' FIDs rank, wherever a variant is chosen by them (leaderboard, ladder, winners'
# generators): the median, then the lower quartile and the best seed where medians tie (infinite)
RANK = ["fid", "fid_q1", "fid_min"]


def ranked_variants(runs: pd.DataFrame) -> list[str]:
    """The variants of `runs` best first by their runs' fid_scores (RANK); failed runs left out."""
    rows = []
    for variant, mine in runs.groupby("variant"):
        scores = fid_scores(mine)
        scores = scores[~np.isnan(scores)]
        if len(scores):
            q1, _ = statistics.iqr(scores)
            rows.append(
                {"variant": variant, "fid": float(np.median(scores)), "fid_q1": q1, "fid_min": scores.min()}
            )
    if not rows:
        return []
    return list(pd.DataFrame(rows).sort_values([*RANK, "variant"], kind="stable")["variant"])


def snapped(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values a float rounding outside [low, high] moved onto the bound (a one-class sample's
    classifier score can come out a hair under 1); values further out are left for
    statistics.median_interval to refuse, since they mean a metric is wrong."""
    slack = 1e-9
    values = np.where((values < low) & (values >= low - slack), low, values)
    return np.where((values > high) & (values <= high + slack), high, values)


def support(metric: str) -> tuple[float, float]:
    return BOUNDS.get(metric, (-math.inf, math.inf))


def summary(values, metric: str) -> dict:
    """`metric`: the median over seeds; `_low`/`_high`: its 95% bootstrap interval, inside the
    metric's bounds and the data's range; `_q1`/`_q3`, `_min`/`_max`. NaNs are left out (the
    leaderboard counts them for FID); +inf (fid_scores) is ranked in as the worst value."""
    low, high = support(metric)
    clean = snapped(np.asarray(values, dtype=float), low, high)
    median, lo, hi = statistics.median_interval(clean, low=low, high=high)
    q1, q3 = statistics.iqr(clean)
    present = clean[~np.isnan(clean)]
    least, most = (float(present.min()), float(present.max())) if len(present) else (math.nan, math.nan)
    return {
        metric: median,
        f"{metric}_low": lo,
        f"{metric}_high": hi,
        f"{metric}_q1": q1,
        f"{metric}_q3": q3,
        f"{metric}_min": least,
        f"{metric}_max": most,
    }


def collapsed_runs(table: pd.DataFrame) -> pd.Series:
    """Per run: whether it collapsed by statistics.collapsed over its variant's and arm's seeds
    (fewer than every class covered, or an FID over twice the arm's median)."""
    flags = pd.Series(False, index=table.index)
    classes = table["classes_covered"] if "classes_covered" in table else pd.Series(math.nan, table.index)
    for _, group in table.groupby(["variant", "arm"]):
        flags[group.index] = statistics.collapsed(finite(group["fid"]), finite(classes[group.index]))
    return flags


def arm_row(variant: str, arm: str, group: pd.DataFrame, collapsed: pd.Series) -> dict:
    row = {
        "variant": variant,
        "arm": arm,
        "family": registry.family(variant),
        "seeds": int(len(group)),
        "non_finite": int(np.isnan(finite(group["fid"])).sum()),
        "failed": int(np.isnan(fid_scores(group)).sum()),
        "diverged": int(group["diverged"].sum()),
        "collapsed": int(collapsed[group.index].sum()),
        "training_images": group["training_images"].max(),
        "generator_steps": group["generator_steps"].max(),
        "same_runs_as_best": (
            bool(group["same_runs_as_best"].any()) if "same_runs_as_best" in group else False
        ),
    }
    for metric in [m for m in METRICS + ["images_per_s"] if m in group]:
        row.update(summary(fid_scores(group) if metric == "fid" else finite(group[metric]), metric))
    return row


# what a row of the leaderboard says against its family's leader
VERDICT = ["p_vs_leader", "p_holm", "ratio_of_medians", "cliffs_delta", "prob_best", "verdict", "differs"]


def family_verdicts(table: pd.DataFrame, rows: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """`leader` and the VERDICT columns for one family's rows of the leaderboard (`rows`, indexed
    as the board). The leader is the best configuration with the lowest median FID; every other
    row, papers'-defaults ones included, is tested against it by statistics.compare (Mann-Whitney,
    Holm over the family, ratio of medians and Cliff's delta of the row's FIDs over the leader's).
    `prob_best` is over the family's best configurations only: it answers which variant's chosen
    configuration has the lowest median FID (a defaults row's is blank). A defaults row made of its
    best row's runs is no comparison of its own: it takes that row's figures and stays out of the
    Holm family."""
    keys = rows["variant"] + "/" + rows["arm"]
    fids = {
        keys[i]: snapped(fid_scores(arm_runs(table, rows.at[i, "variant"], rows.at[i, "arm"])), 0, math.inf)
        for i in rows.index
    }
    best = rows[rows["arm"] == "best"]
    leader = (best if len(best) else rows).sort_values(RANK, na_position="last", kind="stable").index[0]
    copies = rows.index[
        (rows["arm"] == "defaults") & rows["same_runs_as_best"] & rows["variant"].isin(best["variant"])
    ]
    compared = rows.index.difference(copies)
    found = statistics.compare(
        {keys[i]: fids[keys[i]] for i in compared}, leader=keys[leader], alpha=alpha
    ).set_index("group")
    chances = statistics.prob_best({keys[i]: fids[keys[i]] for i in best.index})
    out = pd.DataFrame(
        {
            "p_vs_leader": keys.map(found["p"]),
            "p_holm": keys.map(found["p_holm"]),
            "ratio_of_medians": keys.map(found["ratio"]),
            "cliffs_delta": keys.map(found["cliffs_delta"]),
            "prob_best": keys.map(chances).astype(float),
            "verdict": keys.map(found["verdict"]),
        }
    )
    out["differs"] = out["p_holm"] < alpha
    for i in copies:
        out.loc[i] = out.loc[best.index[best["variant"] == rows.at[i, "variant"]][0]]
    out["leader"] = out.index == leader
    return out


def arm_runs(table: pd.DataFrame, variant: str, arm: str) -> pd.DataFrame:
    return table[(table["variant"] == variant) & (table["arm"] == arm)]


def leaderboard(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per variant and arm, the unconditional family first and each family by median FID: `family`
    (registry.family), `seeds` (runs), `non_finite` (runs without a finite FID: ranked worst in the
    FID's figures, fid_scores), `failed` (those of them whose run failed: left out), `diverged`,
    `collapsed` (seeds by statistics.collapsed), and for
    every figure its median over seeds, the median's 95% bootstrap interval inside the figure's
    bounds (`_low`, `_high`), the quartiles (`_q1`, `_q3`) and the range (`_min`, `_max`). Within
    each family (a conditional generator is handed the class, so it is ranked only among its
    kind): `leader` and every other row's comparison with it (family_verdicts)."""
    if table.empty:
        return pd.DataFrame()
    collapsed = collapsed_runs(table)
    rows = [arm_row(v, arm, group, collapsed) for (v, arm), group in table.groupby(["variant", "arm"])]
    board = pd.DataFrame(rows)
    # on a tie (a defaults row made of its best row's runs) the best row comes first
    order = board["family"].map(registry.FAMILIES.index).rename("order")
    board = (
        board.join(order)
        .sort_values(["order", *RANK, "arm"], na_position="last", kind="stable")
        .drop(columns="order")
        .reset_index(drop=True)
    )
    return board.join(
        pd.concat([family_verdicts(table, part, alpha) for _, part in board.groupby("family", sort=False)])
    )


def time_to_quality(
    histories: pd.DataFrame, thresholds=(400.0, 200.0, 100.0, 50.0, 20.0, 10.0)
) -> pd.DataFrame:
    """Per variant and arm: the training images and training seconds at the first report whose FID
    (the reports' own: the validation slice, or the test split in a ladder's final stage) is at or
    below each threshold, the median over all its seeds, a seed that never got there counting as
    later than any that did (NaN when half or more never did: a median over the seeds that got
    there would favour a variant whose seeds mostly did not); `reached_` counts them. The last two
    thresholds are the study's goals (FID_GOALS: unconditional 20, conditional 10)."""
    rows = []
    if histories.empty:
        return pd.DataFrame()
    for (variant, arm), group in histories.groupby(["variant", "arm"]):
        seeds = group["seed"].nunique()
        row = {"variant": variant, "arm": arm, "seeds": seeds}
        for threshold in thresholds:
            reached = []
            # by images, not Ray's iteration: a continued run counts its iterations from 1 again
            for _, runs in group.sort_values("training_images").groupby("seed"):
                hit = runs[runs["fid"] <= threshold]
                if len(hit):
                    reached.append((hit["training_images"].iloc[0], hit["train_seconds"].iloc[0]))
            label = f"{threshold:g}"
            row[f"reached_{label}"] = len(reached)
            never = [(math.inf, math.inf)] * (seeds - len(reached))
            for key, column in (("images", 0), ("seconds", 1)):
                median = float(np.median([r[column] for r in reached + never])) if seeds else math.nan
                row[f"{key}_to_{label}"] = median if math.isfinite(median) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


# the study's axes, as the winners table answers them: axis -> (figure, lower is better)
AXES = {
    "image quality": ("fid", True),
    "classification": ("classifier_score", False),
    "classification accuracy score": ("cas", False),
    "CAS on the evaluator's labels": ("cas_evaluator", False),
    "computing time": ("images_per_s", False),
}


def winners(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per family and axis (AXES), among the family's best configurations: the variant with the
    best median, its median and 95% bootstrap interval, its bootstrap probability of having the
    best median on that axis, and the runner-up with its verdict against the winner
    (statistics.compare). An axis none of a family's variants has a figure for is left out (the
    CAS is scored for conditional generators only)."""
    best = table[table["arm"] == "best"] if not table.empty else table
    rows = []
    for family in registry.FAMILIES:
        part = best[best["variant"].map(registry.family) == family] if len(best) else best
        for axis, (metric, lower) in AXES.items():
            if metric not in part or not np.isfinite(finite(part[metric])).any():
                continue
            low, high = support(metric)
            groups = {
                v: snapped(fid_scores(g) if metric == "fid" else finite(g[metric]), low, high)
                for v, g in part.groupby("variant")
            }
            found = statistics.compare(groups, lower_is_better=lower, alpha=alpha, low=low, high=high)
            rows.append(winner_row(family, axis, metric, lower, found))
    return pd.DataFrame(rows)


def search_gain(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per variant whose search found other settings than its papers' defaults, the two arms' FIDs
    over their seeds: each median with its interval, Mann-Whitney's p and its Holm adjustment over
    the variants, the ratio of medians (defaults over best: above 1, the search gained) and Cliff's
    delta (defaults against best), and a verdict that, where the test cannot tell, says what ratio
    it could have detected. A defaults row made of its best row's runs is no comparison."""
    rows, arms = [], {}
    for variant, runs in table.groupby("variant", sort=False) if len(table) else ():
        if len(counted_once(runs)) < len(runs):  # the defaults are the best's own runs: no comparison
            continue
        fids = {arm: fid_scores(runs[runs["arm"] == arm]) for arm in ("best", "defaults")}
        best, defaults = (values[~np.isnan(values)] for values in fids.values())
        if not len(best) or not len(defaults):
            continue
        arms[variant] = (defaults, best)
        row = {"variant": variant, "family": registry.family(variant)}
        for arm, values in (("best", best), ("defaults", defaults)):
            median, low, high = statistics.median_interval(values, low=0.0)
            row.update({f"{arm}_seeds": len(values), arm: median, f"{arm}_low": low, f"{arm}_high": high})
        row.update(
            p=statistics.mann_whitney(defaults, best),
            ratio_of_medians=statistics.ratio_of_medians(defaults, best),
            cliffs_delta=statistics.cliffs_delta(defaults, best),
        )
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    gain = pd.DataFrame(rows)
    gain["p_holm"] = statistics.holm(gain["p"])
    verdicts = []
    for row in gain.itertuples():
        if row.p_holm < alpha:  # the rank test's direction: the defaults' FIDs above the best's or not
            lower = "the search's best" if row.cliffs_delta > 0 else "the papers' defaults"
            verdicts.append(f"{lower} lower (Holm p={row.p_holm:.2g})")
            continue
        # at Holm's strictest level over the variants, as statistics.compare does
        detectable = statistics.detectable_ratio(*arms[row.variant], alpha=alpha / len(gain))
        verdicts.append(statistics.cannot_tell(row.defaults_seeds, row.best_seeds, detectable))
    return gain.assign(verdict=verdicts)


def winner_row(family: str, axis: str, metric: str, lower: bool, found: pd.DataFrame) -> dict:
    """A winners row from statistics.compare's table (the leader first)."""
    top = found.iloc[0]
    second = found.iloc[1] if len(found) > 1 else None
    return {
        "family": family,
        "axis": axis,
        "metric": metric,
        "better": "lower" if lower else "higher",
        "variant": top["group"],
        "seeds": int(top["n"]),
        "median": top["median"],
        "low": top["lo"],
        "high": top["hi"],
        "prob_best": top["prob_best"],
        "runner_up": second["group"] if second is not None else "",
        "runner_up_verdict": second["verdict"] if second is not None else "",
    }


def with_alone_rates(
    found: pd.DataFrame, alone: pd.DataFrame | None, variants, alpha: float = 0.05
) -> pd.DataFrame:
    """The winners with the computing-time axis answered from the rates measured alone
    (sweeps.study.throughput's timed windows, `window_images_per_s`) in place of the final stage's,
    whose runs shared the machine: per family, where every one of its `variants` (the final stage's
    best configurations) has windows; a family with one unmeasured (diverged while timed, left out
    of --variants) keeps the final stage's answer. `seeds` counts windows."""
    if alone is None or alone.empty or "window_images_per_s" not in alone:
        return found
    windows = {
        row.variant: [float(w) for w in str(row.window_images_per_s).split(";") if w not in ("", "nan")]
        for row in alone.drop_duplicates("variant", keep="last").itertuples()
    }
    rows = []
    for family in registry.FAMILIES:
        mine = [v for v in dict.fromkeys(variants) if registry.family(v) == family]
        groups = {v: windows.get(v) for v in mine}
        if mine and all(groups.values()):
            compared = statistics.compare(groups, lower_is_better=False, alpha=alpha, low=0.0)
            rows.append(winner_row(family, "computing time", "images_per_s_alone", False, compared))
    if not rows:
        return found
    answered = {row["family"] for row in rows}
    kept = (
        found[~((found["axis"] == "computing time") & found["family"].isin(answered))]
        if len(found)
        else found
    )
    return pd.concat([kept, pd.DataFrame(rows)], ignore_index=True)


def plain(value):
    """A table cell as JSON has it: numpy scalars as Python's, NaN as null."""
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def budgets(table: pd.DataFrame) -> list[int]:
    """The training-image budgets the runs were scored in full at, shortest first."""
    if table.empty or "budget_images" not in table:
        return []
    return sorted(int(b) for b in table["budget_images"].dropna().unique())


def at_budget(table: pd.DataFrame, budget: int | None) -> pd.DataFrame:
    if budget is None or "budget_images" not in table:
        return table
    return table[table["budget_images"] == budget]


def headline_budget(table: pd.DataFrame) -> int | None:
    """The longest budget that every variant's best configuration was trained to: with a ladder,
    the rung all variants climbed (later rungs take only each family's best on). A run lost before
    a budget is a row there without figures, so losses do not move the headline."""
    ladder = budgets(table)
    if not ladder:
        return None
    best = table[table["arm"] == "best"]
    scored = {b: set(best.loc[best["budget_images"] == b, "variant"]) for b in ladder}
    return [b for b in ladder if scored[b] >= scored[ladder[0]]][-1]


# the study's goals (issue #30): the best median FID of each family at most this; a share of the
# final seeds covering every class at least this
FID_GOALS = {"unconditional": 20.0, "conditional": 10.0}


COVERAGE_GOAL = 0.95


def goals(scored: pd.DataFrame, boards: dict | None = None) -> pd.DataFrame:
    """Per budget, the study's goals against what was measured (met or not): each family's lowest
    median FID among its best configurations, with the median's interval, and the share of the
    budget's runs (every arm) whose samples cover all 10 classes; then the coverage goal proper, over
    the final seeds: every run once, at the longest budget it was trained to (final_seeds).
    `boards`: each budget's leaderboard where the caller has it (write), so none is computed twice."""
    rows = []
    for budget in budgets(scored) or [None]:
        here = counted_once(at_budget(scored, budget))
        board = boards[budget] if boards and budget in boards else leaderboard(here)
        for family, goal in FID_GOALS.items():
            mine = board[(board["family"] == family) & (board["arm"] == "best")] if len(board) else board
            mine = mine.dropna(subset=["fid"]) if len(mine) else mine
            if mine.empty:
                continue
            top = mine.sort_values("fid").iloc[0]
            rows.append(
                {
                    "budget_images": budget,
                    "goal": f"best {family} median FID",
                    "target": f"<= {goal:g}",
                    "variant": top["variant"],
                    "measured": float(top["fid"]),
                    "low": float(top["fid_low"]),
                    "high": float(top["fid_high"]),
                    "met": bool(top["fid"] <= goal),
                }
            )
        if budget is not None:
            rows.append(coverage(here, f"runs covering all {NUM_CLASSES} classes", budget))
    final = final_seeds(scored)
    rows.append(coverage(final, f"final seeds covering all {NUM_CLASSES} classes", None))
    if len(final) and (final["arm"] != "best").any():  # the searched settings' share beside
        best = final[final["arm"] == "best"]
        rows.append(
            coverage(best, f"final seeds of the best configurations covering all {NUM_CLASSES} classes", None)
        )
    return pd.DataFrame([row for row in rows if row])


def final_seeds(scored: pd.DataFrame) -> pd.DataFrame:
    """Each run (variant, arm, seed) once (counted_once), at the longest budget it was trained to."""
    here = counted_once(scored)
    if here.empty or "budget_images" not in here:
        return here
    return here.sort_values("budget_images").groupby(["variant", "arm", "seed"], sort=False).tail(1)


def coverage(runs: pd.DataFrame, goal: str, budget: int | None) -> dict:
    """The share of `runs` whose samples cover all 10 classes against COVERAGE_GOAL; a run without
    a figure (diverged, failed) counts as not covering them."""
    if runs.empty:
        return {}
    classes = pd.to_numeric(runs.get("classes_covered", pd.Series(math.nan, runs.index)), errors="coerce")
    covered = int((classes >= NUM_CLASSES).sum())
    share = covered / len(runs)
    return {
        "budget_images": budget,
        "goal": goal,
        "target": f">= {COVERAGE_GOAL:.0%}",
        "variant": f"{covered} of {len(runs)} runs" + ("" if budget else ", each at its longest budget"),
        "measured": share,
        "low": math.nan,
        "high": math.nan,
        "met": bool(share >= COVERAGE_GOAL),
    }


def generator_choice(table: pd.DataFrame, budget: int | None, alpha: float = 0.05) -> dict:
    """Which generator scores `budget`: each run's weight average (`ema`, where the stage kept one)
    or its weights. The average is taken when, over every run scored both ways at the budget, the
    paired log ratio of its FID to the weights' is below zero by a two-sided Wilcoxon signed-rank
    test at `alpha`. One choice for every variant at a budget: taking the lower of the two per
    variant would report the minimum of two noisy figures."""
    rows = counted_once(at_budget(table, budget))  # a best that is the defaults: one pair, not two
    found = {"generator": "weights", "budget_images": budget}
    if "ema_fid" not in rows or rows["ema_fid"].isna().all():
        return {**found, "why": "no weight average was scored"}
    pairs = pd.DataFrame({"weights": finite(rows["fid"]), "ema": finite(rows["ema_fid"])}).dropna()
    pairs = pairs[(pairs > 0).all(axis=1)]
    found["runs"] = len(pairs)
    if len(pairs) < 6:  # the test's smallest two-sided p at 5 pairs is 0.0625
        return {**found, "why": f"{len(pairs)} runs scored both ways, too few to test"}
    from scipy import stats

    logs = np.log(pairs["ema"].to_numpy() / pairs["weights"].to_numpy())
    # the direction from the signed ranks themselves (a one-sided test at half the level), not from
    # the median ratio, which can point the other way
    lower = bool(stats.wilcoxon(logs, alternative="less").pvalue < alpha / 2)
    kept = [
        m for m in METRICS if f"ema_{m}" in rows and rows[m].notna().any() and rows[f"ema_{m}"].isna().all()
    ]
    return {
        **found,
        "generator": "ema" if lower else "weights",
        "lower_in": int((logs < 0).sum()),
        "median_ratio": float(np.exp(np.median(logs))),
        "wilcoxon_p": float(stats.wilcoxon(logs).pvalue),
        "weights_only": kept,
        "why": (
            "the average's FID is lower (Wilcoxon signed-rank on the paired log ratios)"
            if lower
            else "the average's FID is not significantly lower (Wilcoxon signed-rank)"
        ),
    }


def as_scored(table: pd.DataFrame, generator: str) -> pd.DataFrame:
    """The runs as the chosen generator scored them: with `ema`, each figure (and `collapsed`) is
    the weight average's where it was scored; runs.csv keeps both sets of columns."""
    if generator != "ema":
        return table
    # a figure the average was not scored on (the running study's averages have no CAS) stays the
    # weights', as generator_choice's `weights_only` records
    swapped = {
        m: table[f"ema_{m}"]
        for m in [*METRICS, "collapsed"]
        if f"ema_{m}" in table and not (table[f"ema_{m}"].isna().all() and table[m].notna().any())
    }
    return table.assign(**swapped)


def generator_choices(table: pd.DataFrame) -> dict:
    """generator_choice at each budget, as the ladder chooses its climbers: a weight average that
    has not yet forgotten its start (a short budget, a variant with few generator steps) does not
    score that budget because it pays off at a longer one."""
    return {budget: generator_choice(table, budget) for budget in budgets(table) or [None]}


def as_chosen(table: pd.DataFrame, generators) -> pd.DataFrame:
    """as_scored with each budget's generator: `generators` maps budget_images to `ema` or
    `weights` (a budget it does not name: the weights), or is one generator for every run."""
    if isinstance(generators, str):
        return as_scored(table, generators)
    if table.empty or "budget_images" not in table:
        return as_scored(table, generators.get(None, "weights"))
    frame = table.reset_index(drop=True)  # by position: the caller's index may repeat
    parts = [
        as_scored(part, generators.get(int(budget), "weights"))
        for budget, part in frame.groupby("budget_images", sort=False)
    ]
    unbudgeted = as_scored(frame[frame["budget_images"].isna()], generators.get(None, "weights"))
    return pd.concat([*parts, unbudgeted]).sort_index().set_axis(table.index)


def chosen_generators(final: Path):
    """Each budget's generator as write recorded it ({budget_images: generator}); the headline's
    one for every budget where the stage was written before budgets chose their own."""
    path = final / "generator_choice.json"
    if not path.is_file():
        return "weights"
    choice = json.loads(path.read_text())
    if "by_budget" not in choice:
        return choice["generator"]
    return {
        None if c.get("budget_images") is None else int(c["budget_images"]): c["generator"]
        for c in choice["by_budget"]
    }


def write(out_dir: Path, table: pd.DataFrame, histories: pd.DataFrame) -> pd.DataFrame:
    """runs.csv (every run at every budget), histories.csv, generator_choice.json (weights or their
    average, generator_choice), and at the headline budget (the longest every variant reached) the
    leaderboard, winners and time to quality; with a ladder, ladder.csv/.md: the leaderboard at
    every budget (the papers' defaults are scored at the first), and order.csv: each family's top 3
    at each budget. Each budget's leaderboard (and the headline's winners) scores that budget's
    chosen generator (generator_choices); time to quality reads every report's FID, which is the
    weights'."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ladder = budgets(table)
    if not table.empty:  # the report's strip plot draws collapsed seeds hollow
        flags = pd.concat([collapsed_runs(at_budget(table, b)) for b in ladder or [None]])
        table = table.assign(family=table["variant"].map(registry.family), collapsed=flags)
        if "ema_fid" in table:
            averaged = as_scored(table, "ema")
            flags = pd.concat([collapsed_runs(at_budget(averaged, b)) for b in ladder or [None]])
            table = table.assign(ema_collapsed=flags)
    table.to_csv(out_dir / "runs.csv", index=False)
    if not histories.empty:
        histories.to_csv(out_dir / "histories.csv", index=False)
    headline = headline_budget(table)
    choices = generator_choices(table) if not table.empty else {None: {"generator": "weights"}}
    generators = {budget: found["generator"] for budget, found in choices.items()}
    # the headline's choice at the top (the report's sentence leads with it), every budget's below
    # it (what the report's runs and the winners' generators read: chosen_generators)
    choice = {**choices[headline], "by_budget": list(choices.values())}
    (out_dir / "generator_choice.json").write_text(json.dumps(choice, indent=1))
    scored = as_chosen(table, generators)
    first = at_budget(scored, headline)
    # each budget's leaderboard once: the headline's, the goals' and the ladder's
    every = {b: leaderboard(at_budget(scored, b)) for b in ladder or [None]}
    board = every[headline]
    if not board.empty:
        board = board.assign(generator=choice["generator"])
    if headline is not None:
        board = board.assign(budget_images=headline)
    board.to_csv(out_dir / "leaderboard.csv", index=False)
    # every report up to the headline budget of the runs meant to reach it (the extra seeds that
    # stop at the first budget would count as never reaching a threshold), so that no variant is
    # timed on a longer budget
    early = histories
    if len(ladder) > 1 and not histories.empty:
        clock = histories["budget_images"] if "budget_images" in histories else histories["training_images"]
        there = at_budget(table, headline)[["variant", "arm", "seed"]].drop_duplicates()
        early = histories[clock <= headline].merge(there, on=["variant", "arm", "seed"])
    if "failed" in table and not early.empty:  # a failed run is left out, as in fid_scores
        lost = table.loc[table["failed"].fillna(False).astype(bool), ["variant", "arm", "seed"]]
        kept = early.merge(lost.drop_duplicates(), how="left", indicator=True)["_merge"] == "left_only"
        early = early[kept.to_numpy()]
    # the split the reports' FID was scored on (final_stage.results_table), for the figure's label
    split = histories["fid_on"].iloc[0] if "fid_on" in histories and len(histories) else "validation slice"
    time_to_quality(early).assign(fid_on=split).to_csv(out_dir / "time_to_quality.csv", index=False)
    goals(scored, every).to_csv(out_dir / "goals.csv", index=False)
    # the papers' defaults are trained to the first budget only: the search's gain is measured there
    gain = search_gain(at_budget(scored, ladder[0] if ladder else None))
    gain.to_csv(out_dir / "search_gain.csv", index=False)
    (out_dir / "search_gain.md").write_text(tables.markdown(tables.GAIN_NOTE, gain, tables.gain_table))
    found = winners(first)
    found.to_csv(out_dir / "winners.csv", index=False)
    note = tables.winners_note(found)
    (out_dir / "winners.md").write_text(tables.markdown(note, found, tables.winners_table))
    (out_dir / "leaderboard.md").write_text(
        tables.markdown(tables.LEADERBOARD_NOTE, board, tables.leaderboard_table)
    )
    if len(ladder) > 1:
        boards = [every[b].assign(budget_images=b, generator=generators[b]) for b in ladder]
        pd.concat(boards, ignore_index=True).to_csv(out_dir / "ladder.csv", index=False)
        parts = [tables.LEADERBOARD_NOTE, ""]
        for b, each in zip(ladder, boards):
            parts += [f"## {tables.budget_heading(b, each)}", ""]
            parts += [tables.markdown("", each, tables.leaderboard_table, level=3), ""]
        (out_dir / "ladder.md").write_text("\n".join(parts))
        order(boards, ladder).to_csv(out_dir / "order.csv", index=False)
    return board


def order(boards: list[pd.DataFrame], ladder: list[int], top: int = 3) -> pd.DataFrame:
    """Per family and budget: its best configurations' top `top` by median FID, and whether they
    are the same variants in the same order as at the budget before (where that one scored them)."""
    rows = []
    for family in registry.FAMILIES:
        before = None
        for budget, board in zip(ladder, boards):
            best = board[(board["arm"] == "best") & (board["family"] == family)] if len(board) else board
            ranked = list(best.sort_values(RANK, na_position="last", kind="stable")["variant"][:top])
            if not ranked:
                continue
            rows.append(
                {
                    "family": family,
                    "budget_images": budget,
                    "top": ", ".join(ranked),
                    "variants": len(best),
                    "same_order_as_before": None if before is None else kept_order(before, ranked),
                }
            )
            before = ranked
    return pd.DataFrame(rows)


def kept_order(before: list[str], now: list[str]) -> bool:
    """Whether `now` names variants of `before`, in `before`'s order (a later budget may hold
    fewer variants: the ladder takes only each family's best on)."""
    return set(now) <= set(before) and now == [v for v in before if v in now]
