"""The report's page: report.html, self-contained (figures embedded as data URIs), and report.md
for a terminal. Holds the page's layout only; build_report (sweeps/report.py) supplies its parts."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from sweeps.study import tables


def embed(path: Path | None, alt: str) -> str:
    if path is None or not Path(path).exists():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def at_budget(board: pd.DataFrame) -> str:
    """' at N training images', the leaderboard's budget, where it records one."""
    from sweeps.reporting.axes import headline

    budget = headline(board)
    return "" if budget is None else f" at {budget:,} training images"


GENERATORS_NOTE = (
    "Each family winner's median seed at its longest budget, the file the headline scored, with its "
    "metrics.json beside it; the command scores it again as the final stage did, on the test split "
    "(add --data PATH for a local copy of Keras's mnist.npz)."
)


def render_axes(axes: dict | None) -> str:
    """The final stage's leaderboard a family, its winners, and the four questions, each with its
    table and finding."""
    if not axes:
        return ""
    table = lambda frame: frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="")  # noqa: E731
    parts = [
        f"<h2>Final stage{html.escape(at_budget(axes['board']))}: best configurations, several seeds, "
        "test split</h2>",
        f"<p>{html.escape(tables.LEADERBOARD_NOTE)}</p>",
        f"<p>{html.escape(axes['generator'])}</p>" if axes.get("generator") else "",
    ]
    for family, rows in tables.by_family(axes["board"]):
        parts += [f"<h3>{html.escape(tables.heading(family))}</h3>", table(tables.leaderboard_table(rows))]
    if axes.get("goals"):
        goals = axes["goals"]
        parts += ["<h3>Goals</h3>", f"<p><strong>{html.escape(goals['sentence'])}</strong></p>"]
        parts.append(table(goals["table"]))
    if len(axes.get("gain", ())):
        parts += [
            "<h3>The search against the papers' defaults</h3>",
            f"<p>{html.escape(tables.GAIN_NOTE)}</p>",
        ]
        for family, rows in tables.by_family(axes["gain"]):
            parts += [f"<h4>{html.escape(tables.heading(family))}</h4>", table(tables.gain_table(rows))]
    parts.append(embed(axes.get("strip"), "final FID per seed"))
    parts.append(embed(axes.get("classes"), "class shares"))
    parts += [embed(png, f"{variant}: every final seed") for variant, png in axes.get("seeds", {}).items()]
    if len(axes.get("winners", ())):
        note = html.escape(tables.winners_note(axes["winners"]))
        parts += ["<h3>Winners a family and axis</h3>", f"<p>{note}</p>"]
        for family, rows in tables.by_family(axes["winners"]):
            parts += [f"<h4>{html.escape(tables.heading(family))}</h4>", table(tables.winners_table(rows))]
    if len(axes.get("generators", ())):
        parts += [
            "<h3>The winners' generators, to score again</h3>",
            f"<p>{html.escape(GENERATORS_NOTE)}</p>",
        ]
        parts.append(table(axes["generators"]))
    if axes.get("ladder"):
        ladder = axes["ladder"]
        parts += ["<h2>The budget ladder: the same runs, longer</h2>"]
        if len(ladder["order"]):
            parts += [f"<p>{html.escape(tables.ORDER_NOTE)}</p>", table(tables.order_table(ladder["order"]))]
        for budget, board in ladder["boards"].groupby("budget_images"):
            parts.append(f"<h3>{html.escape(tables.budget_heading(budget, board))}</h3>")
            for family, rows in tables.by_family(board):
                heading = f"<h4>{html.escape(tables.heading(family))}</h4>"
                parts += [heading, table(tables.leaderboard_table(rows))]
            parts.append(embed(ladder["strips"].get(int(budget)), f"FID per seed at {int(budget):,} images"))
    from sweeps.reporting.axes import QUESTIONS

    for title, frame in axes["tables"].items():
        finding = axes["findings"].get(QUESTIONS[title], "")
        parts += [
            f"<h2>{html.escape(title)}</h2>",
            f"<p><strong>{html.escape(finding)}</strong></p>" if finding else "",
            table(frame),
        ]
    parts.append(embed(axes.get("time_to_quality"), "time to quality"))
    if axes.get("agreement"):
        parts += [
            "<h2>Two evaluators</h2>",
            f"<p><strong>{html.escape(axes['agreement']['sentence'])}</strong></p>",
            table(axes["agreement"]["table"]),
        ]
    if axes.get("precision"):  # its own markdown, shown as written
        parts += ["<h2>Precision control</h2>", f"<pre>{html.escape(axes['precision'])}</pre>"]
    return "".join(parts)


STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1400px} "
    "table{border-collapse:collapse;font-size:12px}\n"
    "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right} th{background:#eee} "
    ".row{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}\n"
    "img{max-width:100%} section{border-top:1px solid #ddd;margin-top:1em}"
)


def render_html(
    board: pd.DataFrame,
    shown: pd.DataFrame,
    comparison: pd.DataFrame,
    importance_table: pd.DataFrame,
    sections: list[str],
    sweep: dict,
    grids: Path | None,
    curves: Path | None,
    axes: dict | None = None,
    search: dict | None = None,
) -> str:
    floors = board["fid_real_floor"].dropna() if "fid_real_floor" in board else pd.Series(dtype=float)
    floor = floors.iloc[0] if len(floors) else float("nan")
    fmt = lambda v: f"{v:.4g}"  # noqa: E731
    command, seed = html.escape(str(sweep.get("command", ""))), html.escape(str(sweep.get("seed", "")))
    preset = html.escape(str((sweep.get("preset") or {}).get("name", "")))
    versions = html.escape(json.dumps(sweep.get("versions", {})))
    importances = (
        importance_table.to_html(float_format=lambda v: f"{v:.3f}", na_rep="")
        if len(importance_table)
        else "<p>too few finished trials</p>"
    )
    lines = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>GAN variants on MNIST: sweep report</title>',
        f"<style>{STYLE}</style></head><body>",
        "<h1>GAN variants on MNIST</h1>",
        f"<p>Command: <code>{command}</code>; seed {seed};",
        f"preset {preset}; versions {versions}.",
        "FID and KID are on the shipped MNIST evaluator's features; real digits against real digits score "
        f"FID {floor:.3f} (the floor).</p>",
        render_axes(axes),
        "<h2>Search leaderboard (one run per configuration)</h2>"
        + shown.to_html(index=False, float_format=fmt, na_rep="", table_id="leaderboard"),
        f"<h2>Best samples, best FID first</h2>{embed(grids, 'best grids')}",
        f"<h2>FID during the sweep</h2>{embed(curves, 'FID curves')}",
        "<h2>Papers' defaults against the best found</h2>"
        + comparison.to_html(index=False, float_format=fmt, na_rep=""),
        "<h2>Hyperparameter importance (Optuna PED-ANOVA over each variant's stored study)</h2>"
        + importances,
        render_search(search),
        f"<h2>Per variant: best generator's samples and losses</h2>{''.join(sections)}",
        "</body></html>",
    ]
    return "\n".join(lines)


SEARCH_TEXT = {
    "selection": "The search ranks by FID on few samples (the preset's eval_samples), which is biased "
    "upward by an amount that depends on the generator; each finalist scored again on 10,000 "
    "samples of the same validation slice says whether that bias decided the pick.",
    "averages": "Final stage: each generator's exponential moving average of weights (config "
    "ema_half_life) scored beside its weights, same runs, same samples; seed_ratio is the median of "
    "each seed's own ratio (average over weights: below 1, the average is better) with its 95% "
    "bootstrap interval.",
}


def render_search(search: dict | None) -> str:
    """The search's budget (best FID against trials), its selection FID against 10,000 samples,
    and the weight averages against the weights."""
    if not search:
        return ""
    table = lambda frame: frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="")  # noqa: E731
    parts = ["<h2>Best search FID against trials so far</h2>", embed(search.get("figure"), "best so far")]
    if search.get("bands"):
        parts += ["<h2>Final stage: FID against images and seconds, seed bands</h2>"]
        parts.append(embed(search["bands"], "FID curves with seed bands"))
    if search.get("loss_bands"):
        parts += ["<h2>Final stage: losses a loss family, seed bands</h2>"]
        parts.append(embed(search["loss_bands"], "loss curves with seed bands"))
    if len(search.get("selection", ())):
        parts += ["<h2>Selection FID: search samples against 10,000</h2>"]
        parts += [f"<p>{SEARCH_TEXT['selection']}</p>", table(search["selection"])]
    if len(search.get("averages", ())):
        parts += ["<h2>Weight averages (EMA) against the weights</h2>"]
        parts += [f"<p>{SEARCH_TEXT['averages']}</p>", table(search["averages"])]
    return "".join(parts)


def search_markdown(search: dict | None) -> list[str]:
    if not search:
        return []
    lines = []
    if search.get("figure"):
        lines += ["## Best search FID against trials so far", ""]
        lines += [f"![best so far](figures/{Path(search['figure']).name})", ""]
    if search.get("bands"):
        lines += ["## Final stage: FID against images and seconds, seed bands", ""]
        lines += [f"![FID curves with seed bands](figures/{Path(search['bands']).name})", ""]
    if search.get("loss_bands"):
        lines += ["## Final stage: losses a loss family, seed bands", ""]
        lines += [f"![loss curves with seed bands](figures/{Path(search['loss_bands']).name})", ""]
    if len(search.get("selection", ())):
        lines += ["## Selection FID: search samples against 10,000", "", SEARCH_TEXT["selection"], ""]
        lines += [search["selection"].to_markdown(index=False, floatfmt=".4g"), ""]
    if len(search.get("averages", ())):
        lines += ["## Weight averages (EMA) against the weights", "", SEARCH_TEXT["averages"], ""]
        lines += [search["averages"].to_markdown(index=False, floatfmt=".4g"), ""]
    return lines


def variant_section(
    variant: str,
    paper: str,
    best_dir: Path,
    losses_png: Path | None,
    hyperparameters_png: Path | None,
    schedule_png: Path | None = None,
    replaced=None,
) -> str:
    extra = "".join(embed(p, f"{variant} {p.stem}") for p in sorted(best_dir.glob("samples_*.png")))
    samples = embed(best_dir / "samples.png", f"{variant} samples")
    pbt = ""
    if schedule_png is not None:
        copies = (
            f"{int(replaced)} times a member went on from a better one's state; "
            if isinstance(replaced, (int, float)) and replaced == replaced
            else ""
        )
        pbt = (
            f"<p>Population Based Training: {copies}the best member's schedule (schedule.json, "
            "replayed by <code>python -m ganlib.train --schedule</code>):</p>"
            f"{embed(schedule_png, f'{variant} schedule')}"
        )
    return (
        f'<section id="{variant}"><h3>{variant}</h3><p>{html.escape(paper)}</p>'
        f'<div class="row">{samples or "<p>no finished trial</p>"}'
        f'{embed(losses_png, f"{variant} losses")}</div><div class="row">{extra}</div>'
        f"{embed(hyperparameters_png, f'{variant} hyperparameters')}{pbt}</section>"
    )


def render_markdown(
    shown: pd.DataFrame,
    comparison: pd.DataFrame,
    importance_table: pd.DataFrame,
    axes: dict | None = None,
    search: dict | None = None,
) -> str:
    markdown = ["# GAN variants on MNIST", ""]
    if axes:
        markdown += [
            f"## Final stage{at_budget(axes['board'])} (median [95% bootstrap interval] over seeds, "
            "test split)",
            "",
            *([axes["generator"], ""] if axes.get("generator") else []),
            tables.markdown(tables.LEADERBOARD_NOTE, axes["board"], tables.leaderboard_table, level=3),
        ]
        if axes.get("goals"):
            goals = axes["goals"]
            markdown += ["### Goals", "", f"**{goals['sentence']}**", ""]
            markdown += [goals["table"].to_markdown(index=False, floatfmt=".4g"), ""]
        if len(axes.get("gain", ())):
            markdown += ["### The search against the papers' defaults", ""]
            markdown += [tables.markdown(tables.GAIN_NOTE, axes["gain"], tables.gain_table, level=4)]
        if axes.get("strip"):
            markdown += [f"![final FID per seed](figures/{Path(axes['strip']).name})", ""]
        if axes.get("classes"):
            markdown += [f"![class shares](figures/{Path(axes['classes']).name})", ""]
        for variant, png in axes.get("seeds", {}).items():
            markdown += [f"![{variant}: every final seed](figures/{Path(png).name})", ""]
        if len(axes.get("winners", ())):
            markdown += [
                "### Winners a family and axis",
                "",
                tables.markdown(
                    tables.winners_note(axes["winners"]), axes["winners"], tables.winners_table, level=4
                ),
            ]
        if len(axes.get("generators", ())):
            markdown += ["### The winners' generators, to score again", "", GENERATORS_NOTE, ""]
            markdown += [axes["generators"].to_markdown(index=False, floatfmt=".4g"), ""]
        if axes.get("ladder"):
            ladder = axes["ladder"]
            markdown += ["## The budget ladder: the same runs, longer", ""]
            if len(ladder["order"]):
                order = tables.order_table(ladder["order"])
                markdown += [tables.ORDER_NOTE, "", order.to_markdown(index=False), ""]
            for budget, board in ladder["boards"].groupby("budget_images"):
                markdown += [f"### {tables.budget_heading(budget, board)}", ""]
                markdown += [tables.markdown("", board, tables.leaderboard_table, level=4)]
                if ladder["strips"].get(int(budget)):
                    strip = Path(ladder["strips"][int(budget)]).name
                    markdown += [f"![FID per seed at {int(budget):,} images](figures/{strip})", ""]
        from sweeps.reporting.axes import QUESTIONS

        for title, frame in axes["tables"].items():
            finding = axes["findings"].get(QUESTIONS[title])
            markdown += [f"## {title}", ""] + ([f"**{finding}**", ""] if finding else [])
            markdown += [frame.to_markdown(index=False, floatfmt=".4g"), ""]
        if axes.get("time_to_quality"):
            markdown += [f"![time to quality](figures/{Path(axes['time_to_quality']).name})", ""]
        if axes.get("agreement"):
            markdown += [
                "## Two evaluators",
                "",
                f"**{axes['agreement']['sentence']}**",
                "",
                axes["agreement"]["table"].to_markdown(index=False, floatfmt=".4g"),
                "",
            ]
        if axes.get("precision"):
            markdown += [axes["precision"], ""]
    markdown += [
        "## Search leaderboard",
        "",
        shown.to_markdown(index=False, floatfmt=".4g"),
        "",
        "## Papers' defaults against the best found",
        "",
        comparison.to_markdown(index=False, floatfmt=".4g"),
        "",
    ]
    if len(importance_table):
        markdown += ["## Hyperparameter importance", "", importance_table.to_markdown(floatfmt=".3f"), ""]
    markdown += search_markdown(search)
    return "\n".join(markdown)
