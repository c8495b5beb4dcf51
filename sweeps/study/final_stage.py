"""The study's final stage, after the search: each variant's best configuration and its papers'
defaults trained again at one equal budget (the same training images for every variant) with
several seeds, every run scored on the test split with the full evaluation, and every figure given
with its 95% interval over seeds.

The search ranks by one noisy run per configuration; this stage says what a configuration gives
across seeds, so that gaps between variants can be told from noise. Runs go through the sweep's
own trainable (no early stopping, every run its whole budget), as one Ray Tune experiment.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ganlib import schedule as schedules
from sweeps.search.plan import Setup, storage_join, trial_resources, variant_run
from sweeps.search.trainable import GANTrainable

ARMS = ("best", "defaults")
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
]


def entries(setup: Setup, export_dir: Path, seeds: list[int], rounds: int) -> list[dict]:
    """One trial config per (variant, arm, seed): the best trial's hyperparameters (from the
    export) and the papers' defaults, at `rounds` reports of the preset's eval_every_images."""
    from sweeps.search.spaces import paper_defaults_point

    found = []
    for variant in setup.variants:
        record = export_dir / "best" / variant / "config.json"
        if not record.exists():  # no finalist: nothing chosen to retrain
            continue
        run = variant_run(setup, variant)
        searched = json.loads(record.read_text())["hyperparameters"]
        schedule_file, schedule = record.with_name(schedules.FILE), None
        if schedule_file.is_file():  # a PBT winner: retrained by its schedule, from its first config
            schedule = schedules.changes(json.loads(schedule_file.read_text()))
            searched = schedule[0]["config"]
        points = {
            "best": {k: v for k, v in searched.items() if k not in run["fixed"]},
            "defaults": paper_defaults_point(variant, run["fixed"]),
        }
        # the search's best may be the papers' defaults (its first trial): trained once, both rows
        same = points["best"] == points["defaults"] and len(schedule or [0]) == 1
        for arm in ARMS[:1] if same else ARMS:
            for seed in seeds:
                found.append(
                    {
                        "run": {
                            **run,
                            "seed": seed,
                            "max_rounds": rounds,
                            "arm": arm,
                            "best_is_defaults": same,
                            "scheduler": "none",  # every run its whole budget; a diverged one ends
                            **({"schedule": schedule} if arm == "best" and schedule else {}),
                        },
                        **points[arm],
                    }
                )
    return found


def run(setup: Setup, configs: list[dict], name: str, verbose: bool = False):
    """Every config its whole budget, as one Ray Tune experiment (resumable like the search)."""
    from ray import tune

    from sweeps.search.experiment import console, restored

    trainable = tune.with_resources(FinalTrainable, trial_resources(setup.run))
    path = storage_join(setup.storage, name)
    if (tuner := restored(path, trainable)) is not None:
        return tuner.fit()
    variants = sorted({c["run"]["variant"] for c in configs})
    rounds = max(c["run"]["max_rounds"] for c in configs)
    per_variant = max(1, len(configs) // max(1, len(variants)))
    tuner = tune.Tuner(
        trainable,
        param_space={"final": tune.grid_search(configs)},
        tune_config=tune.TuneConfig(
            reuse_actors=True,
            trial_dirname_creator=lambda trial: "{variant}_{arm}_s{seed}_{id}".format(
                id=trial.trial_id, **trial.config["final"]["run"]
            ),
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=setup.storage,
            failure_config=tune.FailureConfig(max_failures=2),
            sync_config=tune.SyncConfig(sync_artifacts=True),  # each run's grids, as the search's trials
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=1, checkpoint_frequency=1, checkpoint_at_end=True
            ),
            verbose=1 if verbose else 0,
            callbacks=console(setup, variants, per_variant, rounds, name, verbose),
        ),
    )
    return tuner.fit()


class FinalTrainable(GANTrainable):
    """The search's trainable, its config under "final" (one grid point a run)."""

    def setup(self, config: dict) -> None:
        super().setup(config["final"])

    def reset_config(self, new_config: dict) -> bool:
        return super().reset_config(new_config["final"])


def results_table(grid) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per run with its test-split figures, every report of every run)."""
    rows, histories = [], []
    for result in grid:
        config = (result.config or {}).get("final", {})
        run, metrics = config.get("run", {}), result.metrics or {}
        history = result.metrics_dataframe if result.metrics_dataframe is not None else pd.DataFrame()
        key = {"variant": run.get("variant"), "arm": run.get("arm"), "seed": run.get("seed")}
        if not history.empty:
            histories.append(history.assign(**key))
        row = {
            **key,
            "training_images": metrics.get("training_images"),
            "train_seconds": metrics.get("train_seconds"),
            "images_per_s": metrics.get("images_per_s"),
            "diverged": bool(metrics.get("diverged", False)),
            "failed": result.error is not None,
        }
        row["generator_steps"] = metrics.get("generator_steps")
        row.update({m: metrics.get(f"final_{m}", math.nan) for m in METRICS})
        rows.append(row)
        if run.get("best_is_defaults"):  # the same runs stand for the papers' defaults
            rows.append({**row, "arm": "defaults", "same_runs_as_best": True})
            if not history.empty:
                histories.append(history.assign(**{**key, "arm": "defaults"}))
    table = pd.DataFrame(rows)
    if not table.empty:
        same = table.get("same_runs_as_best", pd.Series(False, index=table.index))
        table["same_runs_as_best"] = same.fillna(False).astype(bool)
    return table, (pd.concat(histories, ignore_index=True) if histories else pd.DataFrame())


def interval(values) -> tuple[float, float, float, int]:
    """(mean, low, high, n): the mean and its 95% t interval over seeds (n < 2: no interval)."""
    from scipy import stats

    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    half = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def leaderboard(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per variant and arm: every figure's mean and 95% interval over seeds, ranked by mean FID;
    `top`: the best configuration with the lowest mean FID; `differs_from_top`: Welch's t-test of
    a row's FIDs against the top's, Holm-corrected over the other rows (True: significant at `alpha`)."""
    from scipy import stats

    rows = []
    for (variant, arm), group in table.groupby(["variant", "arm"]):
        row = {
            "variant": variant,
            "arm": arm,
            "seeds": int(len(group)),
            "diverged": int(group["diverged"].sum()),
            "training_images": group["training_images"].max(),
            "generator_steps": group["generator_steps"].max(),
            "same_runs_as_best": (
                bool(group["same_runs_as_best"].any()) if "same_runs_as_best" in group else False
            ),
        }
        for metric in [m for m in METRICS + ["images_per_s"] if m in group]:
            mean, low, high, n = interval(group[metric].tolist())
            row.update({metric: mean, f"{metric}_low": low, f"{metric}_high": high})
        rows.append(row)
    # on a tie (a defaults row made of its best row's runs) the best row comes first
    board = (
        pd.DataFrame(rows)
        .sort_values(["fid", "arm"], na_position="last", kind="stable")
        .reset_index(drop=True)
    )
    if board.empty:
        return board
    # the reference: the best configuration with the lowest mean FID (the study's question is
    # which variant wins; a papers'-defaults row is compared with it like any other)
    ranked_best = board.index[board["arm"] == "best"]
    top_row = ranked_best[0] if len(ranked_best) else 0
    top = table[
        (table["variant"] == board.loc[top_row, "variant"]) & (table["arm"] == board.loc[top_row, "arm"])
    ]["fid"].dropna()
    # a defaults row made of its best row's runs is not another comparison: it takes that row's verdict
    copies = board.index[(board["arm"] == "defaults") & board["same_runs_as_best"]]
    others = [i for i in board.index if i != top_row and i not in copies]
    pvalues = []
    for i in others:
        other = table[(table["variant"] == board.loc[i, "variant"]) & (table["arm"] == board.loc[i, "arm"])][
            "fid"
        ].dropna()
        pvalues.append(
            float(stats.ttest_ind(top, other, equal_var=False).pvalue)
            if len(top) > 1 and len(other) > 1
            else math.nan
        )
    board["top"] = board.index == top_row
    board["p_vs_top"] = math.nan
    board.loc[others, "p_vs_top"] = pvalues
    board["differs_from_top"] = False
    board.loc[others, "differs_from_top"] = holm(pvalues, alpha)
    for i in copies:
        original = board.index[(board["variant"] == board.loc[i, "variant"]) & (board["arm"] == "best")][0]
        verdict = ["p_vs_top", "differs_from_top"]
        board.loc[i, verdict] = board.loc[original, verdict].values
    return board


def holm(pvalues: list[float], alpha: float) -> list[bool]:
    """Holm's step-down rejections for a family of p-values (NaN: never rejected)."""
    order = sorted(range(len(pvalues)), key=lambda i: (math.isnan(pvalues[i]), pvalues[i]))
    rejected, m = [False] * len(pvalues), sum(not math.isnan(p) for p in pvalues)
    for rank, i in enumerate(order):
        if math.isnan(pvalues[i]) or pvalues[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected


def time_to_quality(histories: pd.DataFrame, thresholds=(400.0, 200.0, 100.0)) -> pd.DataFrame:
    """Per variant and arm: the training images and training seconds at the first report whose FID
    (validation slice) is at or below each threshold, mean over the seeds that reached it."""
    rows = []
    if histories.empty:
        return pd.DataFrame()
    for (variant, arm), group in histories.groupby(["variant", "arm"]):
        row = {"variant": variant, "arm": arm, "seeds": group["seed"].nunique()}
        for threshold in thresholds:
            reached = []
            for _, runs in group.sort_values("training_iteration").groupby("seed"):
                hit = runs[runs["fid"] <= threshold]
                if len(hit):
                    reached.append((hit["training_images"].iloc[0], hit["train_seconds"].iloc[0]))
            label = f"{threshold:g}"
            row[f"reached_{label}"] = len(reached)
            row[f"images_to_{label}"] = float(np.mean([r[0] for r in reached])) if reached else math.nan
            row[f"seconds_to_{label}"] = float(np.mean([r[1] for r in reached])) if reached else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def vs_top(row, board: pd.DataFrame) -> str:
    if row["top"]:
        return "top"
    if (
        row["same_runs_as_best"]
        and row["arm"] == "defaults"
        and board.loc[board["top"], "variant"].eq(row["variant"]).any()
    ):
        return "top (same runs)"
    return "differs" if row["differs_from_top"] else "not significantly"


def write(out_dir: Path, table: pd.DataFrame, histories: pd.DataFrame) -> pd.DataFrame:
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "runs.csv", index=False)
    if not histories.empty:
        histories.to_csv(out_dir / "histories.csv", index=False)
    board = leaderboard(table)
    board.to_csv(out_dir / "leaderboard.csv", index=False)
    time_to_quality(histories).to_csv(out_dir / "time_to_quality.csv", index=False)
    shown = board.assign(
        **{
            "arm": [
                f"{a} (= best)" if same and a == "defaults" else a
                for a, same in zip(board["arm"], board["same_runs_as_best"])
            ],
            "FID (95% interval)": [
                f"{r.fid:.1f} [{r.fid_low:.1f}, {r.fid_high:.1f}]" for r in board.itertuples()
            ],
            "vs top": [vs_top(row, board) for _, row in board.iterrows()],
        }
    )
    columns = [
        "variant",
        "arm",
        "seeds",
        "FID (95% interval)",
        "vs top",
        "p_vs_top",
        "training_images",
        "generator_steps",
    ]
    (out_dir / "leaderboard.md").write_text(shown[columns].to_markdown(index=False, floatfmt=".3g") + "\n")
    return board
