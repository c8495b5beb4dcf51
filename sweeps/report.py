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
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from ganlib import registry  # noqa: E402
from sweeps.reporting.axes import load_axes  # noqa: E402
from sweeps.reporting.data import defaults_against_best, load  # noqa: E402
from sweeps.reporting.figures import (  # noqa: E402
    best_grids,
    best_losses,
    fid_against_hyperparameters,
    fid_curves,
    schedule_figure,
)
from sweeps.reporting.importance import importances  # noqa: E402
from sweeps.reporting.page import render_html, render_markdown, variant_section  # noqa: E402
from sweeps.reporting.search import load_search  # noqa: E402
from sweeps.search.export_best import LEADERBOARD_COLUMNS  # noqa: E402

# the leaderboard's columns, in its order, less the bookkeeping a reader of the report does not need
LEADERBOARD_SHOWN = [
    column
    for column in LEADERBOARD_COLUMNS
    if column
    not in {
        "class_kl_uniform",
        "fid_real_floor",
        "kid_real_floor",
        "sweep_fid",
        "training_images",
        "trial_id",
        "seed",
    }
]


def build_report(results) -> Path:
    results = Path(results)
    figures = results / "figures"
    figures.mkdir(exist_ok=True)
    data = load(results)
    board, trials, histories = data["board"], data["trials"], data["histories"]
    shown = board[[c for c in LEADERBOARD_SHOWN if c in board.columns]]
    comparison = defaults_against_best(board, trials)
    importance_table = importances(data["sweep"], list(trials), results)

    shown.to_csv(results / "report_leaderboard.csv", index=False)
    comparison.to_csv(results / "defaults_vs_best.csv", index=False)
    importance_table.to_csv(results / "importance.csv")
    curves = fid_curves(histories, trials, figures / "fid_curves.png")
    grids = best_grids(board, results, figures / "best_grids.png")

    sections = []
    for _, row in board.iterrows():
        variant, trial_id = row["variant"], row.get("trial_id")
        losses_png = (
            best_losses(histories[variant], trial_id, variant, figures / f"losses_{variant}.png")
            if isinstance(trial_id, str)
            else None
        )
        hp_png = fid_against_hyperparameters(
            variant, trials[variant], figures / f"hyperparameters_{variant}.png"
        )
        schedule_file = results / "best" / variant / "schedule.json"
        schedule_png = (
            schedule_figure(json.loads(schedule_file.read_text()), figures / f"schedule_{variant}.png")
            if schedule_file.is_file()
            else None
        )
        sections.append(
            variant_section(
                variant,
                registry.get(variant).paper,
                results / "best" / variant,
                losses_png,
                hp_png,
                schedule_png,
                replaced=row.get("replaced"),
            )
        )
    axes = load_axes(results, histories, trials, figures)
    search = load_search(results, trials, histories, figures)
    search["selection"].to_csv(results / "selection_fid.csv", index=False)
    (results / "report.html").write_text(
        render_html(
            board, shown, comparison, importance_table, sections, data["sweep"], grids, curves, axes, search
        )
    )
    (results / "report.md").write_text(render_markdown(shown, comparison, importance_table, axes, search))
    return results / "report.html"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python sweeps/report.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "results",
        help="the export folder of a sweep (holds leaderboard.csv), or its URI in the "
        "sweep's storage, e.g. s3://bucket/ganlib/latest",
    )
    parser.add_argument(
        "--local",
        type=Path,
        default=None,
        help="for a URI: the local copy to read and write (default: results/NAME)",
    )
    args = parser.parse_args(argv)
    uri = args.results if "://" in args.results else None
    if uri:
        from sweeps.cloud import exports

        uri = exports.resolve(uri)
        try:
            results = exports.fetch(uri, args.local or Path("results") / exports.folder_name(uri))
        except (FileNotFoundError, OSError) as error:
            print(
                f"error: {args.results!r} holds no sweep export ({error}): give STORAGE/NAME or "
                "STORAGE/latest",
                file=sys.stderr,
            )
            return 2
    else:
        results = Path(args.results)
    if not (results / "leaderboard.csv").is_file():
        print(
            f"error: {str(args.results)!r} holds no leaderboard.csv: give the export folder of "
            "python sweeps/tune_all.py",
            file=sys.stderr,
        )
        return 2
    print(f"wrote {build_report(results)}")
    if uri:
        exports.copy_to(results, uri)
        print(
            f"and copied it to {uri}; the Optuna studies: "
            f"optuna-dashboard sqlite:///{(results / 'optuna.db').resolve()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
