"""How the final stage's leaderboard and winners are shown, a table a family: leaderboard.md and
winners.md (sweeps/study/analysis.py) and the report's final-stage part (sweeps/reporting) print
the same cells. Reads the CSV columns only: no Ray, no TensorFlow."""

from __future__ import annotations

import math

import pandas as pd

from ganlib import registry
from ganlib.data import NUM_CLASSES

LEADERBOARD_NOTE = (
    "Median FID over seeds with the 95% percentile-bootstrap interval of the median and the "
    "interquartile range; a conditional generator is handed the class, so each family is ranked "
    "apart. Every row is tested against its family's leader (the best configuration with the "
    "lowest median FID): Mann-Whitney, Holm-adjusted within the family, at 5%; ratio and Cliff's "
    "delta of the row's FIDs over the leader's; P(best): the bootstrap chance of the lowest median "
    "among the family's best configurations. Where a test cannot tell rows apart, the verdict gives "
    "the ratio of medians it would detect with 80% power at those seeds (at Holm's strictest "
    "level, 5% over the family's comparisons, simulated from the two rows' pooled spread on the "
    "log scale), or says that no difference is detectable there (the smallest attainable p). "
    f"A seed is collapsed when it covers fewer than {NUM_CLASSES} classes or its FID is over "
    "twice its arm's median. A run without a finite FID (its training diverged) ranks as the worst "
    "seed (an infinite FID) in its row's FID figures and tests; a run that failed with an error is "
    "left out, and both are counted beside the seeds. A papers'-defaults row marked (= best) is its "
    "best row's runs (the search's best was the defaults) and takes that row's verdict."
)


GAIN_NOTE = (
    "The search against the papers' defaults, each variant's two arms over their seeds at the first "
    "budget (the defaults are trained no further): FID medians [95% bootstrap interval], the ratio "
    "of medians (defaults over best: above 1, the search gained), Cliff's delta (defaults against "
    "best) and Mann-Whitney's p, Holm-adjusted over the variants."
)


def gain_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One family's search_gain rows (analysis.search_gain) as shown."""
    return pd.DataFrame(
        {
            "variant": rows["variant"],
            "best: seeds, FID median [95% interval]": [
                f"{r.best_seeds}, {spread(r.best, r.best_low, r.best_high, '.1f')}" for r in rows.itertuples()
            ],
            "defaults: seeds, FID median [95% interval]": [
                f"{r.defaults_seeds}, {spread(r.defaults, r.defaults_low, r.defaults_high, '.1f')}"
                for r in rows.itertuples()
            ],
            "ratio": rows["ratio_of_medians"].map(lambda v: number(v, ".2f")),
            "Cliff's delta": rows["cliffs_delta"].map(lambda v: number(v, "+.2f")),
            "Holm p": rows["p_holm"].map(lambda v: number(v, ".2g")),
            "verdict": rows["verdict"],
        }
    )


ORDER_NOTE = (
    "Whether each family's top 3 keep their order as the same runs train longer: its best "
    "configurations ranked by median FID at each budget (a budget that trains only the families' "
    "leaders on ranks fewer), and whether the variants still ranked keep the order "
    "they had at the budget before. A swap between rows the leaderboard cannot tell apart is within "
    "the noise of those seeds."
)


def order_table(rows: pd.DataFrame) -> pd.DataFrame:
    """analysis.order's rows as shown: yes or no where a budget came before, blank at the first."""
    kept = rows["same_order_as_before"].map(lambda v: "" if pd.isna(v) else ("yes" if v else "no"))
    return pd.DataFrame(
        {
            "family": rows["family"],
            "training images": rows["budget_images"].map(lambda v: f"{int(v):,}"),
            "top 3 by median FID": rows["top"],
            "variants ranked": rows["variants"],
            "same order as the budget before": kept,
        }
    )


def winners_note(rows: pd.DataFrame) -> str:
    """What the winners table (analysis.winners) answers from; the computing time's rates are the
    final stage's own unless the report put the rates measured alone in (analysis.with_alone_rates)."""
    metrics = set(rows.loc[rows["axis"] == "computing time", "metric"]) if "metric" in rows else set()
    alone, shared = (
        "images/s measured alone, the median over timed windows",
        ("images/s in the final stage, runs sharing the machine"),
    )
    if metrics == {"images_per_s_alone"}:
        rates = alone
    elif "images_per_s_alone" in metrics:  # a family with a variant not measured alone keeps the stage's
        rates = f"{alone} (images_per_s_alone), or {shared} (images_per_s)"
    else:
        rates = shared
    return (
        f"Per family and axis, among the best configurations: the variant with the best median "
        f"(computing time: {rates}), its 95% bootstrap interval and its bootstrap chance of the best "
        "median; the runner-up's verdict is Mann-Whitney against the winner, Holm-adjusted over the "
        "family's comparisons on that axis."
    )


def number(value, spec: str) -> str:
    """`value` formatted by `spec`, blank when it is missing."""
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    return "" if missing else format(value, spec)


def spread(centre, low, high, spec: str, missing: str = "", form: str = "{} [{}, {}]") -> str:
    """`centre [low, high]` (or `form`'s layout) formatted by `spec`; `missing` without a centre;
    the centre alone without an interval (one seed)."""
    if not number(centre, spec):
        return missing
    if not number(low, spec) or not number(high, spec):
        return format(centre, spec)
    return form.format(*(format(v, spec) for v in (centre, low, high)))


def by_family(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(family, its rows) in registry.FAMILIES' order, families without rows left out."""
    if frame.empty or "family" not in frame:
        return []
    return [(f, frame[frame["family"] == f]) for f in registry.FAMILIES if (frame["family"] == f).any()]


def budget_heading(budget, board: pd.DataFrame) -> str:
    """A budget's title in the ladder, with the generator its leaderboard scores (each budget's own
    choice, analysis.generator_choices) where the board records it."""
    said = f"{int(budget):,} training images"
    if "generator" in board and board["generator"].notna().any():
        which = board["generator"].dropna().iloc[0]
        scored_by = "the weights' moving average" if which == "ema" else "the weights"
        said += f" (scored by {scored_by})"
    return said


def heading(family: str) -> str:
    return f"{family.capitalize()} variants"


def leaderboard_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One family's leaderboard rows as shown: FID median with its interval, IQR, min to max, the
    test against the family's leader and the verdict."""
    leads = rows["verdict"] == "leader"
    return pd.DataFrame(
        {
            "variant": rows["variant"],
            "arm": [
                f"{arm} (= best)" if same and arm == "defaults" else arm
                for arm, same in zip(rows["arm"], rows["same_runs_as_best"])
            ],
            "seeds": [seeds_cell(r) for r in rows.to_dict("records")],
            "collapsed": rows["collapsed"],
            "FID median [95% interval]": [
                spread(r.fid, r.fid_low, r.fid_high, ".1f", "no finite FID") for r in rows.itertuples()
            ],
            "IQR": [spread(r.fid, r.fid_q1, r.fid_q3, ".1f", form="{1} to {2}") for r in rows.itertuples()],
            "min to max": [
                spread(r.fid, r.fid_min, r.fid_max, ".1f", form="{1} to {2}") for r in rows.itertuples()
            ],
            "Holm p": rows["p_holm"].map(lambda v: number(v, ".2g")),
            # the leader against itself (1.00, +0.00) says nothing
            "ratio": rows["ratio_of_medians"].where(~leads).map(lambda v: number(v, ".2f")),
            "Cliff's delta": rows["cliffs_delta"].where(~leads).map(lambda v: number(v, "+.2f")),
            "P(best)": rows["prob_best"].map(lambda v: number(v, ".2f")),
            "verdict": rows["verdict"],
            "training_images": rows["training_images"],
        }
    )


def read_count(value) -> int:
    """A count read back from a CSV: 0 where the column is missing (a table written before it)."""
    return 0 if value is None or pd.isna(value) else int(value)


def lost_runs(row) -> tuple[int, int]:
    """A leaderboard row's (mapping's) runs without a finite FID: (ranked worst, failed and left
    out), as analysis.fid_scores treats them."""
    failed = read_count(row.get("failed", 0))
    return read_count(row.get("non_finite", 0)) - failed, failed


def seeds_cell(row) -> str:
    """A leaderboard row's seeds, with those without a finite FID (lost_runs)."""
    worst, failed = lost_runs(row)
    said = [f"{worst} without a finite FID, ranked worst"] if worst else []
    said += [f"{failed} failed, left out"] if failed else []
    return f"{row['seeds']} ({'; '.join(said)})" if said else f"{row['seeds']}"


def winners_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One family's winners (analysis.winners) as shown."""
    return pd.DataFrame(
        {
            "axis": [
                f"{a} ({m}, {b} is better)" for a, m, b in zip(rows["axis"], rows["metric"], rows["better"])
            ],
            "winner": rows["variant"],
            "median [95% interval]": [spread(r.median, r.low, r.high, ".4g") for r in rows.itertuples()],
            "P(best)": rows["prob_best"].map(lambda v: number(v, ".2f")),
            "runner-up": rows["runner_up"].fillna(""),  # read back from a CSV, "" is NaN
            "runner-up against the winner": rows["runner_up_verdict"].fillna(""),
        }
    )


def markdown(note: str, frame: pd.DataFrame, shown, level: int = 2) -> str:
    """`note`, then a headed table a family: `shown(rows)` of the family's rows of `frame`."""
    parts = [note, ""]
    for family, rows in by_family(frame):
        parts += [f"{'#' * level} {heading(family)}", "", shown(rows).to_markdown(index=False), ""]
    return "\n".join(parts)
