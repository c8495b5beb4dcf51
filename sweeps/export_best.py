"""After a sweep: re-evaluate each variant's top trials at full sample size, pick the best on that
(not on one noisy intermediate FID), and export its configuration, generator, grid and metrics,
plus every trial's history and a leaderboard across variants.

Re-evaluation runs as Ray tasks, so TensorFlow never starts in the driver and the checkpoints are
read wherever Ray stored them (a local folder or a bucket).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import ray
import yaml

from sweeps.trainable import SENTINEL_FID, hyperparameters

LEADERBOARD_COLUMNS = [
    "variant", "fid", "kid", "kid_std", "precision", "recall", "density", "coverage", "classifier_score",
    "classes_covered", "class_kl_uniform", "conditional_accuracy", "cas", "fid_real_floor", "kid_real_floor",
    "sweep_fid", "training_images", "images_per_s", "train_seconds", "g_params", "d_params", "trials",
    "stopped_early", "diverged", "failed", "trial_id", "seed",
]


@ray.remote
def reevaluate(variant: str, overrides: dict, seed: int, checkpoint, n: int, data, cpus: float, gpus: float, with_files: bool,
               precision: str = "float32"):
    """Full evaluation of one trial's last checkpoint; with_files: also the generator and its grid, as bytes."""
    import tempfile
    import time

    from sweeps.resources import configure_tensorflow

    configure_tensorflow(cpus, gpus)
    from ganlib import export, registry
    from ganlib.callbacks import save_model_grid
    from ganlib.metrics import evaluate
    from ganlib.precision import set_precision

    set_precision(precision)
    model = registry.build(variant, overrides, seed)
    with checkpoint.as_directory() as directory:
        export.load_training_state(model, directory)
    start = time.perf_counter()
    metrics = evaluate(model, n, seed=seed, data=data)
    metrics["evaluation_seconds"] = time.perf_counter() - start
    files = {}
    if with_files:
        with tempfile.TemporaryDirectory() as directory:
            paths = export.save_generator(model.generator, directory, variant)
            paths["grid"] = save_model_grid(model, Path(directory) / "samples.png", seed=seed, title=f"{variant}, best trial")
            files = {path.name: path.read_bytes() for path in paths.values()}
    return metrics, files


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
        rows.append({
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
            "hyperparameters": json.dumps(hyperparameters(config), sort_keys=True),
            "_result": result,
        })
    table = pd.DataFrame(rows)
    return table, (pd.concat(histories, ignore_index=True) if histories else pd.DataFrame())


def export_variant(variant: str, result_grid, run: dict, preset, out_dir: Path) -> dict:
    """Re-evaluate the top trials, export the best; returns its leaderboard row."""
    out_dir = Path(out_dir)
    table, history = trial_table(result_grid, variant, preset.max_training_images)
    (out_dir / "trials").mkdir(parents=True, exist_ok=True)
    table.drop(columns="_result").to_csv(out_dir / "trials" / f"{variant}.csv", index=False)
    if not history.empty:
        history.to_csv(out_dir / "trials" / f"{variant}_history.csv", index=False)
    summary = {
        "variant": variant,
        "trials": len(table),
        "stopped_early": int(table["stopped_early"].sum()) if len(table) else 0,
        "diverged": int(table["diverged"].sum()) if len(table) else 0,
        "failed": int(table["failed"].sum()) if len(table) else 0,
    }
    candidates = table[(~table["failed"]) & (~table["diverged"]) & (table["sweep_fid"] < SENTINEL_FID)] if len(table) else table
    candidates = candidates.sort_values("sweep_fid").head(preset.top_k) if len(candidates) else candidates
    candidates = [row for _, row in candidates.iterrows() if row["_result"].checkpoint is not None]
    if not candidates:
        return {**summary, "fid": math.nan}

    def submit(row, n, with_files):
        result = row["_result"]
        overrides = {**run["fixed"], **hyperparameters(result.config)}
        return reevaluate.options(num_cpus=run["cpus_per_trial"], num_gpus=run["gpus_per_trial"]).remote(
            variant, overrides, run["seed"], result.checkpoint, n, run["data"],
            run["cpus_per_trial"], run["gpus_per_trial"], with_files, run.get("precision", "float32"),
        )

    scores = ray.get([submit(row, preset.final_eval_samples, False) for row in candidates])
    ranked = sorted(zip(candidates, scores), key=lambda pair: pair[1][0]["fid"])
    best_row, (best_metrics, _) = ranked[0]
    # the files come from a second, small task: only the winner's generator travels back
    _, files = ray.get(submit(best_row, 16, True))
    overrides = {**run["fixed"], **hyperparameters(best_row["_result"].config)}
    best_dir = out_dir / "best" / variant
    best_dir.mkdir(parents=True, exist_ok=True)
    for name, payload in files.items():
        (best_dir / name).write_bytes(payload)
    record = {
        "variant": variant,
        "trial_id": best_row["trial_id"],
        "seed": run["seed"],
        "hyperparameters": overrides,
        "sweep_fid": best_row["sweep_fid"],
        "reevaluated": [{"trial_id": row["trial_id"], "sweep_fid": row["sweep_fid"], "fid": m["fid"]} for row, (m, _) in ranked],
        "preset": preset.name,
    }
    (best_dir / "config.json").write_text(json.dumps(record, indent=2, default=str))
    (best_dir / "config.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(record, default=str)), sort_keys=False))
    (best_dir / "metrics.json").write_text(json.dumps(best_metrics, indent=2, default=str))
    row = {key: best_metrics.get(key) for key in LEADERBOARD_COLUMNS if key in best_metrics}
    row.update({key: best_row[key] for key in ("sweep_fid", "training_images", "images_per_s", "train_seconds", "g_params", "d_params", "trial_id", "seed")})
    # what the sweep-cost benchmark counts as evaluation rather than overhead
    summary["reevaluation_seconds"] = sum(m["evaluation_seconds"] for m, _ in scores)
    return {**row, **summary}


def write_leaderboard(rows: list[dict], out_dir: Path) -> pd.DataFrame:
    board = pd.DataFrame(rows)
    board = board[[c for c in LEADERBOARD_COLUMNS if c in board.columns]].sort_values("fid", na_position="last")
    board.to_csv(Path(out_dir) / "leaderboard.csv", index=False)
    (Path(out_dir) / "leaderboard.md").write_text(board.to_markdown(index=False, floatfmt=".4g") + "\n")
    return board
