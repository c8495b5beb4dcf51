"""After a sweep: pick each variant's best trial among its finalists (the trials that ran their
whole budget), by FID against the validation slice on `final_eval_samples` samples, not on one
noisy intermediate FID, and export its configuration, generator, grid and its metrics against the
test split, plus every trial's history and a leaderboard across variants. A variant without a
finalist gets a row that says why in its `reason` column.

Nothing here starts TensorFlow: the generator and grid are files in the trial's last checkpoint,
read wherever Ray stored them (a local folder or a bucket).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import yaml

from ganlib.divergence import SENTINEL_FID
from sweeps.search.trial_layout import FINAL_FILES, hyperparameters

LEADERBOARD_COLUMNS = [
    "variant",
    "fid",
    "val_fid",
    "kid",
    "kid_std",
    "precision",
    "recall",
    "density",
    "coverage",
    "classifier_score",
    "classes_covered",
    "class_kl_uniform",
    "conditional_accuracy",
    "cas",
    "fid_real_floor",
    "kid_real_floor",
    "sweep_fid",
    "training_images",
    "images_per_s",
    "train_seconds",
    "g_params",
    "d_params",
    "trials",
    "stopped_early",
    "diverged",
    "failed",
    "replaced",
    "trial_id",
    "seed",
    "reason",
]


def trial_table(result_grid, variant: str, max_training_images: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per trial, every report of every trial) for a variant's ResultGrid."""
    rows, histories = [], []
    for result in result_grid:
        config = result.config or {}
        history = result.metrics_dataframe if result.metrics_dataframe is not None else pd.DataFrame()
        # from the trial's own folder ({variant}_{id}): a failed trial's metrics may be empty
        trial_id = Path(result.path).name.removeprefix(f"{variant}_")
        if not history.empty:
            histories.append(history.assign(variant=variant, trial_id=trial_id))
        fids = history["fid"] if "fid" in history else pd.Series(dtype=float)
        last = result.metrics or {}
        diverged = bool(last.get("diverged", False))
        images = int(last.get("training_images", 0) or 0)
        rows.append(
            {
                "variant": variant,
                "trial_id": trial_id,
                "sweep_fid": float(fids.min()) if len(fids) else math.nan,
                "last_fid": float(fids.iloc[-1]) if len(fids) else math.nan,
                "training_images": images,
                "rounds": int(last.get("round", 0) or 0),
                "diverged": diverged,
                "failed": result.error is not None,
                "stopped_early": result.error is None and not diverged and 0 < images < max_training_images,
                "images_per_s": last.get("images_per_s"),
                "train_seconds": last.get("train_seconds"),
                "g_params": last.get("g_params"),
                "d_params": last.get("d_params"),
                "seed": (config.get("run") or {}).get("seed"),
                "final_fid": last.get("final_fid", math.nan),
                "final_val_fid": last.get("final_val_fid", math.nan),
                "hyperparameters": json.dumps(hyperparameters(config), sort_keys=True),
                "_result": result,
            }
        )
    table = pd.DataFrame(rows)
    return table, (pd.concat(histories, ignore_index=True) if histories else pd.DataFrame())


def export_variant(variant: str, result_grid, run: dict, preset, out_dir: Path) -> dict:
    """Export the best of the trials that ran their whole budget; returns its leaderboard row."""
    out_dir = Path(out_dir)
    table, history = trial_table(result_grid, variant, preset.max_training_images)
    (out_dir / "trials").mkdir(parents=True, exist_ok=True)
    table.drop(columns="_result", errors="ignore").to_csv(out_dir / "trials" / f"{variant}.csv", index=False)
    if not history.empty:
        history.to_csv(out_dir / "trials" / f"{variant}_history.csv", index=False)
    summary = {
        "variant": variant,
        "trials": len(table),
        "stopped_early": int(table["stopped_early"].sum()) if len(table) else 0,
        "diverged": int(table["diverged"].sum()) if len(table) else 0,
        "failed": int(table["failed"].sum()) if len(table) else 0,
        # PBT: reports at which a member went on from a better one's state
        "replaced": int(history["replaced"].fillna("").astype(bool).sum()) if "replaced" in history else 0,
    }
    finalists = (
        table[(~table["failed"]) & (~table["diverged"]) & table["final_val_fid"].lt(SENTINEL_FID)]
        if len(table)
        else table
    )
    finalists = [
        row
        for _, row in finalists.sort_values("final_val_fid").iterrows()
        if row["_result"].checkpoint is not None
    ]
    if not finalists:
        return {**summary, "fid": math.nan, "reason": no_finalist_reason(summary)}
    best_row = finalists[0]
    result = best_row["_result"]
    best_metrics = {
        key.removeprefix("final_"): value for key, value in result.metrics.items() if key.startswith("final_")
    }
    best_dir = out_dir / "best" / variant
    best_dir.mkdir(parents=True, exist_ok=True)
    with result.checkpoint.as_directory() as directory:
        for path in (Path(directory) / FINAL_FILES).iterdir():
            shutil.copyfile(path, best_dir / path.name)
    record = {
        "variant": variant,
        "trial_id": best_row["trial_id"],
        "seed": run["seed"],
        "hyperparameters": {**run["fixed"], **hyperparameters(result.config)},
        "sweep_fid": best_row["sweep_fid"],
        # chosen by val_fid (the validation slice), reported by fid (the test split)
        "finalists": [
            {
                "trial_id": row["trial_id"],
                "sweep_fid": row["sweep_fid"],
                "val_fid": row["final_val_fid"],
                "fid": row["final_fid"],
            }
            for row in finalists
        ],
        "preset": preset.name,
    }
    (best_dir / "config.json").write_text(json.dumps(record, indent=2, default=str))
    (best_dir / "config.yaml").write_text(
        yaml.safe_dump(json.loads(json.dumps(record, default=str)), sort_keys=False)
    )
    (best_dir / "metrics.json").write_text(json.dumps(best_metrics, indent=2, default=str))
    row = {key: best_metrics.get(key) for key in LEADERBOARD_COLUMNS if key in best_metrics}
    row.update(
        {
            key: best_row[key]
            for key in (
                "sweep_fid",
                "training_images",
                "images_per_s",
                "train_seconds",
                "g_params",
                "d_params",
                "trial_id",
                "seed",
            )
        }
    )
    return {**row, **summary}


def no_finalist_reason(summary: dict) -> str:
    """Why a variant has no trial that ran its whole budget, from its trials' outcomes."""
    parts = [
        f"{summary[key]} {word}"
        for key, word in (("diverged", "diverged"), ("failed", "failed"), ("stopped_early", "stopped early"))
        if summary[key]
    ]
    return f"no finalist: of {summary['trials']} trials, " + (
        ", ".join(parts) if parts else "none ran its whole budget"
    )


def write_leaderboard(rows: list[dict], out_dir: Path) -> pd.DataFrame:
    board = pd.DataFrame(rows)
    board = board[[c for c in LEADERBOARD_COLUMNS if c in board.columns]].sort_values(
        "fid", na_position="last"
    )
    board.to_csv(Path(out_dir) / "leaderboard.csv", index=False)
    (Path(out_dir) / "leaderboard.md").write_text(board.to_markdown(index=False, floatfmt=".4g") + "\n")
    return board
