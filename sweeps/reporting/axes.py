"""The study's four questions, answered from a sweep's export folder: image quality,
classification accuracy, losses and computing time, each a table with its figures' medians and 95%
bootstrap intervals over the final stage's seeds (sweeps/study/analysis.py), and one sentence a
question, each from a figure in its table. Conditional and unconditional variants are answered
apart (ganlib.registry.family), as the final stage ranks and tests them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ganlib import registry  # noqa: E402
from ganlib.divergence import SENTINEL_FID  # noqa: E402
from sweeps.reporting.figures import class_shares, fid_strip, seed_grids, variant_colour  # noqa: E402
from sweeps.study.analysis import as_chosen, chosen_generators, with_alone_rates  # noqa: E402
from sweeps.study.tables import lost_runs  # noqa: E402

QUALITY = ["fid", "kid", "precision", "recall", "density", "coverage", "classes_covered"]
CLASSIFICATION = [
    "classifier_score",
    "classes_covered",
    "class_kl_uniform",
    "conditional_accuracy",
    "cas",
    "cas_evaluator",
]
SATURATED = 0.95  # D calls this share of both real and fake images right: G gets little gradient
# the report's four questions: section title -> the key of its finding
QUESTIONS = {
    "Image quality": "quality",
    "Classification accuracy": "classification",
    "Losses (every search trial)": "losses",
    "Computing time": "computing time",
}


def best_rows(board: pd.DataFrame) -> pd.DataFrame:
    """The variants' best configurations, the unconditional family first, each by median FID."""
    best = board[board["arm"] == "best"]
    order = best["family"].map(registry.FAMILIES.index).rename("order")
    return best.join(order).sort_values(["order", "fid"], kind="stable").drop(columns="order")


def with_intervals(board: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`median [low, high]` per column, for the variants' best configurations, each family ranked
    by median FID."""
    best = best_rows(board)
    shown = {"variant": best["variant"], "family": best["family"]}
    for column in columns:
        if column in best and best[column].notna().any():
            shown[column] = [
                cell(r[column], r.get(f"{column}_low"), r.get(f"{column}_high")) for _, r in best.iterrows()
            ]
    return pd.DataFrame(shown)


def cell(median, low, high) -> str:
    if median is None or (isinstance(median, float) and math.isnan(median)):
        return ""
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return f"{median:.4g}"
    return f"{median:.4g} [{low:.4g}, {high:.4g}]"


def stability(histories: dict, trials: dict, last: int = 3) -> pd.DataFrame:
    """Per variant, over every search trial: the spread (standard deviation) of its D and G loss
    over its last `last` reports, median over trials; the share of reports where D was saturated
    (right on >= 95% of both real and fake images); and how many trials diverged."""
    rows = []
    for variant, history in histories.items():
        table = trials.get(variant, pd.DataFrame())
        row = {
            "variant": variant,
            "loss_family": registry.get(variant).loss_family,
            "trials": len(table),
            "diverged": int(table["diverged"].sum()) if "diverged" in table else 0,
            "fid_jumps": fid_jumps(history),
        }
        if not history.empty and {"d_loss", "g_loss"} <= set(history.columns):
            ordered = history.sort_values("training_iteration").groupby("trial_id")
            tails = ordered.tail(last)
            spreads = tails.groupby("trial_id")[["d_loss", "g_loss"]].std()
            row.update(
                d_loss_spread=float(spreads["d_loss"].median()),
                g_loss_spread=float(spreads["g_loss"].median()),
            )
            if {"d_acc_real", "d_acc_fake"} <= set(history.columns):
                saturated = (history["d_acc_real"] >= SATURATED) & (history["d_acc_fake"] >= SATURATED)
                row["d_saturated_share"] = float(saturated.mean())
                row["d_acc_real_last"] = float(tails["d_acc_real"].mean())
                row["d_acc_fake_last"] = float(tails["d_acc_fake"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def within_loss_family(stable: pd.DataFrame) -> pd.DataFrame:
    """Each variant's loss spreads over its loss family's median spread (1: the family's typical
    movement): losses of different families live on different scales, so a spread is only read
    against its own family's. A variant alone in its loss family is left blank: against itself it
    would read 1 whatever it did."""
    if stable.empty or "g_loss_spread" not in stable:
        return stable
    out = stable.copy()
    shared = out.groupby("loss_family")["variant"].transform("size") > 1
    for column in ("d_loss_spread", "g_loss_spread"):
        typical = out.groupby("loss_family")[column].transform("median")
        out[f"{column}_in_family"] = out[column] / typical.where((typical > 0) & shared)
    return out


def fid_jumps(history: pd.DataFrame, factor: float = 2.0) -> int:
    """Reports, over a variant's search trials, where FID rose past `factor` times the trial's best
    so far: the collapses a run recovers from or not, which "diverged" (non-finite losses) misses."""
    if history.empty or "fid" not in history or "trial_id" not in history:
        return 0
    jumps = 0
    order = "training_iteration" if "training_iteration" in history else "training_images"
    for _, trial in history.sort_values(order).groupby("trial_id"):
        fids = pd.to_numeric(trial["fid"], errors="coerce").where(lambda f: f < SENTINEL_FID)
        best = fids.cummin().shift()
        jumps += int((fids > factor * best).sum())
    return jumps


def classification(board: pd.DataFrame, stable: pd.DataFrame) -> pd.DataFrame:
    """The evaluator's view of the samples (final stage, with intervals) beside the discriminator's
    own, pooled over every search trial of the variant: its accuracy on real and on fake images
    over the trials' last reports, and the share of all reports where it was saturated."""
    shown = with_intervals(board, CLASSIFICATION)
    columns = [c for c in ("d_acc_real_last", "d_acc_fake_last", "d_saturated_share") if c in stable]
    if not columns or shown.empty:
        return shown
    return shown.merge(stable[["variant", *columns]], on="variant", how="left")


def computing(board: pd.DataFrame, ttq: pd.DataFrame, alone: pd.DataFrame | None = None) -> pd.DataFrame:
    """Images/s measured alone (sweeps/study/throughput.py) when there is such a measurement, the final
    stage's own (trials sharing the machine), the budget, and time to quality; from the alone
    rate, the seconds a run alone would need to each threshold."""
    best = board[board["arm"] == "best"][
        [
            "variant",
            "images_per_s",
            "images_per_s_low",
            "images_per_s_high",
            "training_images",
            "generator_steps",
        ]
    ]
    shown = best.assign(
        images_per_s=[
            cell(r.images_per_s, r.images_per_s_low, r.images_per_s_high) for r in best.itertuples()
        ]
    )
    shown = shown.drop(columns=["images_per_s_low", "images_per_s_high"]).rename(
        columns={"images_per_s": "images_per_s_in_stage"}
    )
    rates = alone.set_index("variant") if alone is not None and not alone.empty else None
    if rates is not None:
        shown.insert(
            1,
            "images_per_s_alone",
            [
                cell(
                    rates.at[v, "images_per_s_alone"],
                    rates.at[v, "images_per_s_alone_low"],
                    rates.at[v, "images_per_s_alone_high"],
                )
                if v in rates.index
                else ""
                for v in shown["variant"]
            ],
        )
    if not ttq.empty:
        best_ttq = ttq[ttq["arm"] == "best"].drop(columns=["arm", "fid_on"], errors="ignore")
        shown = shown.merge(best_ttq, on="variant", how="left")
        if rates is not None:
            rate = shown["variant"].map(rates["images_per_s_alone"])
            for column in [c for c in shown.columns if c.startswith("images_to_")]:
                shown[column.replace("images_to_", "seconds_alone_to_")] = (shown[column] / rate).round(0)
    return shown


def time_to_quality_figure(ttq: pd.DataFrame, path: Path) -> Path | None:
    best = ttq[ttq["arm"] == "best"] if not ttq.empty else ttq
    thresholds = [c.removeprefix("images_to_") for c in best.columns if c.startswith("images_to_")]
    if best.empty or not thresholds or not best[[f"images_to_{t}" for t in thresholds]].gt(0).any().any():
        return None  # no variant reached any threshold
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for _, row in best.iterrows():
        xs = [float(t) for t in thresholds]
        colour = variant_colour(row["variant"])
        for ax, clock in zip(axes, ("images_to", "seconds_to")):
            ax.plot(
                xs, [row[f"{clock}_{t}"] for t in thresholds], marker="o", label=row["variant"], color=colour
            )
    split = best["fid_on"].iloc[0] if "fid_on" in best else "validation slice"
    for ax, label in zip(axes, ("training images", "training seconds")):
        ax.set_xlabel(f"FID threshold ({split})")
        ax.set_ylabel(f"{label} to first reach it (median over the seeds)")
        ax.invert_xaxis()
        ax.set_yscale("log")
    axes[1].legend(fontsize=7, ncol=2)
    fig.suptitle("Time to quality: each variant's best configuration, final stage")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def names(variants: list[str]) -> str:
    return variants[0] if len(variants) == 1 else f"{', '.join(variants[:-1])} and {variants[-1]}"


def seeds_phrase(row) -> str:
    """How many seeds a median is over, and what was ranked worst, left out or collapsed."""
    (worst, failed), collapsed = lost_runs(row), int(row.get("collapsed", 0))
    counted = int(row["seeds"]) - failed
    said = f"over {counted} seed{'' if counted == 1 else 's'}"
    if worst:
        said += f" ({worst} without a finite FID, ranked worst)"
    if failed:
        said += f" ({failed} more failed, left out)"
    return said + (f", {collapsed} of them collapsed" if collapsed else "")


def family_quality(rows: pd.DataFrame, family: str) -> str:
    """One family's answer to the image-quality question, from its best configurations' rows: the
    leader's median FID and how the others compare with it (Mann-Whitney, Holm within the family);
    a comparison that is not significant says the smallest p its sample sizes allow."""
    leader = rows[rows["leader"]].iloc[0] if rows["leader"].any() else rows.iloc[0]
    if pd.isna(leader["fid"]):
        return f"Among {family} variants, no run has a finite FID."
    said = (
        f"Among {family} variants, {leader['variant']} has the lowest median FID, "
        f"{cell(leader['fid'], leader['fid_low'], leader['fid_high'])} {seeds_phrase(leader)}"
        + (f" (P(best) {leader['prob_best']:.2f})" if pd.notna(leader.get("prob_best")) else "")
    )
    others = rows[rows["variant"] != leader["variant"]]
    if others.empty:
        return said + f"; it is the only {family} variant."
    verdicts: dict[str, list[str]] = {}
    for row in others.itertuples():
        verdicts.setdefault("has no finite FID" if row.verdict == "no data" else row.verdict, []).append(
            row.variant
        )
    told = "; ".join(f"{names(group)} {agreed(verdict, group)}" for verdict, group in verdicts.items())
    return f"{said}; against it (Mann-Whitney, Holm within the family, 5%), {told}."


def agreed(verdict: str, variants: list[str]) -> str:
    """The verdict's verb in the plural for several variants ("differ", "have")."""
    if len(variants) < 2:
        return verdict
    for singular, plural in (("differs", "differ"), ("has", "have")):
        if verdict.startswith(singular + " "):
            return plural + verdict[len(singular) :]
    return verdict


def most_confident(rows: pd.DataFrame) -> tuple[str, str] | None:
    """(variant, its classifier score cell) of the rows' highest median classifier score."""
    scored = rows.dropna(subset=["classifier_score"]) if "classifier_score" in rows else rows.iloc[:0]
    if scored.empty:
        return None
    top = scored.sort_values("classifier_score", ascending=False).iloc[0]
    return top["variant"], cell(
        top["classifier_score"], top["classifier_score_low"], top["classifier_score_high"]
    )


def findings(
    board: pd.DataFrame, stable: pd.DataFrame, ttq: pd.DataFrame, alone: pd.DataFrame | None = None
) -> dict[str, str]:
    """One sentence a question, each a figure from the tables above it; image quality and
    classification a clause a family."""
    best = best_rows(board).reset_index(drop=True)
    if best.empty:
        return {}
    families = [(family, best[best["family"] == family]) for family in registry.FAMILIES]
    families = [(family, rows) for family, rows in families if len(rows)]
    said = " ".join(family_quality(rows, family) for family, rows in families)
    budget = headline(board)
    if budget is not None:  # the sentence names the budget it answers at
        said = f"At {budget:,} training images, {said[0].lower()}{said[1:]}"
    out = {"quality": said}
    scored = [(family, found) for family, rows in families if (found := most_confident(rows))]
    if scored:
        (family, (variant, score)), rest = scored[0], scored[1:]
        out["classification"] = (
            f"Among {family} variants, {variant}'s digits are classified most confidently and evenly "
            f"(classifier score {score} of 10)"
            + "".join(f"; among {f} variants, {v}'s ({s} of 10)" for f, (v, s) in rest)
            + "."
        )
    if not stable.empty and "g_loss_spread" in stable:
        calm = stable.dropna(subset=["g_loss_spread"])
        if len(calm):
            most = stable.sort_values("diverged", ascending=False).iloc[0]
            diverged = (
                f"{int(most.diverged)} of {int(most.trials)} {most.variant} trials diverged, the "
                "most of any variant"
                if most.diverged
                else "no search trial diverged"
            )
            said = []
            for family, part in calm.groupby("loss_family", sort=False):
                part = part.sort_values("g_loss_spread")
                if len(part) > 1:
                    said.append(
                        f"among {family} losses {part.iloc[0].variant}'s generator loss moves least "
                        f"over its trials' last reports (median spread {part.iloc[0].g_loss_spread:.3g}), "
                        f"{part.iloc[-1].variant}'s most ({part.iloc[-1].g_loss_spread:.3g})"
                    )
            jumps = int(stable["fid_jumps"].sum()) if "fid_jumps" in stable else 0
            told = "; ".join(said + [diverged])
            out["losses"] = (
                told[0].upper()
                + told[1:]
                + f"; {jumps} search report{'' if jumps == 1 else 's'} had an FID over twice the "
                "trial's best so far"
                + (f" (most: {stable.sort_values('fid_jumps').iloc[-1].variant})." if jumps else ".")
            )
    rates = best.set_index("variant")["images_per_s"] if "images_per_s" in best else pd.Series(dtype=float)
    where = "in the final stage, trials sharing the machine"
    if alone is not None and not alone.empty:
        measured = alone.set_index("variant")["images_per_s_alone"].dropna()
        if set(best["variant"]) <= set(measured.index):  # only a measurement of every variant ranks them
            rates, where = measured.reindex(best["variant"]), "measured alone"
    rates = rates.dropna()
    if len(rates) > 1:
        out["computing time"] = (
            f"{rates.idxmax()} trains fastest ({rates.max():.0f} images/s {where}), "
            f"{rates.idxmin()} slowest ({rates.min():.0f})."
        )
    elif len(rates):
        out["computing time"] = f"{rates.index[0]} trains at {rates.iloc[0]:.0f} images/s {where}."
    # the hardest threshold that at least two variants reach (or one, if only one reaches any)
    reach = (
        sorted(
            (c for c in ttq.columns if c.startswith("images_to_")),
            key=lambda c: float(c.removeprefix("images_to_")),
        )
        if not ttq.empty
        else []
    )
    reached = {c: ttq[ttq["arm"] == "best"].dropna(subset=[c]).sort_values(c) for c in reach}
    chosen = next(
        (c for c in reach if len(reached[c]) >= 2), next((c for c in reach if len(reached[c])), None)
    )
    if chosen and "computing time" in out:
        done, first = reached[chosen], reached[chosen].iloc[0]
        label = chosen.removeprefix("images_to_")
        seeds = (
            f" over its {int(first['seeds'])} seeds, the {int(first['seeds'] - first[f'reached_{label}'])}"
            " that never reach it counted as later"
            if {f"reached_{label}", "seeds"} <= set(first.index)
            and first[f"reached_{label}"] < first["seeds"]
            else ""
        )
        seconds = (
            f", {first[chosen] / rates[first.variant]:,.0f} s alone"
            if where == "measured alone" and first.variant in rates
            else ""
        )
        short = len(best) - len(done)
        out["computing time"] += (
            f" To FID {label}, {first.variant} needs the fewest images "
            f"({first[chosen]:,.0f}, the median{seeds}{seconds}); "
            + (
                f"{short} of {len(best)} variants' median seeds do not reach it within the budget."
                if short
                else "every variant reaches it."
            )
        )
    return out


def load_agreement(results: Path) -> dict | None:
    """The two evaluators' verdicts (sweeps/study/evaluator_agreement.py): a sentence and a table of
    each variant's FID and rank under both, or None if it has not been run."""
    found, scores = results / "evaluator_agreement.json", results / "evaluator_agreement.csv"
    if not (found.exists() and scores.exists()):
        return None
    said = json.loads(found.read_text())
    # as agreement() counts them
    fids = pd.read_csv(scores).pivot(index="variant", columns="evaluator", values="fid").dropna()
    table = pd.DataFrame(
        {
            "FID, main evaluator": fids["main"],
            "rank, main": fids["main"].rank(method="min").astype(int),
            "FID, second evaluator": fids["second"],
            "rank, second": fids["second"].rank(method="min").astype(int),
        }
    )
    rho = said["spearman_rho"]
    verdict = "rank alike" if rho >= 0.7 else ("rank only partly alike" if rho >= 0.3 else "rank differently")
    scored = said.get("generators", "each variant's exported best")  # an agreement written before it said
    sentence = (
        f"The {said['variants']} variants' generators ({scored}) {verdict} under the two evaluators "
        "(the second: another architecture and seed): "
        f"Spearman's rho {rho:.3f} (permutation p {said['spearman_p']:.2g}), "
        f"Kendall's tau {said['kendall_tau']:.3f} (p {said['kendall_p']:.2g}); "
        + (
            "both put the same variant first."
            if said["same_winner"]
            else "the two put different variants first."
        )
    )
    return {"sentence": sentence, "table": table.sort_values("FID, main evaluator").reset_index()}


def load_precision(results: Path) -> str | None:
    """The precision control's table (sweeps/study/precision_control.py writes it as markdown) as a
    section of the report, or None if it has not been run."""
    found = results / "precision_control.md"
    if not found.exists():
        return None
    text = found.read_text().strip()
    return "#" + text if text.startswith("# ") else text  # a section of the report, not its title


def load_final(final: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The final stage's (leaderboard, runs, winners)."""
    board = pd.read_csv(final / "leaderboard.csv")
    runs = pd.read_csv(final / "runs.csv") if (final / "runs.csv").exists() else pd.DataFrame()
    winners = pd.read_csv(final / "winners.csv") if (final / "winners.csv").exists() else pd.DataFrame()
    return board, runs, winners


def headline(board: pd.DataFrame) -> int | None:
    """The budget the leaderboard answers at (analysis.headline_budget); None for a final stage
    written before the ladder."""
    if "budget_images" not in board or board["budget_images"].isna().all():
        return None
    return int(board["budget_images"].dropna().iloc[0])


def at_headline(runs: pd.DataFrame, board: pd.DataFrame) -> pd.DataFrame:
    """The runs at the leaderboard's budget (or at the first, for a leaderboard without one)."""
    if "budget_images" not in runs or runs["budget_images"].isna().all():
        return runs
    budget = headline(board)
    return runs[runs["budget_images"] == (runs["budget_images"].min() if budget is None else budget)]


def read_table(path: Path) -> pd.DataFrame:
    """A CSV the final stage wrote, empty where it wrote none (or an empty one)."""
    return pd.read_csv(path) if path.is_file() and path.stat().st_size > 1 else pd.DataFrame()


def load_goals(final: Path) -> dict | None:
    """The study's goals against the measured figures (analysis.goals): the table, and a
    sentence at each FID goal's longest budget and on the final seeds' coverage."""
    table = read_table(final / "goals.csv")
    if table.empty:
        return None

    def figure(row) -> str:
        if row["goal"].startswith("best"):
            return cell(row["measured"], row["low"], row["high"])
        return f"{row['measured']:.0%}"

    said = []
    for goal, rows in table.groupby("goal", sort=False):
        if goal.startswith("runs "):  # each budget's coverage: the table's; the goal is the final seeds'
            continue
        last = rows.iloc[-1]
        where = f" at {int(last['budget_images']):,} images" if pd.notna(last["budget_images"]) else ""
        verdict = "met" if last["met"] else "not met"
        said.append(f"{goal}{where}: {figure(last)} ({last['variant']}) against {last['target']}, {verdict}")
    shown = table.assign(
        budget_images=table["budget_images"].map(lambda b: f"{int(b):,}" if pd.notna(b) else ""),
        measured=[figure(row) for _, row in table.iterrows()],
        met=table["met"].map({True: "met", False: "not met"}),
    ).drop(columns=["low", "high"])
    return {"sentence": "Goals: " + "; ".join(said) + ".", "table": shown}


def winners_generators(final: Path) -> pd.DataFrame:
    """Each family winner's committed generator (final_stage.winner_generators): which run, the FID
    its headline file scored, and the command that scores that file again, from the report's folder."""
    rows = []
    for record in sorted((final / "generators").glob("*/metrics.json")):
        found = json.loads(record.read_text())
        headline = found["headline_file"]
        again = found["rescore"][headline]
        rows.append(
            {
                "family": found["family"],
                "variant": found["variant"],
                "seed": f"{found['seed']} (median of {found['of_seeds']})",
                "budget_images": f"{found['budget_images']:,}",
                "file": headline,
                "FID": found["run"].get(again["reproduces"]),
                "score it again": f"cd {record.parent.relative_to(final.parent)} && {again['command']}",
            }
        )
    return pd.DataFrame(rows)


GENERATORS = {
    "ema": "each run's exponential moving average of generator weights (EMA)",
    "weights": "each run's generator weights",
}


def evidence(choice: dict, where: bool = True) -> str:
    """The test behind one budget's generator_choice, as a clause."""
    if "wilcoxon_p" not in choice:
        return f" ({choice['why']})" if choice.get("why") else ""
    at = f" at {choice['budget_images']:,} training images" if where and choice.get("budget_images") else ""
    return (
        f": over the {choice['runs']} runs scored both ways{at}, the average's FID is lower in "
        f"{choice['lower_in']}, median ratio {choice['median_ratio']:.3f}, Wilcoxon signed-rank "
        f"p={choice['wilcoxon_p']:.2g}"
    )


def generator_sentence(final: Path) -> str:
    """Which generator the final stage's tables score and why (analysis.generator_choice)."""
    path = final / "generator_choice.json"
    if not path.is_file():
        return ""
    choice = json.loads(path.read_text())
    said = f"The final stage's tables and strip plots score {GENERATORS[choice['generator']]}"
    said += evidence(choice)
    # a budget that chose otherwise (the ladder's first, where an average has not forgotten its start)
    others = [c for c in choice.get("by_budget", []) if c["generator"] != choice["generator"]]
    for other in others:
        said += (
            f"; at {other['budget_images']:,} training images, {GENERATORS[other['generator']]}"
            f"{evidence(other, where=False)}"
        )
    averaged = [c for c in [choice, *choice.get("by_budget", [])] if c["generator"] == "ema"]
    if averaged:  # the average is scored only at each budget's end
        weights = ["the FID curves", "time to quality", "class shares", "seeds' grids"]
        names = {"cas": "CAS", "cas_evaluator": "CAS on the evaluator's labels"}
        kept = dict.fromkeys(m for c in averaged for m in c.get("weights_only", []))
        weights += [names.get(m, m.replace("_", " ")) for m in kept]
        said += f"; {', '.join(weights[:-1])} and {weights[-1]} are the weights'"
    return said + "."


def load_ladder(final: Path, runs: pd.DataFrame, figures: Path) -> dict | None:
    """The budget ladder's leaderboards (a table a budget and family), whether each family's top 3
    kept their order, and a strip plot a budget; None without a ladder."""
    if not (final / "ladder.csv").exists():
        return None
    boards = pd.read_csv(final / "ladder.csv")
    strips = {
        int(budget): fid_strip(part, figures / f"fid_strip_{int(budget)}.png")
        for budget, part in runs.groupby("budget_images")
    }
    kept = pd.read_csv(final / "order.csv") if (final / "order.csv").exists() else pd.DataFrame()
    return {"boards": boards, "strips": strips, "order": kept}


def with_real_cas(found: dict, path: Path) -> dict:
    """The classification finding with the CAS's ceiling beside it, where the final stage measured
    one (final_stage.real_baseline)."""
    if path.is_file() and "classification" in found:
        real = json.loads(path.read_text())
        found["classification"] += (
            f" Real training digits under the same CAS protocol ({real['n']:,} of them): "
            f"{real['cas_real']:.3f}."
        )
    return found


def load_axes(results: Path, histories: dict, trials: dict, figures: Path) -> dict | None:
    """Everything the report's four-questions part shows, or None without a final stage."""
    final = results / "final"
    if not (final / "leaderboard.csv").exists():
        return None
    board, runs, winners = load_final(final)
    scored = as_chosen(runs, chosen_generators(final)) if not runs.empty else runs
    ttq = read_table(final / "time_to_quality.csv")
    alone_path = results / "throughput.csv"
    # one row a variant (a re-measured variant's last row), read once for the table and the finding
    alone = pd.read_csv(alone_path).drop_duplicates("variant", keep="last") if alone_path.exists() else None
    winners = with_alone_rates(winners, alone, board.loc[board["arm"] == "best", "variant"])
    stable = stability(histories, trials)
    tables = dict(
        zip(
            QUESTIONS,
            [
                with_intervals(board, QUALITY),
                classification(board, stable),
                within_loss_family(stable),
                computing(board, ttq, alone),
            ],
        )
    )
    return {
        "board": board,
        "winners": winners,
        "tables": tables,
        "findings": with_real_cas(findings(board, stable, ttq, alone), final / "cas_real.json"),
        "strip": fid_strip(at_headline(scored, board), figures / "fid_strip.png") if not runs.empty else None,
        "classes": (
            class_shares(at_headline(runs, board), figures / "class_shares.png") if not runs.empty else None
        ),
        "seeds": seed_grids(final, runs, figures) if not runs.empty else {},
        "ladder": load_ladder(final, scored, figures),
        "generator": generator_sentence(final),
        "goals": load_goals(final),
        "gain": read_table(final / "search_gain.csv"),
        "generators": winners_generators(final),
        "time_to_quality": time_to_quality_figure(ttq, figures / "time_to_quality.png"),
        "agreement": load_agreement(results),
        "precision": load_precision(results),
    }
