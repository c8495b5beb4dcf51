"""The report's figures, each a PNG file: FID curves of every trial, the best trial's losses, FID
against each searched hyperparameter, every variant's best samples side by side, and every final
stage seed's FID."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    Locator,
    LogLocator,
    MaxNLocator,
    NullFormatter,
)

from ganlib import registry  # noqa: E402
from ganlib.divergence import SENTINEL_FID  # noqa: E402
from sweeps.study.analysis import counted_once, fid_scores, ranked_variants  # noqa: E402


class PlainLogLocator(Locator):
    """Major ticks of a logarithmic FID axis at round numbers: the densest of 1, 1-2-5, 1-2-3-5 and
    1-9 times a power of ten that puts at most `most` ticks in view, and evenly spaced ticks when the
    view is too narrow to hold two of those. Matplotlib's own log locator labels either the decades
    alone (too few on a span like 20-900) or every minor tick, where the labels run together."""

    SEQUENCES = ((1,), (1, 2, 5), (1, 2, 3, 5), tuple(range(1, 10)))

    def __init__(self, most: int = 9):
        self.most = most

    def __call__(self):
        low, high = self.axis.get_view_interval()
        return self.tick_values(low, high)

    def tick_values(self, vmin, vmax):
        low, high = sorted((float(vmin), float(vmax)))
        low = max(low, np.finfo(float).tiny)
        high = max(high, low)
        powers = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
        chosen = []
        for sequence in self.SEQUENCES:
            # rounded so that 3 x 10^-1 is 0.3, which the view's bounds compare against exactly
            ticks = [float(f"{m}e{k}") for k in powers for m in sequence]
            inside = [t for t in ticks if low <= t <= high]
            if len(inside) > self.most:
                if not chosen:  # more decades than ticks: every few decades
                    chosen = inside[:: -(-len(inside) // self.most)]
                break
            chosen = inside
        if len(chosen) < 2:  # under two round numbers in view: evenly spaced ones
            chosen = [t for t in MaxNLocator(4).tick_values(low, high) if low <= t <= high]
        return np.unique(chosen)


def variant_colour(variant: str):
    """One colour a variant in every figure, so a line can be matched across them: tab10's colours
    in the registry's order, then black; grey for a name the registry does not know."""
    names = registry.names()
    if variant not in names:
        return "grey"
    index = names.index(variant)
    return plt.cm.tab10(index) if index < 10 else "black"


def plain_log_axis(axis, which: str = "x") -> None:
    """A logarithmic FID axis labelled in plain numbers at round values (matplotlib's default writes
    2 x 10^2), its minor ticks unlabelled."""
    getattr(axis, f"set_{which}scale")("log")
    target = axis.xaxis if which == "x" else axis.yaxis
    target.set_major_locator(PlainLogLocator())
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_minor_locator(LogLocator(subs="all"))
    target.set_minor_formatter(NullFormatter())


def fid_curves(histories: dict, trials: dict, path: Path) -> Path:
    """FID against training images, every trial; ASHA's stops end in an x, divergences in a red dot."""
    variants = list(histories)
    columns = min(5, len(variants))
    rows = (len(variants) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False)
    for axis, variant in zip(axes.flat, variants):
        history, table = histories[variant], trials[variant].set_index("trial_id")
        for trial_id, runs in history.groupby("trial_id") if not history.empty else []:
            runs = runs.sort_values("training_images")
            finite = runs[runs["fid"] < SENTINEL_FID]
            line = axis.plot(finite["training_images"], finite["fid"], linewidth=1)[0]
            info = table.loc[trial_id] if trial_id in table.index else {}
            if bool(info.get("stopped_early", False)) and len(finite):
                axis.plot(
                    finite["training_images"].iloc[-1],
                    finite["fid"].iloc[-1],
                    "x",
                    color=line.get_color(),
                    markersize=7,
                )
            if bool(info.get("diverged", False)):
                axis.plot(
                    runs["training_images"].iloc[-1],
                    finite["fid"].max() if len(finite) else 0,
                    "o",
                    color="red",
                )
        axis.set_title(variant, fontsize=10)
        plain_log_axis(axis, "y")
        axis.set_xlabel("training images", fontsize=8)
        axis.set_ylabel("FID (validation slice)", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(variants) :]:
        axis.axis("off")
    figure.suptitle("FID during the sweep (x: stopped early by ASHA, red dot: diverged)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def best_losses(history: pd.DataFrame, trial_id: str, variant: str, path: Path) -> Path | None:
    runs = (
        history[history["trial_id"] == trial_id].sort_values("training_images")
        if not history.empty
        else history
    )
    if runs.empty or "d_loss" not in runs:
        return None
    figure, axis = plt.subplots(figsize=(4.2, 2.8))
    axis.plot(runs["training_images"], runs["d_loss"], marker="o", label="D loss")
    axis.plot(runs["training_images"], runs["g_loss"], marker="o", label="G loss")
    axis.set_xlabel("training images")
    axis.set_title(f"{variant}: losses of the best trial (epoch means)", fontsize=9)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def fid_against_hyperparameters(variant: str, table: pd.DataFrame, path: Path) -> Path | None:
    done = table[(~table["failed"]) & (~table["diverged"]) & table["sweep_fid"].notna()]
    if done.empty:
        return None
    params = pd.DataFrame([json.loads(h) for h in done["hyperparameters"]], index=done.index)
    params = params[[c for c in params.columns if params[c].nunique() > 1]]
    if params.empty:
        return None
    figure, axes = plt.subplots(
        1, len(params.columns), figsize=(2.6 * len(params.columns), 2.5), squeeze=False
    )
    for axis, column in zip(axes.flat, params.columns):
        values = pd.to_numeric(params[column], errors="coerce")
        if values.isna().any():  # a categorical hyperparameter: one column of points per value
            categories = sorted(params[column].astype(str).unique())
            values = params[column].astype(str).map(categories.index)
            axis.set_xticks(range(len(categories)), categories, fontsize=7)
        axis.scatter(values, done["sweep_fid"], s=14)
        space = registry.get(variant).search_space.get(column)
        if getattr(space, "log", False):  # Optuna's FloatDistribution(..., log=True)
            axis.set_xscale("log")
        axis.set_xlabel(column, fontsize=8)
        axis.set_ylabel("best FID (validation)", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    figure.suptitle(f"{variant}: FID against each searched hyperparameter", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def best_grids(board: pd.DataFrame, results: Path, path: Path) -> Path | None:
    """Every variant's best samples side by side, in leaderboard order: the study at a glance."""
    shown = [
        (row["variant"], row["fid"], results / "best" / row["variant"] / "samples.png")
        for _, row in board.iterrows()
    ]
    shown = [(variant, fid, png) for variant, fid, png in shown if png.exists()]
    if not shown:
        return None
    columns = min(5, len(shown))
    rows = -(-len(shown) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.4 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, (variant, fid, png) in zip(axes.flat, shown):
        axis.imshow(plt.imread(png))
        axis.set_title(f"{variant}: FID {fid:.1f}", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def schedule_figure(schedule: dict, path: Path) -> Path | None:
    """A PBT member's learning rates over its lineage (steps where it copied another member or a
    mutation changed them; the copies marked) against its FID at every report."""
    segments, trace = schedule.get("segments") or [], schedule.get("trace") or []
    if not segments or not trace:
        return None
    end = trace[-1]["training_images"]
    starts = [each["training_images"] for each in segments]
    figure, axis = plt.subplots(figsize=(5.6, 3.0))
    for name, colour in (("g_lr", "tab:blue"), ("d_lr", "tab:orange")):
        values = [each["config"].get(name) for each in segments]
        if any(value is None for value in values):
            continue
        axis.step([*starts, end], [*values, values[-1]], where="post", color=colour, label=name)
    axis.set_yscale("log")
    axis.set_xlabel("training images")
    axis.set_ylabel("learning rate")
    for before, after in zip(segments, segments[1:]):
        if after["trial"] != before["trial"]:
            axis.axvline(after["training_images"], color="grey", linestyle=":", linewidth=1)
            axis.annotate(
                f"copy of {before['trial']}",
                (after["training_images"], axis.get_ylim()[0]),
                fontsize=5,
                rotation=90,
                va="bottom",
                ha="right",
            )
    fid = axis.twinx()
    scored = [row for row in trace if "fid" in row]
    fid.plot([r["training_images"] for r in scored], [r["fid"] for r in scored], "k.-", label="FID")
    fid.set_ylabel("FID (validation slice)")
    lines = axis.get_legend_handles_labels()[0] + fid.get_legend_handles_labels()[0]
    axis.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="upper left")
    axis.set_title(f"{schedule['variant']}: the best member's schedule and FID", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


# the strip plot's arms: marker and colour, and how far below its variant's row an arm is drawn
ARM_STYLE = {"best": ("o", "tab:blue", 0.0), "defaults": ("^", "tab:orange", 0.3)}


def drawn_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The final stage's runs.csv as the strip plot reads it, with a numeric `fid`; a defaults arm
    made of its best arm's runs is left out, its seeds being the best arm's."""
    return counted_once(runs).assign(
        collapsed=lambda r: r["collapsed"].fillna(False).astype(bool),
        fid=lambda r: pd.to_numeric(r["fid"], errors="coerce"),
    )


def strip_points(runs: pd.DataFrame) -> pd.DataFrame:
    """The strip plot's dots from drawn_runs: one a seed with a finite FID, with `row` (0 for the
    variant whose best configuration has the lowest median FID in its family, and so on) and
    `median` (its arm's median FID)."""
    # the leaderboard's median: a run without a finite FID in it as the worst (no dot, no bar if inf)
    medians = runs.assign(score=fid_scores(runs)).groupby(["variant", "arm"])["score"].transform("median")
    dots = runs.assign(median=medians)[np.isfinite(runs["fid"])]
    order = ranked_variants(runs[runs["arm"] == "best"])  # the leaderboard's order
    rows = {}
    for _, family in dots.groupby("family"):
        variants = set(family["variant"])
        # a variant without a finite FID from its best configuration goes below the others
        ranked = [v for v in order if v in variants]
        rows.update({v: i for i, v in enumerate(ranked + sorted(variants - set(ranked)))})
    return dots.assign(row=dots["variant"].map(rows))


def strip_figure(runs: pd.DataFrame):
    """Every final-stage seed's FID on the test split as a dot, a panel a family and a row a
    variant: its best configuration, and its papers' defaults just below it in another marker;
    each arm's median a bar, a collapsed seed hollow, the FID axis logarithmic. A row's label
    counts its seeds without a finite FID, which have no dot."""
    copied = runs["same_runs_as_best"].fillna(False).astype(bool) if "same_runs_as_best" in runs else False
    once = set(runs.loc[copied & (runs["arm"] == "defaults"), "variant"])
    runs = drawn_runs(runs)
    dots = strip_points(runs)
    if dots.empty:
        return None
    missing = runs[~np.isfinite(runs["fid"])].groupby("variant").size()
    families = [f for f in registry.FAMILIES if (dots["family"] == f).any()]
    heights = [int(dots.loc[dots["family"] == f, "row"].max()) + 1 for f in families]
    figure, axes = plt.subplots(
        len(families),
        1,
        figsize=(7.5, 1.2 + 0.45 * sum(heights) + 0.6 * len(families)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for axis, family in zip(axes[:, 0], families):
        mine = dots[dots["family"] == family]
        for (arm, row), arm_dots in mine.groupby(["arm", "row"]):
            marker, colour, below = ARM_STYLE.get(arm, ("s", "tab:grey", 0.15))
            y = np.full(len(arm_dots), row + below)
            full, hollow = ~arm_dots["collapsed"].to_numpy(), arm_dots["collapsed"].to_numpy()
            axis.scatter(arm_dots["fid"][full], y[full], marker=marker, color=colour, s=30, zorder=3)
            axis.scatter(
                arm_dots["fid"][hollow], y[hollow], marker=marker, facecolors="none", edgecolors=colour, s=30
            )
            axis.plot(arm_dots["median"].iloc[0], row + below, "|", color="black", markersize=16, mew=2)
        labels = mine.groupby("row")["variant"].first()
        axis.set_yticks(
            [row + 0.15 for row in labels.index],
            [
                v
                + (" (defaults = best)" if v in once else "")
                + (f" ({missing[v]} without an FID)" if v in missing else "")
                for v in labels
            ],
            fontsize=8,
        )
        axis.set_ylim(len(labels) - 0.4, -0.4)
        plain_log_axis(axis, "x")
        axis.set_title(f"{family} variants", fontsize=9)
        axis.grid(axis="x", which="both", alpha=0.3)
        axis.tick_params(axis="x", labelsize=7)
    axes[-1, 0].set_xlabel("FID on the test split (log scale)", fontsize=8)
    handles = [
        Line2D([], [], marker="o", color="tab:blue", linestyle="", label="best configuration"),
        Line2D([], [], marker="^", color="tab:orange", linestyle="", label="papers' defaults"),
        Line2D(
            [], [], marker="o", color="tab:blue", markerfacecolor="none", linestyle="", label="collapsed seed"
        ),
        Line2D([], [], marker="|", color="black", markersize=12, mew=2, linestyle="", label="median"),
    ]
    axes[0, 0].legend(handles=handles, fontsize=7, loc="best")
    figure.suptitle("Final stage: every seed's FID, each family apart", fontsize=10)
    figure.tight_layout()
    return figure


def fid_strip(runs: pd.DataFrame, path: Path) -> Path | None:
    """strip_figure saved as a PNG file; None where no seed has a finite FID."""
    figure = strip_figure(runs)
    if figure is None:
        return None
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def class_shares(runs: pd.DataFrame, path: Path) -> Path | None:
    """The evaluator's class histogram of each variant's best configuration (at the leaderboard's
    budget): the median share of each digit over seeds, a bar a digit, against the uniform 10%;
    a panel a variant, the unconditional family first."""
    columns = [f"class_{d}" for d in range(10)]
    if runs.empty or not set(columns) <= set(runs.columns) or runs[columns].isna().all().all():
        return None
    best = runs[(runs["arm"] == "best")].dropna(subset=columns)
    present = sorted(best["variant"].unique())
    variants = [v for family in registry.FAMILIES for v in present if registry.family(v) == family]
    if not variants:
        return None
    cols = 4
    rows = -(-len(variants) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.2 * rows), squeeze=False, sharey=True)
    for ax, variant in zip(axes.flat, variants):
        shares = best[best["variant"] == variant][columns]
        ax.bar(range(10), shares.median(), color="tab:blue")
        ax.vlines(range(10), shares.min(), shares.max(), color="black", linewidth=1)
        ax.axhline(0.1, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(f"{variant} ({registry.family(variant)}, {len(shares)} seeds)", fontsize=8)
        ax.set_xticks(range(10))
    for ax in axes.flat[len(variants) :]:
        ax.axis("off")
    fig.suptitle("Share of samples the evaluator puts in each digit (median over seeds, min-max line)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def seed_grids(final: Path, runs: pd.DataFrame, figures: Path) -> dict[str, Path]:
    """A figure a variant: the sample grid of each of its final runs (every seed, at the budget each
    ran to; final/runs/, final_stage.collect_runs), a row an arm and budget (the best configuration's
    budgets from the shortest, then the papers' defaults; a row of one ladder's length stays
    readable where a row an arm would hold every budget's seeds), titled with its seed, budget and
    FID (the weights', which drew the grid, where a table may score their average), a collapsed
    seed's title in red."""
    import matplotlib.image as mpimg

    drawn = {}
    folders = sorted((final / "runs").iterdir()) if (final / "runs").is_dir() else []
    by_variant: dict[str, dict[str, list]] = {}
    for folder in folders:
        # <variant>_<arm>_s<seed>_<images>; a variant's name may hold an underscore (wgan_gp)
        named = re.fullmatch(r"(.+)_(best|defaults)_s(\d+)_(\d+)", folder.name)
        if named is None or not (folder / "samples.png").is_file():
            continue
        variant, arm, seed, images = named[1], named[2], int(named[3]), int(named[4])
        by_variant.setdefault(variant, {}).setdefault((arm, images), []).append(
            (seed, folder / "samples.png")
        )
    for variant, rows in by_variant.items():
        shown = sorted(rows, key=lambda key: (key[0] != "best", key[1]))  # best first, shortest first
        columns = max(len(rows[key]) for key in shown)
        fig, axes = plt.subplots(
            len(shown), columns, figsize=(2.2 * columns, 2.6 * len(shown)), squeeze=False
        )
        for line, (arm, images) in zip(axes, shown):
            for ax in line:
                ax.axis("off")
            for ax, (seed, png) in zip(line, sorted(rows[(arm, images)])):
                ax.imshow(mpimg.imread(png), cmap="gray")
                row = runs[
                    (runs["variant"] == variant)
                    & (runs["arm"] == arm)
                    & (runs["seed"] == seed)
                    & (runs.get("budget_images", runs["training_images"]) == images)
                ]
                fid = float(row["fid"].iloc[0]) if len(row) else float("nan")
                collapsed = bool(row["collapsed"].iloc[0]) if len(row) and "collapsed" in row else False
                ax.set_title(
                    f"{arm}, seed {seed}, {images:,}\nthe weights' FID {fid:.1f}"
                    + (" (collapsed)" if collapsed else ""),
                    fontsize=7,
                    color="tab:red" if collapsed else "black",
                )
        fig.suptitle(f"{variant}: every final seed", fontsize=9)
        fig.tight_layout()
        path = figures / f"seeds_{variant}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        drawn[variant] = path
    return drawn
