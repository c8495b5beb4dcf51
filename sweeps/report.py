"""The comparison a sweep ends with: `python sweeps/report.py RESULTS_DIR`.

Reads what tune_all.py exported (leaderboard, trials, histories, best generators) and writes,
beside it: report.html (self-contained, figures embedded), figures/*.png, report.md and CSV
tables. The study's questions, in order: which variant makes the best digits (FID, KID,
precision/recall, classes covered), how well it is classified (classifier score, conditional
accuracy), how the losses behaved, what it cost (images/s, time, parameters), which
hyperparameters mattered, and what the sweep gained over the papers' defaults.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import sys
import warnings
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ganlib import registry  # noqa: E402
from ganlib.divergence import SENTINEL_FID  # noqa: E402

LEADERBOARD_SHOWN = [
    "variant", "fid", "kid", "kid_std", "precision", "recall", "density", "coverage", "classifier_score",
    "classes_covered", "conditional_accuracy", "cas", "images_per_s", "train_seconds", "g_params", "d_params",
    "trials", "stopped_early", "diverged", "failed", "reason",
]


def load(results: Path) -> dict:
    board = pd.read_csv(results / "leaderboard.csv")
    trials, histories = {}, {}
    for variant in board["variant"]:
        trials[variant] = pd.read_csv(results / "trials" / f"{variant}.csv")
        path = results / "trials" / f"{variant}_history.csv"
        histories[variant] = pd.read_csv(path) if path.exists() else pd.DataFrame()
    sweep = json.loads((results / "sweep.json").read_text()) if (results / "sweep.json").exists() else {}
    return {"board": board, "trials": trials, "histories": histories, "sweep": sweep}


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
                axis.plot(finite["training_images"].iloc[-1], finite["fid"].iloc[-1], "x", color=line.get_color(), markersize=7)
            if bool(info.get("diverged", False)):
                axis.plot(runs["training_images"].iloc[-1], finite["fid"].max() if len(finite) else 0, "o", color="red")
        axis.set_title(variant, fontsize=10)
        axis.set_yscale("log")
        axis.set_xlabel("training images", fontsize=8)
        axis.set_ylabel("FID (validation slice)", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(variants):]:
        axis.axis("off")
    figure.suptitle("FID during the sweep (x: stopped early by ASHA, red dot: diverged)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def best_losses(history: pd.DataFrame, trial_id: str, variant: str, path: Path) -> Path | None:
    runs = history[history["trial_id"] == trial_id].sort_values("training_images") if not history.empty else history
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


def importance(variant: str, table: pd.DataFrame) -> pd.Series:
    """Optuna's PED-ANOVA importances (scikit-learn-free) over the finished, non-diverged trials."""
    import optuna

    from sweeps.spaces import optuna_space

    fixed = set()
    done = table[(~table["failed"]) & (~table["diverged"]) & table["sweep_fid"].notna()]
    if len(done) < 3:
        return pd.Series(dtype=float)
    space = optuna_space(variant, fixed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize")
    for _, row in done.iterrows():
        params = {k: v for k, v in json.loads(row["hyperparameters"]).items() if k in space}
        study.add_trial(optuna.trial.create_trial(params=params, distributions={k: space[k] for k in params}, value=row["sweep_fid"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.Series(optuna.importance.get_param_importances(study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()))
        except (RuntimeError, ValueError):
            return pd.Series(dtype=float)


def fid_against_hyperparameters(variant: str, table: pd.DataFrame, path: Path) -> Path | None:
    done = table[(~table["failed"]) & (~table["diverged"]) & table["sweep_fid"].notna()]
    if done.empty:
        return None
    params = pd.DataFrame([json.loads(h) for h in done["hyperparameters"]], index=done.index)
    params = params[[c for c in params.columns if params[c].nunique() > 1]]
    if params.empty:
        return None
    figure, axes = plt.subplots(1, len(params.columns), figsize=(2.6 * len(params.columns), 2.5), squeeze=False)
    for axis, column in zip(axes.flat, params.columns):
        values = pd.to_numeric(params[column], errors="coerce")
        if values.isna().any():  # a categorical hyperparameter: one column of points per value
            categories = sorted(params[column].astype(str).unique())
            values = params[column].astype(str).map(categories.index)
            axis.set_xticks(range(len(categories)), categories, fontsize=7)
        axis.scatter(values, done["sweep_fid"], s=14)
        space = registry.get(variant).search_space.get(column)
        if type(space).__name__ == "LogUniform":
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


def defaults_against_best(board: pd.DataFrame, trials: dict) -> pd.DataFrame:
    """The papers' defaults (each sweep's first trial) against the best trial found."""
    rows = []
    for variant, table in trials.items():
        defaults = registry.get(variant).defaults
        is_default = table["hyperparameters"].map(lambda h: all(defaults.get(k) == v for k, v in json.loads(h).items() if k in registry.get(variant).search_space))
        default_rows = table[is_default]
        best = board.set_index("variant").loc[variant] if variant in set(board["variant"]) else None
        best_trial = table[table["trial_id"] == best["trial_id"]] if best is not None and "trial_id" in best else table.iloc[:0]
        rows.append({
            "variant": variant,
            "defaults_sweep_fid": float(default_rows["sweep_fid"].min()) if len(default_rows) else float("nan"),
            "best_sweep_fid": float(best_trial["sweep_fid"].min()) if len(best_trial) else float("nan"),
            "best_final_fid": float(best["fid"]) if best is not None else float("nan"),
            "best_hyperparameters": best_trial["hyperparameters"].iloc[0] if len(best_trial) else "",
        })
    return pd.DataFrame(rows)


def best_grids(board: pd.DataFrame, results: Path, path: Path) -> Path | None:
    """Every variant's best samples side by side, in leaderboard order: the study at a glance."""
    shown = [(row["variant"], row["fid"], results / "best" / row["variant"] / "samples.png") for _, row in board.iterrows()]
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


def embed(path: Path | None, alt: str) -> str:
    if path is None or not Path(path).exists():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def build_report(results) -> Path:
    results = Path(results)
    figures = results / "figures"
    figures.mkdir(exist_ok=True)
    data = load(results)
    board, trials, histories = data["board"], data["trials"], data["histories"]
    shown = board[[c for c in LEADERBOARD_SHOWN if c in board.columns]]
    comparison = defaults_against_best(board, trials)
    importances = {variant: importance(variant, table) for variant, table in trials.items()}
    # blank where a variant does not search that hyperparameter
    importance_table = pd.DataFrame(importances).T if any(len(s) for s in importances.values()) else pd.DataFrame()

    shown.to_csv(results / "report_leaderboard.csv", index=False)
    comparison.to_csv(results / "defaults_vs_best.csv", index=False)
    importance_table.to_csv(results / "importance.csv")
    curves = fid_curves(histories, trials, figures / "fid_curves.png")
    grids = best_grids(board, results, figures / "best_grids.png")

    sections = []
    for _, row in board.iterrows():
        variant = row["variant"]
        best_dir = results / "best" / variant
        losses_png = best_losses(histories[variant], row.get("trial_id"), variant, figures / f"losses_{variant}.png") if isinstance(row.get("trial_id"), str) else None
        hp_png = fid_against_hyperparameters(variant, trials[variant], figures / f"hyperparameters_{variant}.png")
        extra = "".join(embed(p, f"{variant} {p.stem}") for p in sorted(best_dir.glob("samples_*.png")))
        sections.append(
            f'<section id="{variant}"><h3>{variant}</h3><p>{html.escape(registry.get(variant).paper)}</p>'
            f'<div class="row">{embed(best_dir / "samples.png", f"{variant} samples") or "<p>no finished trial</p>"}'
            f'{embed(losses_png, f"{variant} losses")}</div><div class="row">{extra}</div>{embed(hp_png, f"{variant} hyperparameters")}</section>'
        )
    sweep = data["sweep"]
    floor = board["fid_real_floor"].dropna().iloc[0] if "fid_real_floor" in board and board["fid_real_floor"].notna().any() else float("nan")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GAN variants on MNIST: sweep report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1400px}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}} th{{background:#eee}} .row{{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}}
img{{max-width:100%}} section{{border-top:1px solid #ddd;margin-top:1em}}</style></head><body>
<h1>GAN variants on MNIST</h1>
<p>Command: <code>{html.escape(str(sweep.get("command", "")))}</code>; seed {html.escape(str(sweep.get("seed", "")))};
preset {html.escape(str((sweep.get("preset") or {}).get("name", "")))}; versions {html.escape(json.dumps(sweep.get("versions", {})))}.
FID and KID are on the shipped MNIST evaluator's features; real digits against real digits score FID {floor:.3f} (the floor).</p>
<h2>Leaderboard</h2>{shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", table_id="leaderboard")}
<h2>Best samples, best FID first</h2>{embed(grids, "best grids")}
<h2>FID during the sweep</h2>{embed(curves, "FID curves")}
<h2>Papers' defaults against the best found</h2>{comparison.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="")}
<h2>Hyperparameter importance (Optuna PED-ANOVA over each variant's trials)</h2>{importance_table.to_html(float_format=lambda v: f"{v:.3f}", na_rep="") if len(importance_table) else "<p>too few finished trials</p>"}
<h2>Per variant: best generator's samples and losses</h2>{"".join(sections)}
</body></html>"""
    (results / "report.html").write_text(page)
    markdown = ["# GAN variants on MNIST", "", "## Leaderboard", "", shown.to_markdown(index=False, floatfmt=".4g"), "",
                "## Papers' defaults against the best found", "", comparison.to_markdown(index=False, floatfmt=".4g"), ""]
    if len(importance_table):
        markdown += ["## Hyperparameter importance", "", importance_table.to_markdown(floatfmt=".3f"), ""]
    (results / "report.md").write_text("\n".join(markdown))
    return results / "report.html"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python sweeps/report.py", description=__doc__.splitlines()[0])
    parser.add_argument("results", help="the export folder of a sweep (holds leaderboard.csv)")
    args = parser.parse_args(argv)
    results = Path(args.results)
    if not (results / "leaderboard.csv").is_file():
        print(f"error: {str(results)!r} holds no leaderboard.csv: give the export folder of python sweeps/tune_all.py", file=sys.stderr)
        return 2
    print(f"wrote {build_report(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
