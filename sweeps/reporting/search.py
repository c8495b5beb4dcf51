"""What a report says of the search itself: the best FID against trials so far (Lucic et al. 2018's
view of a search's budget), how much the 2,000-sample selection FID differs from 10,000 samples on
the finalists, and, from the final stage, the generators' weight averages against their weights and
the FID curves over seeds against training images and seconds alone.
Reads the export's CSVs only: no Ray, no TensorFlow."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from ganlib.divergence import SENTINEL_FID  # noqa: E402
from sweeps.reporting.figures import plain_log_axis, variant_colour  # noqa: E402
from sweeps.study.analysis import counted_once  # noqa: E402
from sweeps.study.statistics import median_interval  # noqa: E402


def started(trials: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """The variant's trials in the order they started (their first report's timestamp; a trial
    without a report goes last)."""
    if history.empty or "timestamp" not in history:
        return trials.reset_index(drop=True)
    first = history.groupby("trial_id")["timestamp"].min()
    return (
        trials.assign(_start=trials["trial_id"].map(first))
        .sort_values("_start", na_position="last", kind="stable")
        .drop(columns="_start")
        .reset_index(drop=True)
    )


def best_so_far(trials: dict, histories: dict) -> pd.DataFrame:
    """Per variant and trial count n: the lowest search FID among its first n trials (a diverged or
    failed trial counts as a trial and finds nothing)."""
    rows = []
    for variant, table in trials.items():
        ordered = started(table, histories.get(variant, pd.DataFrame()))
        fids = pd.to_numeric(ordered["sweep_fid"], errors="coerce").where(lambda f: f < SENTINEL_FID)
        best = fids.cummin().ffill()  # a trial that found nothing keeps the best before it
        rows += [{"variant": variant, "trials": n + 1, "best_fid": value} for n, value in enumerate(best)]
    return pd.DataFrame(rows)


def best_so_far_figure(frame: pd.DataFrame, path: Path) -> Path | None:
    if frame.empty or frame["best_fid"].notna().sum() == 0:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for variant, part in frame.groupby("variant", sort=False):
        ax.step(part["trials"], part["best_fid"], where="post", label=variant, color=variant_colour(variant))
    plain_log_axis(ax, "y")
    ax.set_xlabel("trials so far (in the order they started)")
    ax.set_ylabel("best search FID so far (validation slice)")
    ax.set_title("The search's budget: best FID against trials")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def selection_bias(trials: dict) -> pd.DataFrame:
    """Per variant, over its finalists (trials that ran their whole budget): the FID the search
    ranked them by (2,000 samples or the preset's eval_samples, validation slice, last report)
    against the same generators on 10,000 (final_val_fid): the median difference, and whether both
    pick the same finalist and rank them alike (Kendall's tau)."""
    rows = []
    for variant, table in trials.items():
        done = table.dropna(subset=["final_val_fid"])
        done = done[(done["last_fid"] < SENTINEL_FID) & (done["final_val_fid"] < SENTINEL_FID)]
        if done.empty:
            continue
        few, many = done["last_fid"].astype(float), done["final_val_fid"].astype(float)
        tau = stats.kendalltau(few, many).statistic if len(done) > 2 else math.nan
        rows.append(
            {
                "variant": variant,
                "finalists": len(done),
                "median_fid_search_samples": float(few.median()),
                "median_fid_10k": float(many.median()),
                "median_difference": float((few - many).median()),
                "same_pick": done.loc[few.idxmin(), "trial_id"] == done.loc[many.idxmin(), "trial_id"],
                "kendall_tau": float(tau),
            }
        )
    return pd.DataFrame(rows)


def averaged_against_raw(runs: pd.DataFrame) -> pd.DataFrame:
    """From the final stage's runs.csv, where it scored the generators' weight averages
    (`ema_fid`): per variant, arm and budget, the median FID of the weights and of their average,
    the ratio of the medians, the median of each seed's own ratio (average over weights) with its
    95% bootstrap interval (above 0), and in how many seeds the average scored lower. A defaults
    row made of its best row's runs is left out: those runs are the best's row."""
    if runs.empty or "ema_fid" not in runs or runs["ema_fid"].isna().all():
        return pd.DataFrame()
    runs = counted_once(runs)
    keys = ["variant", "arm"] + (["budget_images"] if "budget_images" in runs else [])
    rows = []
    for key, group in runs.dropna(subset=["fid", "ema_fid"]).groupby(keys):
        raw, averaged = group["fid"].astype(float), group["ema_fid"].astype(float)
        paired = (averaged / raw)[raw > 0]
        seed_ratio, low, high = median_interval(paired.to_numpy(), low=0.0)
        rows.append(
            {
                **dict(zip(keys, key)),
                "seeds": len(group),
                "fid_weights": float(raw.median()),
                "fid_average": float(averaged.median()),
                "ratio": float(averaged.median() / raw.median()) if raw.median() > 0 else math.nan,
                "seed_ratio": seed_ratio,
                "seed_ratio_low": low,
                "seed_ratio_high": high,
                "average_lower_in": int(np.sum(averaged.values < raw.values)),
            }
        )
    return pd.DataFrame(rows)


def load_search(results: Path, trials: dict, histories: dict, figures: Path) -> dict:
    """The report's search part: the best-so-far figure and table, the selection bias table, and
    the weight-average table where the final stage scored one."""
    frame = best_so_far(trials, histories)
    runs_path, histories_path = results / "final" / "runs.csv", results / "final" / "histories.csv"
    runs = pd.read_csv(runs_path) if runs_path.exists() else pd.DataFrame()
    final = pd.read_csv(histories_path) if histories_path.exists() else pd.DataFrame()
    alone = pd.read_csv(results / "throughput.csv") if (results / "throughput.csv").exists() else None
    if alone is not None:
        alone = alone.drop_duplicates("variant", keep="last")  # a re-measured variant's last row
    return {
        "best_so_far": frame,
        "figure": best_so_far_figure(frame, figures / "best_so_far.png"),
        "selection": selection_bias(trials),
        "averages": averaged_against_raw(runs),
        "bands": fid_bands_figure(fid_bands(final, alone, runs), figures / "fid_bands.png"),
        "loss_bands": loss_bands_figure(final, figures / "loss_bands.png", runs),
    }


def seed_bands(histories: pd.DataFrame, column: str, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per variant (best configuration) and report of the final stage's histories: `column`'s
    median over seeds, its range (low, high) and the seeds counted. Over the seeds meant to run the
    variant's whole length (the ladder's climbers: in `runs`, the final stage's runs.csv, a row at
    the variant's longest budget, a run lost on the way too; without it, the seeds that reported
    there), so that a band does not narrow where the extra seeds stop; a diverged report, or one
    without a finite value, is left out."""
    if histories.empty or column not in histories or "fid" not in histories:
        return pd.DataFrame()
    best = histories[histories["arm"] == "best"]
    if runs is not None and "budget_images" in runs:
        planned, clock = runs[runs["arm"] == "best"], "budget_images"
    else:
        planned, clock = best, "training_images"
    longest = planned.groupby("variant")[clock].transform("max")
    whole = planned.loc[planned[clock] == longest, ["variant", "seed"]].drop_duplicates()
    best = best.merge(whole, on=["variant", "seed"])
    values = pd.to_numeric(best[column], errors="coerce")
    best = best.assign(**{column: values})[(best["fid"] < SENTINEL_FID) & np.isfinite(values)]
    return (
        best.groupby(["variant", "training_images"])[column]
        .agg(median="median", low="min", high="max", seeds="count")
        .reset_index()
    )


def loss_bands_figure(histories: pd.DataFrame, path: Path, runs: pd.DataFrame | None = None) -> Path | None:
    """A row a loss family (registry.LOSS_FAMILIES: a loss is read against its own family's
    scale, never across), D loss and G loss against training images: a line a variant (the median
    over seeds, each report an epoch's mean) in its band (min to max over seeds)."""
    from ganlib import registry

    bands = {c: seed_bands(histories, c, runs) for c in ("d_loss", "g_loss")}
    if any(b.empty for b in bands.values()):
        return None
    family = lambda v: registry.get(v).loss_family  # noqa: E731
    families = [f for f in registry.LOSS_FAMILIES if bands["d_loss"]["variant"].map(family).eq(f).any()]
    fig, axes = plt.subplots(len(families), 2, figsize=(11, 3.6 * len(families)), squeeze=False)
    for row, loss_family in zip(axes, families):
        for ax, (column, band) in zip(row, bands.items()):
            part = band[band["variant"].map(family) == loss_family]
            for variant, curve in part.groupby("variant"):
                colour = variant_colour(variant)
                ax.plot(curve["training_images"], curve["median"], color=colour, label=variant)
                ax.fill_between(
                    curve["training_images"], curve["low"], curve["high"], color=colour, alpha=0.2
                )
            ax.set_title(f"{loss_family} loss: {column[0].upper()}", fontsize=9)
            ax.set_xlabel("training images")
            ax.set_ylabel("loss (median over seeds; band: min to max)")
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def fid_bands(
    histories: pd.DataFrame, alone: pd.DataFrame | None = None, runs: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The FID's seed bands (seed_bands), against training images and, where throughput.csv
    measured the variant's rate alone, against seconds of training alone (images / that rate)."""
    bands = seed_bands(histories, "fid", runs)
    if bands.empty:
        return bands
    rates = alone.set_index("variant")["images_per_s_alone"] if alone is not None and len(alone) else {}
    pairs = zip(bands["variant"], bands["training_images"])
    bands["seconds_alone"] = [images / rates[v] if v in rates else math.nan for v, images in pairs]
    return bands


def fid_bands_figure(bands: pd.DataFrame, path: Path) -> Path | None:
    """A row a family: FID against training images and, where the rates were measured alone,
    against seconds alone; a line a variant (the median over seeds) in its band (min to max over
    seeds)."""
    if bands.empty:
        return None
    from ganlib import registry

    families = [f for f in registry.FAMILIES if bands["variant"].map(registry.family).eq(f).any()]
    # seconds alone only where sweeps.study.throughput measured the rates
    clocks = ["training_images"] + (["seconds_alone"] if bands["seconds_alone"].notna().any() else [])
    fig, axes = plt.subplots(
        len(families), len(clocks), figsize=(5.5 * len(clocks), 4 * len(families)), squeeze=False
    )
    for row, family in zip(axes, families):
        part = bands[bands["variant"].map(registry.family) == family]
        for variant, curve in part.groupby("variant"):
            colour = variant_colour(variant)
            for ax, x in zip(row, clocks):
                if curve[x].isna().all():
                    continue
                ax.plot(curve[x], curve["median"], color=colour, label=variant)
                ax.fill_between(curve[x], curve["low"], curve["high"], color=colour, alpha=0.2)
        for ax, label in zip(row, ("training images", "seconds of training, measured alone")):
            ax.set_xlabel(label)
            ax.set_ylabel("FID (median over seeds; band: min to max)")
            plain_log_axis(ax, "y")
            ax.set_title(f"{family} variants")
        row[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
