"""The study's final stage, after the search: each variant's best configuration and its papers'
defaults trained again at one equal budget (the same training images for every variant) with
several seeds, every run scored on the test split with the full evaluation, and every figure given
as its median over seeds with a bootstrap interval (sweeps/study/statistics.py).

The search ranks by one noisy run per configuration; this stage says what a configuration gives
across seeds, so that gaps between variants can be told from noise: within each family (conditional
or unconditional generators, registry.family) every configuration is tested against the family's
leader. Runs go through the sweep's own trainable (no early stopping, every run its whole
budget), as one Ray Tune experiment.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ganlib import registry
from ganlib import schedule as schedules
from ganlib.data import NUM_CLASSES
from sweeps.search.plan import Setup, storage_join, trial_resources, variant_run
from sweeps.search.trainable import GANTrainable
from sweeps.study import statistics, tables

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
    "cas_evaluator",  # an unconditional generator's CAS on the evaluator's labels (final_evaluator_cas)
]
# Where each figure can lie; its interval is kept inside. KID's unbiased estimator dips below 0 when
# the two sets are close, so it has no lower bound.
BOUNDS = {
    "fid": (0.0, math.inf),
    "kid": (-math.inf, math.inf),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "density": (0.0, math.inf),
    "coverage": (0.0, 1.0),
    "classifier_score": (1.0, float(NUM_CLASSES)),
    "classes_covered": (0.0, float(NUM_CLASSES)),
    "class_kl_uniform": (0.0, math.inf),
    "conditional_accuracy": (0.0, 1.0),
    "cas": (0.0, 1.0),
    "cas_evaluator": (0.0, 1.0),
    "images_per_s": (0.0, math.inf),
}


def entries(setup: Setup, export_dir: Path, first_seed: int) -> list[dict]:
    """One trial config per (variant, arm, seed): the best trial's hyperparameters (from the
    export) with final_seeds seeds and the papers' defaults with the preset's defaults_seeds, at
    final_rounds reports. With a ladder, the first ladder_seeds of the best's runs go on to the
    ladder's first budget (`rungs`: the budgets a run is scored in full at), and every report of
    the stage scores FID on the test split with final_eval_samples (what the ladder's curves show)."""
    from sweeps.search.spaces import paper_defaults_point

    preset = setup.preset
    seeds = {
        "best": [first_seed + i for i in range(setup.final_seeds)],
        "defaults": [first_seed + i for i in range(min(setup.final_seeds, preset.defaults_seeds or 10**6))],
    }
    found = []
    for variant in setup.variants:
        record = export_dir / "best" / variant / "config.json"
        if not record.exists():  # no finalist: nothing chosen to retrain
            continue
        run = variant_run(setup, variant)
        run["eval_every_images"] = preset.final_eval_every_images or run["eval_every_images"]
        if setup.ladder:
            run.update(eval_split="test", eval_samples=run["final_eval_samples"])
        if preset.final_evaluator_cas:
            run["cas_every_generator"] = True
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
        if preset.final_ema_half_life:  # an average kept beside the weights: training is unchanged
            for point in points.values():
                point["ema_half_life"] = preset.final_ema_half_life
        for arm in ARMS[:1] if same else ARMS:
            # a best that is the defaults stands for both arms: as many seeds as either has
            for index, seed in enumerate(seeds[arm] if not same else seeds["best"]):
                climbs = arm == "best" and setup.ladder and index < setup.ladder_seeds
                rungs = [setup.final_rounds, setup.ladder[0]] if climbs else [setup.final_rounds]
                found.append(
                    {
                        "run": {
                            **run,
                            "seed": seed,
                            "max_rounds": rungs[-1],
                            "rungs": rungs,
                            "arm": arm,
                            "best_is_defaults": same,
                            "scheduler": "none",  # every run its whole budget; a diverged one ends
                            **({"schedule": schedule} if arm == "best" and schedule else {}),
                        },
                        **points[arm],
                    }
                )
    return found


def climbers(table: pd.DataFrame, budget: int, top: dict[str, int]) -> list[str]:
    """The variants that go on from `budget` (training images) to the ladder's next budget: the best
    `top[family]` of each family by the median FID of their best configuration's runs there."""
    here = table[(table["arm"] == "best") & (table["budget_images"] == budget)]
    medians = here.assign(fid=finite(here["fid"])).groupby("variant")["fid"].median().dropna().sort_values()
    chosen = []
    for family, count in top.items():
        chosen += [v for v in medians.index if registry.family(v) == family][:count]
    return sorted(chosen)


def kept_ladder_step(uri: str, rounds: int, chosen: list[str], runs_of) -> tuple[list[str], list[dict]]:
    """The variants and runs that go on to `rounds` as first chosen, kept in the JSON document at
    `uri` (beside the experiments in the sweep's storage): a resumed study whose earlier budget
    changed since (a failed run retried and finished) goes on with the runs its later experiment
    already holds, not with a new choice. `runs_of(variants)`: the configs continuing their runs."""
    from sweeps.cloud.exports import read_json, write_json

    kept = read_json(uri) or {}
    first = kept.get(str(rounds))
    if first is None:
        configs = runs_of(chosen)
        runs = sorted([c["run"]["variant"], c["run"]["seed"]] for c in configs)
        write_json(uri, {**kept, str(rounds): {"variants": chosen, "runs": runs}})
        return chosen, configs
    wanted = {tuple(run) for run in first["runs"]}
    configs = [c for c in runs_of(first["variants"]) if (c["run"]["variant"], c["run"]["seed"]) in wanted]
    return first["variants"], configs


# how many of each family go on to each of the ladder's later budgets, unless the preset says
TOP = {"conditional": 1, "unconditional": 2}


def continued(grid, variants: list[str], from_rounds: int, rounds: int, checkpoint_uri) -> list[dict]:
    """The configs that carry the given variants' best-configuration runs that ended at
    `from_rounds` on from their last checkpoint to `rounds` reports: the same runs, longer.
    `checkpoint_uri(result)`: where that result's last checkpoint is."""
    found = []
    for result in grid:
        config = (result.config or {}).get("final", {})
        run = config.get("run", {})
        if run.get("variant") not in variants or run.get("arm") != "best":
            continue
        if run.get("max_rounds") != from_rounds or result.error is not None or result.checkpoint is None:
            continue
        if (result.metrics or {}).get("diverged"):
            continue  # a run that did not reach its budget has nothing to carry on
        found.append(
            {
                **config,
                "run": {
                    **run,
                    "max_rounds": rounds,
                    "rungs": [rounds],
                    "continue_from": checkpoint_uri(result),
                },
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
    """The search's trainable, its config under "final" (one grid point a run). At each of its
    `rungs` (final-stage rounds) a run is scored in full on the test split, its generator's weight
    average too where it keeps one, as `full_*` and `full_ema_*`; every report carries those keys
    (NaN between rungs) since Ray's progress.csv keeps only the columns of a trial's first report.
    A run with `continue_from` (a checkpoint's URI) starts from that run's state: the ladder's
    longer budgets continue the runs of the shorter ones."""

    def setup(self, config: dict) -> None:
        super().setup(config["final"])
        self.carry_on()

    def reset_config(self, new_config: dict) -> bool:
        done = super().reset_config(new_config["final"])
        self.carry_on()
        return done

    def carry_on(self) -> None:
        uri = self.settings.get("continue_from")
        if not uri:
            return
        import tempfile

        from sweeps.cloud.exports import fetch

        with tempfile.TemporaryDirectory() as folder:
            self.load_checkpoint(str(fetch(uri, Path(folder))))
        self.replaced = ""  # the same run, longer: no copy of another's state

    def step(self) -> dict:
        metrics = super().step()
        run = self.ganlib_run
        rung = self.rounds in (self.settings.get("rungs") or [self.settings["max_rounds"]])
        rung = rung and not metrics.get("diverged")
        scores, averaged = {}, {}
        if rung and self.finished:  # the trainable's own full evaluation at the end of the budget
            scores = {k.removeprefix("final_"): v for k, v in metrics.items() if k.startswith("final_")}
            averaged = {k.removeprefix("ema_"): v for k, v in scores.items() if k.startswith("ema_")}
        elif rung:
            start = time.perf_counter()
            scores = run.evaluate(
                self.settings["final_eval_samples"], cas=self.settings.get("cas_every_generator") or None
            )
            if run.model.has_average:
                averaged = run.evaluate(
                    self.settings["final_eval_samples"],
                    average=True,
                    cas=self.settings.get("cas_every_generator") or None,
                )
            self.eval_seconds += time.perf_counter() - start
            metrics["eval_seconds"] = self.eval_seconds
        # the planned budget, not the images trained: a step of 64 x n_critic images overshoots a
        # round by up to a step, and budgets must match across variants to be compared
        metrics["rung_images"] = self.rounds * self.settings["eval_every_images"] if rung else 0
        metrics.update({f"full_{m}": float(scores.get(m, math.nan)) for m in METRICS})
        # the share of samples in each class (the evaluator's), a column a class
        shares = scores.get("class_histogram") or [
            scores.get(f"class_{d}", math.nan) for d in range(NUM_CLASSES)
        ]
        metrics.update({f"full_class_{d}": float(share) for d, share in enumerate(shares)})
        if run.model.has_average:
            metrics.update({f"full_ema_{m}": float(averaged.get(m, math.nan)) for m in METRICS})
        return metrics


def results_table(grid) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per run and budget it was scored in full at, with its test-split figures; every
    report of every run). `grid`: the final stage's results, a ladder's later budgets' too."""
    rows, histories = [], []
    for result in grid:
        config = (result.config or {}).get("final", {})
        run, metrics = config.get("run", {}), result.metrics or {}
        history = result.metrics_dataframe if result.metrics_dataframe is not None else pd.DataFrame()
        key = {"variant": run.get("variant"), "arm": run.get("arm"), "seed": run.get("seed")}
        if not history.empty:
            # the split each report's FID was scored on (entries: the test split with a ladder)
            split = "test split" if run.get("eval_split") == "test" else "validation slice"
            histories.append(history.assign(**key, fid_on=split))
        base = {**key, "diverged": bool(metrics.get("diverged", False)), "failed": result.error is not None}
        scored = history[history["rung_images"] > 0] if "rung_images" in history else history.iloc[:0]
        mine = [
            {
                **base,
                "diverged": False,  # scored in full at this budget: it got there
                "failed": False,
                **budget_columns(report),
                **{m: report.get(f"full_{m}", math.nan) for m in METRICS},
                **{f"ema_{m}": report.get(f"full_ema_{m}", math.nan) for m in METRICS},
                **{f"class_{d}": report.get(f"full_class_{d}", math.nan) for d in range(NUM_CLASSES)},
            }
            for _, report in scored.iterrows()
        ]
        every = run.get("eval_every_images", 0)
        first = run.get("rungs", [run.get("max_rounds", 0)])[0] * every
        reached = {row["budget_images"] for row in mine}
        # a budget the run was meant to reach and did not (it diverged or failed before): a row
        # without figures that carries why, so each budget counts its lost runs
        mine += [
            {**base, "budget_images": rounds * every, "training_images": metrics.get("training_images")}
            for rounds in run.get("rungs", [])
            if every and rounds * every not in reached
        ]
        if not mine:  # a run that ended before its first rung (diverged, failed): its last report
            mine = [
                {
                    **base,
                    **budget_columns(metrics),
                    "budget_images": first or metrics.get("training_images"),
                    **{m: metrics.get(f"final_{m}", math.nan) for m in METRICS},
                }
            ]
        rows += mine
        # the same runs stand for the papers' defaults, at the stage's first budget (the defaults arm's)
        if run.get("best_is_defaults") and not run.get("continue_from"):
            rows += [
                {**row, "arm": "defaults", "same_runs_as_best": True}
                for row in mine
                if not first or row["budget_images"] == first
            ]
            if not history.empty:
                histories.append(history.assign(**{**key, "arm": "defaults"}))
    table = pd.DataFrame(rows)
    if not table.empty:
        same = table.get("same_runs_as_best", pd.Series(False, index=table.index))
        table["same_runs_as_best"] = same.fillna(False).astype(bool)
        order = ["budget_images", "variant", "arm", "seed"]
        table = table.sort_values(order, kind="stable", ignore_index=True)
    return table, (pd.concat(histories, ignore_index=True) if histories else pd.DataFrame())


def budget_columns(report) -> dict:
    """A report's (or a run's last metrics') budget and what it cost."""
    images = report.get("rung_images") or report.get("training_images")
    return {
        "budget_images": images,
        "training_images": report.get("training_images"),
        "train_seconds": report.get("train_seconds"),
        "images_per_s": report.get("images_per_s"),
        "generator_steps": report.get("generator_steps"),
    }


def counted_once(table: pd.DataFrame) -> pd.DataFrame:
    """The runs, each once: a papers'-defaults row made of its best row's runs (the search's best
    was the defaults, results_table) left out, those runs being the best's rows."""
    if table.empty or "same_runs_as_best" not in table:
        return table
    return table[~table["same_runs_as_best"].fillna(False).astype(bool)]


def finite(values) -> np.ndarray:
    """The values as floats, None and inf turned into NaN: statistics drops NaNs, and a
    diverged or failed run (no final figure) is counted where it is dropped."""
    array = np.asarray([math.nan if v is None else v for v in values], dtype=float)
    return np.where(np.isfinite(array), array, math.nan)


def snapped(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values a float rounding outside [low, high] moved onto the bound (a one-class sample's
    classifier score can come out a hair under 1); values further out are left for
    statistics.median_interval to refuse, since they mean a metric is wrong."""
    slack = 1e-9
    values = np.where((values < low) & (values >= low - slack), low, values)
    return np.where((values > high) & (values <= high + slack), high, values)


def support(metric: str) -> tuple[float, float]:
    return BOUNDS.get(metric, (-math.inf, math.inf))


def summary(values, metric: str) -> dict:
    """`metric`: the median over seeds; `_low`/`_high`: its 95% bootstrap interval, inside the
    metric's bounds and the data's range; `_q1`/`_q3`, `_min`/`_max`. Non-finite values are left
    out (the leaderboard counts them for FID)."""
    low, high = support(metric)
    clean = snapped(finite(values), low, high)
    median, lo, hi = statistics.median_interval(clean, low=low, high=high)
    q1, q3 = statistics.iqr(clean)
    present = clean[~np.isnan(clean)]
    least, most = (float(present.min()), float(present.max())) if len(present) else (math.nan, math.nan)
    return {
        metric: median,
        f"{metric}_low": lo,
        f"{metric}_high": hi,
        f"{metric}_q1": q1,
        f"{metric}_q3": q3,
        f"{metric}_min": least,
        f"{metric}_max": most,
    }


def collapsed_runs(table: pd.DataFrame) -> pd.Series:
    """Per run: whether it collapsed by statistics.collapsed over its variant's and arm's seeds
    (fewer than every class covered, or an FID over twice the arm's median)."""
    flags = pd.Series(False, index=table.index)
    classes = table["classes_covered"] if "classes_covered" in table else pd.Series(math.nan, table.index)
    for _, group in table.groupby(["variant", "arm"]):
        flags[group.index] = statistics.collapsed(finite(group["fid"]), finite(classes[group.index]))
    return flags


def arm_row(variant: str, arm: str, group: pd.DataFrame, collapsed: pd.Series) -> dict:
    row = {
        "variant": variant,
        "arm": arm,
        "family": registry.family(variant),
        "seeds": int(len(group)),
        "non_finite": int(np.isnan(finite(group["fid"])).sum()),
        "diverged": int(group["diverged"].sum()),
        "collapsed": int(collapsed[group.index].sum()),
        "training_images": group["training_images"].max(),
        "generator_steps": group["generator_steps"].max(),
        "same_runs_as_best": (
            bool(group["same_runs_as_best"].any()) if "same_runs_as_best" in group else False
        ),
    }
    for metric in [m for m in METRICS + ["images_per_s"] if m in group]:
        row.update(summary(group[metric], metric))
    return row


# what a row of the leaderboard says against its family's leader
VERDICT = ["p_vs_leader", "p_holm", "ratio_of_medians", "cliffs_delta", "prob_best", "verdict", "differs"]


def family_verdicts(table: pd.DataFrame, rows: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """`leader` and the VERDICT columns for one family's rows of the leaderboard (`rows`, indexed
    as the board). The leader is the best configuration with the lowest median FID; every other
    row, papers'-defaults ones included, is tested against it by statistics.compare (Mann-Whitney,
    Holm over the family, ratio of medians and Cliff's delta of the row's FIDs over the leader's).
    `prob_best` is over the family's best configurations only: it answers which variant's chosen
    configuration has the lowest median FID (a defaults row's is blank). A defaults row made of its
    best row's runs is no comparison of its own: it takes that row's figures and stays out of the
    Holm family."""
    keys = rows["variant"] + "/" + rows["arm"]
    fids = {
        keys[i]: snapped(
            finite(arm_runs(table, rows.at[i, "variant"], rows.at[i, "arm"])["fid"]), 0, math.inf
        )
        for i in rows.index
    }
    best = rows[rows["arm"] == "best"]
    leader = (best if len(best) else rows).sort_values("fid", na_position="last", kind="stable").index[0]
    copies = rows.index[
        (rows["arm"] == "defaults") & rows["same_runs_as_best"] & rows["variant"].isin(best["variant"])
    ]
    compared = rows.index.difference(copies)
    found = statistics.compare(
        {keys[i]: fids[keys[i]] for i in compared}, leader=keys[leader], alpha=alpha
    ).set_index("group")
    chances = statistics.prob_best({keys[i]: fids[keys[i]] for i in best.index})
    out = pd.DataFrame(
        {
            "p_vs_leader": keys.map(found["p"]),
            "p_holm": keys.map(found["p_holm"]),
            "ratio_of_medians": keys.map(found["ratio"]),
            "cliffs_delta": keys.map(found["cliffs_delta"]),
            "prob_best": keys.map(chances).astype(float),
            "verdict": keys.map(found["verdict"]),
        }
    )
    out["differs"] = out["p_holm"] < alpha
    for i in copies:
        out.loc[i] = out.loc[best.index[best["variant"] == rows.at[i, "variant"]][0]]
    out["leader"] = out.index == leader
    return out


def arm_runs(table: pd.DataFrame, variant: str, arm: str) -> pd.DataFrame:
    return table[(table["variant"] == variant) & (table["arm"] == arm)]


def leaderboard(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per variant and arm, the unconditional family first and each family by median FID: `family`
    (registry.family), `seeds` (runs), `non_finite` (runs without a finite FID: left out of every
    figure, and counted here), `diverged`, `collapsed` (seeds by statistics.collapsed), and for
    every figure its median over seeds, the median's 95% bootstrap interval inside the figure's
    bounds (`_low`, `_high`), the quartiles (`_q1`, `_q3`) and the range (`_min`, `_max`). Within
    each family (a conditional generator is handed the class, so it is ranked only among its
    kind): `leader` and every other row's comparison with it (family_verdicts)."""
    if table.empty:
        return pd.DataFrame()
    collapsed = collapsed_runs(table)
    rows = [arm_row(v, arm, group, collapsed) for (v, arm), group in table.groupby(["variant", "arm"])]
    board = pd.DataFrame(rows)
    # on a tie (a defaults row made of its best row's runs) the best row comes first
    order = board["family"].map(registry.FAMILIES.index).rename("order")
    board = (
        board.join(order)
        .sort_values(["order", "fid", "arm"], na_position="last", kind="stable")
        .drop(columns="order")
        .reset_index(drop=True)
    )
    return board.join(
        pd.concat([family_verdicts(table, part, alpha) for _, part in board.groupby("family", sort=False)])
    )


def time_to_quality(
    histories: pd.DataFrame, thresholds=(400.0, 200.0, 100.0, 50.0, 20.0, 10.0)
) -> pd.DataFrame:
    """Per variant and arm: the training images and training seconds at the first report whose FID
    (the reports' own: the validation slice, or the test split in a ladder's final stage) is at or
    below each threshold, the median over the seeds that reached it (`reached_` counts them). The
    last two thresholds are the study's goals (FID_GOALS: unconditional 20, conditional 10)."""
    rows = []
    if histories.empty:
        return pd.DataFrame()
    for (variant, arm), group in histories.groupby(["variant", "arm"]):
        row = {"variant": variant, "arm": arm, "seeds": group["seed"].nunique()}
        for threshold in thresholds:
            reached = []
            # by images, not Ray's iteration: a continued run counts its iterations from 1 again
            for _, runs in group.sort_values("training_images").groupby("seed"):
                hit = runs[runs["fid"] <= threshold]
                if len(hit):
                    reached.append((hit["training_images"].iloc[0], hit["train_seconds"].iloc[0]))
            label = f"{threshold:g}"
            row[f"reached_{label}"] = len(reached)
            row[f"images_to_{label}"] = float(np.median([r[0] for r in reached])) if reached else math.nan
            row[f"seconds_to_{label}"] = float(np.median([r[1] for r in reached])) if reached else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


# the study's axes, as the winners table answers them: axis -> (figure, lower is better)
AXES = {
    "image quality": ("fid", True),
    "classification": ("classifier_score", False),
    "classification accuracy score": ("cas", False),
    "CAS on the evaluator's labels": ("cas_evaluator", False),
    "computing time": ("images_per_s", False),
}


def winners(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per family and axis (AXES), among the family's best configurations: the variant with the
    best median, its median and 95% bootstrap interval, its bootstrap probability of having the
    best median on that axis, and the runner-up with its verdict against the winner
    (statistics.compare). An axis none of a family's variants has a figure for is left out (the
    CAS is scored for conditional generators only)."""
    best = table[table["arm"] == "best"] if not table.empty else table
    rows = []
    for family in registry.FAMILIES:
        part = best[best["variant"].map(registry.family) == family] if len(best) else best
        for axis, (metric, lower) in AXES.items():
            if metric not in part or not np.isfinite(finite(part[metric])).any():
                continue
            low, high = support(metric)
            groups = {v: snapped(finite(g[metric]), low, high) for v, g in part.groupby("variant")}
            found = statistics.compare(groups, lower_is_better=lower, alpha=alpha, low=low, high=high)
            rows.append(winner_row(family, axis, metric, lower, found))
    return pd.DataFrame(rows)


def search_gain(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per variant whose search found other settings than its papers' defaults, the two arms' FIDs
    over their seeds: each median with its interval, Mann-Whitney's p and its Holm adjustment over
    the variants, the ratio of medians (defaults over best: above 1, the search gained) and Cliff's
    delta (defaults against best), and a verdict that, where the test cannot tell, says what ratio
    it could have detected. A defaults row made of its best row's runs is no comparison."""
    rows, arms = [], {}
    for variant, runs in table.groupby("variant", sort=False) if len(table) else ():
        if len(counted_once(runs)) < len(runs):  # the defaults are the best's own runs: no comparison
            continue
        fids = {arm: finite(runs.loc[runs["arm"] == arm, "fid"]) for arm in ("best", "defaults")}
        best, defaults = (values[np.isfinite(values)] for values in fids.values())
        if not len(best) or not len(defaults):
            continue
        arms[variant] = (defaults, best)
        row = {"variant": variant, "family": registry.family(variant)}
        for arm, values in (("best", best), ("defaults", defaults)):
            median, low, high = statistics.median_interval(values, low=0.0)
            row.update({f"{arm}_seeds": len(values), arm: median, f"{arm}_low": low, f"{arm}_high": high})
        row.update(
            p=statistics.mann_whitney(defaults, best),
            ratio_of_medians=statistics.ratio_of_medians(defaults, best),
            cliffs_delta=statistics.cliffs_delta(defaults, best),
        )
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    gain = pd.DataFrame(rows)
    gain["p_holm"] = statistics.holm(gain["p"])
    verdicts = []
    for row in gain.itertuples():
        if row.p_holm < alpha:
            lower = "the search's best" if row.ratio_of_medians > 1 else "the papers' defaults"
            verdicts.append(f"{lower} lower (Holm p={row.p_holm:.2g})")
            continue
        # at Holm's strictest level over the variants, as statistics.compare does
        detectable = statistics.detectable_ratio(*arms[row.variant], alpha=alpha / len(gain))
        verdicts.append(statistics.cannot_tell(row.defaults_seeds, row.best_seeds, detectable))
    return gain.assign(verdict=verdicts)


def winner_row(family: str, axis: str, metric: str, lower: bool, found: pd.DataFrame) -> dict:
    """A winners row from statistics.compare's table (the leader first)."""
    top = found.iloc[0]
    second = found.iloc[1] if len(found) > 1 else None
    return {
        "family": family,
        "axis": axis,
        "metric": metric,
        "better": "lower" if lower else "higher",
        "variant": top["group"],
        "seeds": int(top["n"]),
        "median": top["median"],
        "low": top["lo"],
        "high": top["hi"],
        "prob_best": top["prob_best"],
        "runner_up": second["group"] if second is not None else "",
        "runner_up_verdict": second["verdict"] if second is not None else "",
    }


def with_alone_rates(
    found: pd.DataFrame, alone: pd.DataFrame | None, variants, alpha: float = 0.05
) -> pd.DataFrame:
    """The winners with the computing-time axis answered from the rates measured alone
    (sweeps.study.throughput's timed windows, `window_images_per_s`) in place of the final stage's,
    whose runs shared the machine: per family, where every one of its `variants` (the final stage's
    best configurations) has windows; a family with one unmeasured (diverged while timed, left out
    of --variants) keeps the final stage's answer. `seeds` counts windows."""
    if alone is None or alone.empty or "window_images_per_s" not in alone:
        return found
    windows = {
        row.variant: [float(w) for w in str(row.window_images_per_s).split(";") if w not in ("", "nan")]
        for row in alone.drop_duplicates("variant", keep="last").itertuples()
    }
    rows = []
    for family in registry.FAMILIES:
        mine = [v for v in dict.fromkeys(variants) if registry.family(v) == family]
        groups = {v: windows.get(v) for v in mine}
        if mine and all(groups.values()):
            compared = statistics.compare(groups, lower_is_better=False, alpha=alpha, low=0.0)
            rows.append(winner_row(family, "computing time", "images_per_s_alone", False, compared))
    if not rows:
        return found
    answered = {row["family"] for row in rows}
    kept = (
        found[~((found["axis"] == "computing time") & found["family"].isin(answered))]
        if len(found)
        else found
    )
    return pd.concat([kept, pd.DataFrame(rows)], ignore_index=True)


def real_baseline(data, n: int, seed: int = 0) -> dict:
    """The CAS's ceiling: a classifier trained on `n` real training digits (class-balanced, the
    sweep's training part, no validation digits) as the CAS trains on generated ones, scored on
    the test split. A generator's CAS reads against this."""
    from ganlib.data import balanced_subset, hold_out_validation, load_digits, to_unit_range
    from ganlib.metrics.cas import classification_accuracy_score

    train, _ = hold_out_validation(load_digits(data, "train"))
    test = load_digits(data, "test")
    subset = balanced_subset(train, max(1, n // 10), seed=seed)
    accuracy = classification_accuracy_score(
        to_unit_range(subset.images),
        subset.labels.astype("int32"),
        to_unit_range(test.images),
        test.labels.astype("int32"),
        seed=seed,
    )
    return {"cas_real": accuracy, "n": len(subset.labels), "seed": seed}


def collect_runs(grid, out_dir: Path) -> list[Path]:
    """Each finished run's generator and sample grid (its last checkpoint's final files) into
    OUT_DIR/runs/<variant>_<arm>_s<seed>_<images>/: the seeds' grids for the report, the
    generators for whoever checks a result. A run without them (diverged, failed) is left out."""
    import shutil

    from sweeps.search.trial_layout import FINAL_FILES

    found = []
    for result in grid:
        run, metrics = (result.config or {}).get("final", {}).get("run", {}), result.metrics or {}
        if result.checkpoint is None or not metrics.get("done"):
            continue
        with result.checkpoint.as_directory() as directory:
            files = Path(directory) / FINAL_FILES
            if not files.is_dir():
                continue
            # the planned budget, as runs.csv has it (a step can overshoot the round)
            budget = int(metrics.get("rung_images") or metrics["training_images"])
            name = f"{run['variant']}_{run['arm']}_s{run['seed']}_{budget}"
            target = out_dir / "runs" / name
            target.mkdir(parents=True, exist_ok=True)
            for path in files.iterdir():
                shutil.copyfile(path, target / path.name)
            found.append(target)
    return found


def winner_generators(
    table: pd.DataFrame, out_dir: Path, n: int, data: str | None, generator: str = "weights"
) -> list[Path]:
    """For anyone to check the answer: each family's winner (the best arm's lowest median FID, as
    the headline's `generator` scored it, at the longest budget the family reached), its median
    seed's generator there (the lower middle of an even count), copied from OUT_DIR/runs/
    (collect_runs) into OUT_DIR/generators/<variant>/ as .h5 (the weights' and, where the run kept
    one, their average's), with metrics.json: the run's row of runs.csv, which file the headline
    scores, and per file the command that scores it again (run from that folder) and the column it
    reproduces."""
    import shlex
    import shutil

    shutil.rmtree(out_dir / "generators", ignore_errors=True)  # an earlier winner's are no answer now
    if table.empty:
        return []
    written = []
    raw = table
    table = as_scored(table, generator)
    best = table[(table["arm"] == "best") & np.isfinite(finite(table["fid"]))]
    for family in registry.FAMILIES:
        mine = best[best["variant"].map(registry.family) == family]
        if mine.empty:
            continue
        budget = int(mine["budget_images"].max())
        here = mine[mine["budget_images"] == budget]
        variant = here.groupby("variant")["fid"].median().sort_values().index[0]
        runs = here[here["variant"] == variant].sort_values(["fid", "seed"], kind="stable")
        row = raw.loc[runs.index[(len(runs) - 1) // 2]]  # the run's own columns, both generators'
        seed = int(row["seed"])
        source = out_dir / "runs" / f"{variant}_best_s{seed}_{budget}"
        files = sorted(source.glob(f"{variant}_generator*.h5"))
        if not files:
            print(f"final stage: no generator in {source} for {family}'s winner; none kept", flush=True)
            continue
        target = out_dir / "generators" / variant
        target.mkdir(parents=True, exist_ok=True)
        # the CAS too where the run was scored with one (a classifier trained: tens of seconds)
        scored_cas = any(isinstance(plain(row.get(k)), float) for k in ("cas", "cas_evaluator"))
        rescore = {}
        for path in files:
            shutil.copyfile(path, target / path.name)
            # the file beside this record and no local data path: the folder is committed and
            # moved (docs/results/), and ganlib.evaluate gets MNIST the Keras way without --data
            words = ["python", "-m", "ganlib.evaluate", path.name, "--n", str(n), "--seed", str(seed)]
            words += ["--cas"] if scored_cas else []
            column = "ema_fid" if path.stem.endswith("_ema") else "fid"
            rescore[path.name] = {"command": shlex.join(words), "reproduces": column}
        record = {
            "family": family,
            "variant": variant,
            "seed": seed,
            "budget_images": budget,
            "of_seeds": len(runs),
            "why": "the median seed (lower middle) of the family's best median FID at its longest budget",
            "generator": generator,
            "headline_file": f"{variant}_generator{'_ema' if generator == 'ema' else ''}.h5",
            "run": {key: plain(value) for key, value in row.items()},
            "rescore": rescore,
            "rescore_from": "this folder; add --data PATH to score against a local copy of Keras's mnist.npz"
            + (f" (the run used {data})" if data else ""),
        }
        (target / "metrics.json").write_text(json.dumps(record, indent=1, default=str))
        written.append(target)
    return written


def plain(value):
    """A table cell as JSON has it: numpy scalars as Python's, NaN as null."""
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def budgets(table: pd.DataFrame) -> list[int]:
    """The training-image budgets the runs were scored in full at, shortest first."""
    if table.empty or "budget_images" not in table:
        return []
    return sorted(int(b) for b in table["budget_images"].dropna().unique())


def at_budget(table: pd.DataFrame, budget: int | None) -> pd.DataFrame:
    if budget is None or "budget_images" not in table:
        return table
    return table[table["budget_images"] == budget]


def headline_budget(table: pd.DataFrame) -> int | None:
    """The longest budget that every variant's best configuration was trained to: with a ladder,
    the rung all variants climbed (later rungs take only each family's best on). A run lost before
    a budget is a row there without figures, so losses do not move the headline."""
    ladder = budgets(table)
    if not ladder:
        return None
    best = table[table["arm"] == "best"]
    scored = {b: set(best.loc[best["budget_images"] == b, "variant"]) for b in ladder}
    return [b for b in ladder if scored[b] >= scored[ladder[0]]][-1]


# the study's goals (issue #30): the best median FID of each family at most this; a share of the
# final seeds covering every class at least this
FID_GOALS = {"unconditional": 20.0, "conditional": 10.0}
COVERAGE_GOAL = 0.95


def goals(scored: pd.DataFrame, boards: dict | None = None) -> pd.DataFrame:
    """Per budget, the study's goals against what was measured (met or not): each family's lowest
    median FID among its best configurations, with the median's interval, and the share of the
    budget's runs (every arm) whose samples cover all 10 classes; then the coverage goal proper, over
    the final seeds: every run once, at the longest budget it was trained to (final_seeds).
    `boards`: each budget's leaderboard where the caller has it (write), so none is computed twice."""
    rows = []
    for budget in budgets(scored) or [None]:
        here = counted_once(at_budget(scored, budget))
        board = boards[budget] if boards and budget in boards else leaderboard(here)
        for family, goal in FID_GOALS.items():
            mine = board[(board["family"] == family) & (board["arm"] == "best")] if len(board) else board
            mine = mine.dropna(subset=["fid"]) if len(mine) else mine
            if mine.empty:
                continue
            top = mine.sort_values("fid").iloc[0]
            rows.append(
                {
                    "budget_images": budget,
                    "goal": f"best {family} median FID",
                    "target": f"<= {goal:g}",
                    "variant": top["variant"],
                    "measured": float(top["fid"]),
                    "low": float(top["fid_low"]),
                    "high": float(top["fid_high"]),
                    "met": bool(top["fid"] <= goal),
                }
            )
        if budget is not None:
            rows.append(coverage(here, f"runs covering all {NUM_CLASSES} classes", budget))
    final = final_seeds(scored)
    rows.append(coverage(final, f"final seeds covering all {NUM_CLASSES} classes", None))
    if len(final) and (final["arm"] != "best").any():  # the searched settings' share beside
        best = final[final["arm"] == "best"]
        rows.append(
            coverage(best, f"final seeds of the best configurations covering all {NUM_CLASSES} classes", None)
        )
    return pd.DataFrame([row for row in rows if row])


def final_seeds(scored: pd.DataFrame) -> pd.DataFrame:
    """Each run (variant, arm, seed) once (counted_once), at the longest budget it was trained to."""
    here = counted_once(scored)
    if here.empty or "budget_images" not in here:
        return here
    return here.sort_values("budget_images").groupby(["variant", "arm", "seed"], sort=False).tail(1)


def coverage(runs: pd.DataFrame, goal: str, budget: int | None) -> dict:
    """The share of `runs` whose samples cover all 10 classes against COVERAGE_GOAL; a run without
    a figure (diverged, failed) counts as not covering them."""
    if runs.empty:
        return {}
    classes = pd.to_numeric(runs.get("classes_covered", pd.Series(math.nan, runs.index)), errors="coerce")
    covered = int((classes >= NUM_CLASSES).sum())
    share = covered / len(runs)
    return {
        "budget_images": budget,
        "goal": goal,
        "target": f">= {COVERAGE_GOAL:.0%}",
        "variant": f"{covered} of {len(runs)} runs" + ("" if budget else ", each at its longest budget"),
        "measured": share,
        "low": math.nan,
        "high": math.nan,
        "met": bool(share >= COVERAGE_GOAL),
    }


def generator_choice(table: pd.DataFrame, budget: int | None, alpha: float = 0.05) -> dict:
    """Which generator the headline scores: each run's weight average (`ema`, where the stage kept
    one) or its weights. The average is taken when, over every run scored both ways at the headline
    budget, the paired log ratio of its FID to the weights' is below zero by a two-sided Wilcoxon
    signed-rank test at `alpha`. One choice for every variant and budget: taking the lower of the
    two per variant would report the minimum of two noisy figures."""
    rows = counted_once(at_budget(table, budget))  # a best that is the defaults: one pair, not two
    found = {"generator": "weights", "budget_images": budget}
    if "ema_fid" not in rows or rows["ema_fid"].isna().all():
        return {**found, "why": "no weight average was scored"}
    pairs = pd.DataFrame({"weights": finite(rows["fid"]), "ema": finite(rows["ema_fid"])}).dropna()
    pairs = pairs[(pairs > 0).all(axis=1)]
    found["runs"] = len(pairs)
    if len(pairs) < 6:  # the test's smallest two-sided p at 5 pairs is 0.0625
        return {**found, "why": f"{len(pairs)} runs scored both ways, too few to test"}
    from scipy import stats

    logs = np.log(pairs["ema"].to_numpy() / pairs["weights"].to_numpy())
    # the direction from the signed ranks themselves (a one-sided test at half the level), not from
    # the median ratio, which can point the other way
    lower = bool(stats.wilcoxon(logs, alternative="less").pvalue < alpha / 2)
    kept = [
        m for m in METRICS if f"ema_{m}" in rows and rows[m].notna().any() and rows[f"ema_{m}"].isna().all()
    ]
    return {
        **found,
        "generator": "ema" if lower else "weights",
        "lower_in": int((logs < 0).sum()),
        "median_ratio": float(np.exp(np.median(logs))),
        "wilcoxon_p": float(stats.wilcoxon(logs).pvalue),
        "weights_only": kept,
        "why": (
            "the average's FID is lower (Wilcoxon signed-rank on the paired log ratios)"
            if lower
            else "the average's FID is not significantly lower (Wilcoxon signed-rank)"
        ),
    }


def as_scored(table: pd.DataFrame, generator: str) -> pd.DataFrame:
    """The runs as the chosen generator scored them: with `ema`, each figure (and `collapsed`) is
    the weight average's where it was scored; runs.csv keeps both sets of columns."""
    if generator != "ema":
        return table
    # a figure the average was not scored on (the running study's averages have no CAS) stays the
    # weights', as generator_choice's `weights_only` records
    swapped = {
        m: table[f"ema_{m}"]
        for m in [*METRICS, "collapsed"]
        if f"ema_{m}" in table and not (table[f"ema_{m}"].isna().all() and table[m].notna().any())
    }
    return table.assign(**swapped)


def chosen_generator(final: Path) -> str:
    """The headline's generator, as write recorded it (`weights` for a stage written before)."""
    path = final / "generator_choice.json"
    return json.loads(path.read_text())["generator"] if path.is_file() else "weights"


def write(out_dir: Path, table: pd.DataFrame, histories: pd.DataFrame) -> pd.DataFrame:
    """runs.csv (every run at every budget), histories.csv, generator_choice.json (weights or their
    average, generator_choice), and at the headline budget (the longest every variant reached) the
    leaderboard, winners and time to quality; with a ladder, ladder.csv/.md: the leaderboard at
    every budget (the papers' defaults are scored at the first), and order.csv: each family's top 3
    at each budget. Leaderboards and winners score the chosen generator; time to quality reads
    every report's FID, which is the weights'."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ladder = budgets(table)
    if not table.empty:  # the report's strip plot draws collapsed seeds hollow
        flags = pd.concat([collapsed_runs(at_budget(table, b)) for b in ladder or [None]])
        table = table.assign(family=table["variant"].map(registry.family), collapsed=flags)
        if "ema_fid" in table:
            averaged = as_scored(table, "ema")
            flags = pd.concat([collapsed_runs(at_budget(averaged, b)) for b in ladder or [None]])
            table = table.assign(ema_collapsed=flags)
    table.to_csv(out_dir / "runs.csv", index=False)
    if not histories.empty:
        histories.to_csv(out_dir / "histories.csv", index=False)
    headline = headline_budget(table)
    choice = generator_choice(table, headline) if not table.empty else {"generator": "weights"}
    (out_dir / "generator_choice.json").write_text(json.dumps(choice, indent=1))
    scored = as_scored(table, choice["generator"])
    first = at_budget(scored, headline)
    # each budget's leaderboard once: the headline's, the goals' and the ladder's
    every = {b: leaderboard(at_budget(scored, b)) for b in ladder or [None]}
    board = every[headline]
    if not board.empty:
        board = board.assign(generator=choice["generator"])
    if headline is not None:
        board = board.assign(budget_images=headline)
    board.to_csv(out_dir / "leaderboard.csv", index=False)
    # every report up to the headline budget of the runs meant to reach it (the extra seeds that
    # stop at the first budget would count as never reaching a threshold), so that no variant is
    # timed on a longer budget
    early = histories
    if len(ladder) > 1 and not histories.empty:
        clock = histories["budget_images"] if "budget_images" in histories else histories["training_images"]
        there = at_budget(table, headline)[["variant", "arm", "seed"]].drop_duplicates()
        early = histories[clock <= headline].merge(there, on=["variant", "arm", "seed"])
    # the split the reports' FID was scored on (results_table), for the figure's label
    split = histories["fid_on"].iloc[0] if "fid_on" in histories and len(histories) else "validation slice"
    time_to_quality(early).assign(fid_on=split).to_csv(out_dir / "time_to_quality.csv", index=False)
    goals(scored, every).to_csv(out_dir / "goals.csv", index=False)
    # the papers' defaults are trained to the first budget only: the search's gain is measured there
    gain = search_gain(at_budget(scored, ladder[0] if ladder else None))
    gain.to_csv(out_dir / "search_gain.csv", index=False)
    (out_dir / "search_gain.md").write_text(tables.markdown(tables.GAIN_NOTE, gain, tables.gain_table))
    found = winners(first)
    found.to_csv(out_dir / "winners.csv", index=False)
    note = tables.winners_note(found)
    (out_dir / "winners.md").write_text(tables.markdown(note, found, tables.winners_table))
    (out_dir / "leaderboard.md").write_text(
        tables.markdown(tables.LEADERBOARD_NOTE, board, tables.leaderboard_table)
    )
    if len(ladder) > 1:
        boards = [every[b].assign(budget_images=b) for b in ladder]
        pd.concat(boards, ignore_index=True).to_csv(out_dir / "ladder.csv", index=False)
        parts = [tables.LEADERBOARD_NOTE, ""]
        for b, each in zip(ladder, boards):
            parts += [f"## {b:,} training images", ""]
            parts += [tables.markdown("", each, tables.leaderboard_table, level=3), ""]
        (out_dir / "ladder.md").write_text("\n".join(parts))
        order(boards, ladder).to_csv(out_dir / "order.csv", index=False)
    return board


def order(boards: list[pd.DataFrame], ladder: list[int], top: int = 3) -> pd.DataFrame:
    """Per family and budget: its best configurations' top `top` by median FID, and whether they
    are the same variants in the same order as at the budget before (where that one scored them)."""
    rows = []
    for family in registry.FAMILIES:
        before = None
        for budget, board in zip(ladder, boards):
            best = board[(board["arm"] == "best") & (board["family"] == family)] if len(board) else board
            ranked = list(best.sort_values("fid", na_position="last")["variant"][:top]) if len(best) else []
            if not ranked:
                continue
            rows.append(
                {
                    "family": family,
                    "budget_images": budget,
                    "top": ", ".join(ranked),
                    "variants": len(best),
                    "same_order_as_before": None if before is None else kept_order(before, ranked),
                }
            )
            before = ranked
    return pd.DataFrame(rows)


def kept_order(before: list[str], now: list[str]) -> bool:
    """Whether `now` names variants of `before`, in `before`'s order (a later budget may hold
    fewer variants: the ladder takes only each family's best on)."""
    return set(now) <= set(before) and now == [v for v in before if v in now]
