"""The study's final stage, after the search: each variant's best configuration and its papers'
defaults trained again at one equal budget (the same training images for every variant) with
several seeds, every run scored on the test split with the full evaluation; with a budget ladder,
each family's leaders trained on from the same runs. Runs go through the sweep's own trainable (no
early stopping, every run its whole budget), as Ray Tune experiments.

This module runs the stage (final: every budget of the ladder in turn, as `python sweeps/tune_all.py`
calls it after the search), reads its results into one table (results_table), collects the runs'
generators and keeps each family winner's; what the table answers (leaderboards over seeds, winners,
goals) is sweeps/study/analysis.py, which needs no Ray.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from ganlib import registry
from ganlib import schedule as schedules
from ganlib.data import NUM_CLASSES
from sweeps.search import record
from sweeps.search.experiment_state import Interrupted, check_finished
from sweeps.search.plan import Setup, is_uri, storage_join, trial_resources, variant_run
from sweeps.search.trainable import GANTrainable
from sweeps.study import analysis
from sweeps.study.analysis import METRICS, plain

ARMS = ("best", "defaults")


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
    ranked = analysis.ranked_variants(here)  # as the leaderboard ranks them: a diverged run worst
    chosen = []
    for family, count in top.items():
        chosen += [v for v in ranked if registry.family(v) == family][:count]
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
        if run.get("max_rounds") != from_rounds or not went_through(result):
            continue
        found.append(
            {
                **config,
                "run": {
                    **run,
                    "max_rounds": rounds,
                    "rungs": [rounds],
                    "continue_from": checkpoint_uri(result),
                    "from_rounds": from_rounds,  # for the console's time left before it reports
                },
            }
        )
    return found


def run_settings(result) -> dict:
    """A final-stage result's run settings (its config's "final" "run"; empty for a result without)."""
    return settings_of(result.config)


def settings_of(config: dict | None) -> dict:
    """The run settings in a final-stage trial's config (as Ray keeps it: params.json)."""
    return (config or {}).get("final", {}).get("run", {})


def origin(checkpoint: str) -> tuple[str, str]:
    """(part, trial) of the checkpoint a later budget's run continues from (its `continue_from`)."""
    return Path(checkpoint).parents[1].name, Path(checkpoint).parent.name


def went_through(result) -> bool:
    """Whether a run reached its budget with a checkpoint to carry on from (not failed, not diverged)."""
    diverged = (result.metrics or {}).get("diverged")
    return result.error is None and result.checkpoint is not None and not diverged


def run(setup: Setup, configs: list[dict], name: str, verbose: bool = False):
    """Every config its whole budget, as one Ray Tune experiment (resumable like the search); with
    --mlflow, every part of the stage logs to one MLflow experiment, NAME-final."""
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
            callbacks=console(setup, variants, per_variant, rounds, f"{setup.name}-final", verbose),
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
        config = (result.config or {}).get("final") or {"run": run_of_folder(Path(result.path).name)}
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


def run_of_folder(name: str) -> dict:
    """Which run a trial folder holds (run's folder names: variant_arm_sSEED_id), for a run that
    failed in its setup: Ray keeps no config for it, and its row must still say whose it was."""
    found = re.match(rf"^(?P<variant>.+)_(?P<arm>{'|'.join(ARMS)})_s(?P<seed>\d+)_", name)
    return {**found.groupdict(), "seed": int(found["seed"])} if found else {}


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
        run, metrics = run_settings(result), result.metrics or {}
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
    table: pd.DataFrame, out_dir: Path, n: int, data: str | None, generator="weights"
) -> list[Path]:
    """For anyone to check the answer: each family's winner (the best arm's lowest median FID, as
    `generator` scored it at the longest budget the family reached: `ema` or `weights`, or a mapping
    of budgets to them, analysis.as_chosen), its median seed's generator there (the lower middle of
    an even count), copied from OUT_DIR/runs/ (collect_runs) into OUT_DIR/generators/<variant>/ as
    .h5 (the weights' and, where the run kept one, their average's), with metrics.json: the run's
    row of runs.csv, which file that budget's generator is (`headline_file`), and per file the
    command that scores it again (run from that folder) and the column it reproduces."""
    import shlex
    import shutil

    shutil.rmtree(out_dir / "generators", ignore_errors=True)  # an earlier winner's are no answer now
    if table.empty:
        return []
    written = []
    raw = table
    table = analysis.as_chosen(table, generator)
    best = table[table["arm"] == "best"]
    best = best.assign(fid=analysis.fid_scores(best)).dropna(subset=["fid"])  # a diverged run worst
    for family in registry.FAMILIES:
        mine = best[best["variant"].map(registry.family) == family]
        if mine.empty:
            continue
        budget = int(mine["budget_images"].max())
        here = mine[mine["budget_images"] == budget]
        variant = analysis.ranked_variants(here)[0]
        runs = here[here["variant"] == variant].sort_values(["fid", "seed"], kind="stable")
        if not math.isfinite(runs["fid"].median()):
            print(f"final stage: {family}'s best median FID is not finite; no generator kept", flush=True)
            continue
        row = raw.loc[analysis.lower_median(runs.index)]  # the run's own columns, both generators'
        seed = int(row["seed"])
        scored_by = generator if isinstance(generator, str) else generator.get(budget, "weights")
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
            "generator": scored_by,
            "headline_file": f"{variant}_generator{'_ema' if scored_by == 'ema' else ''}.h5",
            "run": {key: plain(value) for key, value in row.items()},
            "rescore": rescore,
            "rescore_from": "this folder; add --data PATH to score against a local copy of Keras's mnist.npz"
            + (f" (the run used {data})" if data else ""),
        }
        (target / "metrics.json").write_text(json.dumps(record, indent=1, default=str))
        written.append(target)
    return written


def final(setup: Setup, seed: int, verbose: bool):
    """The final stage into EXPORT_DIR/final (its tables: sweeps/study/analysis.py), with its budget
    ladder where the preset or --ladder has one; None if interrupted. It runs in parts, one Ray Tune
    experiment a variant and arm (a variant at each later budget), so that a part, once finished,
    can be kept in the sweep's record and an interrupted study loses at most the parts under way."""
    configs = entries(setup, setup.export_dir, seed)
    images = setup.preset.final_eval_every_images or setup.preset.eval_every_images
    once = sorted({c["run"]["variant"] for c in configs if c["run"]["best_is_defaults"]})
    print(
        f"final stage: {len(configs)} runs (best x {setup.final_seeds} seeds, papers' defaults x "
        f"{min(setup.final_seeds, setup.preset.defaults_seeds or setup.final_seeds)}"
        + (f"; {', '.join(once)}: the best is the papers' defaults, trained once" if once else "")
        + f"), {setup.final_rounds * images:,} training images each"
        + (
            f"; {setup.ladder_seeds} seeds of each best on to {setup.ladder[0] * images:,}"
            if setup.ladder
            else ""
        ),
        flush=True,
    )
    parts, planned = {}, {}  # part name -> its results, its configs
    for name, group in in_parts(configs, f"{setup.name}-final", ("variant", "arm")):
        # with no later budget these are the longest: their generators stay in the record
        parts[name], planned[name] = finished_part(setup, group, name, verbose, not setup.ladder[1:]), group
        if parts[name] is None:
            return None
    before, previous = list(parts), setup.ladder[0] if setup.ladder else setup.final_rounds
    # the parts of the ladder's last budget: their generators stay in the record (the winners')
    last = set()
    for rounds in setup.ladder[1:]:  # a later budget: the best of each family, continued
        table, _ = results_table([r for name in before for r in parts[name]])
        top = dict(setup.preset.ladder_top) or TOP
        # ranked as the tables will score them: the weights or their average
        choice = analysis.generator_choice(table, previous * images)
        scored = analysis.as_scored(table, choice["generator"])
        chosen = climbers(scored, previous * images, top)

        def runs_of(variants, names=tuple(before), start=previous, end=rounds):
            return continued(
                [r for name in names for r in parts[name]],
                variants,
                start,
                end,
                lambda result: storage_join(
                    setup.storage,
                    Path(result.path).parent.name,
                    Path(result.path).name,
                    Path(result.checkpoint.path).name,
                ),
            )

        ladder_file = storage_join(setup.storage, f"{setup.name}-final-ladder.json")
        going, configs = kept_ladder_step(ladder_file, rounds, chosen, runs_of)
        if setup.record:
            record.keep_file(Path(ladder_file), setup.record)
        if going != chosen:
            print(
                f"final stage, ladder: {', '.join(going)} go on to {rounds * images:,} images as "
                f"first chosen (by today's table: {', '.join(chosen)})",
                flush=True,
            )
        if not configs:  # no run of the family's best got through the budget before
            print(f"final stage, ladder: no run to continue to {rounds * images:,} images", flush=True)
            break
        print(
            f"final stage, ladder: {', '.join(going)} ({len(configs)} runs) on from "
            f"{previous * images:,} to {rounds * images:,} training images",
            flush=True,
        )
        before = []
        for name, group in in_parts(configs, f"{setup.name}-final-{rounds}", ("variant",)):
            if rounds == setup.ladder[-1]:
                last.add(name)
            # runs read back from the record hold no training state to go on from: trained again first
            stale = set() if saved(storage_join(setup.storage, name)) else stateless_parts(group)
            for earlier in sorted(stale):
                print(
                    f"final stage, ladder: {earlier} holds no training state (the record's): trained again",
                    flush=True,
                )
                shutil.rmtree(Path(setup.storage) / earlier)
                parts[earlier] = finished_part(setup, planned[earlier], earlier, verbose, earlier in last)
                if parts[earlier] is None:
                    return None
            if stale:
                variant = group[0]["run"]["variant"]
                group = [
                    c
                    for c in kept_ladder_step(ladder_file, rounds, going, runs_of)[1]
                    if c["run"]["variant"] == variant
                ]
            parts[name], planned[name] = finished_part(setup, group, name, verbose, name in last), group
            if parts[name] is None:
                return None
            before.append(name)
            if setup.record:  # what this part went on from no longer needs its training state
                for earlier in sorted({origin(c["run"]["continue_from"])[0] for c in group}):
                    keep(setup, parts[earlier], earlier)
        previous = rounds
    grid = [r for results in parts.values() for r in results]
    table, histories = results_table(grid)
    board = analysis.write(setup.export_dir / "final", table, histories)
    collect_runs(grid, setup.export_dir / "final")
    winner_generators(
        table,
        setup.export_dir / "final",
        setup.run["final_eval_samples"],
        setup.run["data"],
        analysis.chosen_generators(setup.export_dir / "final"),
    )
    if setup.preset.final_evaluator_cas:  # the CAS's real-data ceiling, in a worker (TensorFlow)
        import ray

        task = ray.remote(num_cpus=1)(real_baseline)
        baseline = ray.get(task.remote(setup.run["data"], setup.run["final_eval_samples"], seed))
        (setup.export_dir / "final" / "cas_real.json").write_text(json.dumps(baseline, indent=1))
    print((setup.export_dir / "final" / "leaderboard.md").read_text(), flush=True)
    return board


def in_parts(configs: list[dict], prefix: str, keys: tuple[str, ...]):
    """(experiment name, its configs) a value of the run's `keys`, in the configs' order."""
    groups = {}
    for config in configs:
        groups.setdefault("-".join([prefix, *(str(config["run"][k]) for k in keys)]), []).append(config)
    return groups.items()


def stateless_parts(configs: list[dict]) -> set[str]:
    """The experiments whose checkpoints these configs continue from hold no training state (parts
    restored from the record)."""
    return {
        origin(uri)[0]
        for config in configs
        if not is_uri(uri := config["run"]["continue_from"]) and not record.has_state(uri)
    }


def saved(path: str) -> bool:
    """Whether an experiment is saved at path (what run() continues)."""
    from ray import tune

    return tune.Tuner.can_restore(path)


def finished_part(setup: Setup, configs: list[dict], name: str, verbose: bool, longest: bool = False):
    """One part of the stage run to its end (continued if saved) and kept in the record, with the
    generators that may be a winner's where the part is at the longest budget, and the training state
    of the runs that a later budget may continue where it is not; its results, or None if interrupted."""
    grid = run(setup, configs, name, verbose)
    try:
        check_finished(grid, storage_join(setup.storage, name), len(configs))
    except Interrupted as interruption:
        print(f"stopped: {interruption}", file=sys.stderr)
        return None
    if setup.record:
        keep(setup, grid, name, longest)
    return list(grid)


def keep(setup: Setup, grid, name: str, longest: bool = False) -> None:
    """A finished part into the record, with the training state of the runs that a later budget may
    continue and that no recorded part has gone on from yet."""
    states = frozenset()
    if setup.ladder[1:] and not longest:
        states = continuable_trials(grid) - served(setup.record, name)
    record.keep_experiment(
        setup.storage, name, setup.record, median_trials(grid) if longest else frozenset(), states
    )


def served(record_dir: Path, name: str) -> frozenset[str]:
    """The trials of part `name` that a part in the record went on from (a recorded part is finished,
    so their training state has done its work)."""
    sources = (
        settings_of(json.loads(params.read_text())).get("continue_from")
        for params in (record_dir / record.EXPERIMENTS).glob("*/*/params.json")
    )
    return frozenset(trial for part, trial in map(origin, filter(None, sources)) if part == name)


def continuable_trials(grid) -> frozenset[str]:
    """The trial folders a later budget may continue (as `continued` picks them): the runs of the
    best configuration that went to the part's longest budget and got through it."""
    runs = [(result, run_settings(result)) for result in grid]
    best = [(result, run) for result, run in runs if run.get("arm") == "best"]
    top = max((run.get("max_rounds", 0) for _, run in best), default=None)
    return frozenset(
        Path(result.path).name
        for result, run in best
        if run.get("max_rounds") == top and went_through(result)
    )


def median_trials(grid) -> frozenset[str]:
    """The trial folders of a variant's runs that winner_generators may pick: by the weights' FID
    and by their average's, the median run (analysis.lower_median) of the runs scored at their budget."""
    chosen = set()
    for key in ("full_fid", "full_ema_fid"):
        scored = []
        for result in grid:
            run = run_settings(result)
            value = (result.metrics or {}).get(key)
            if run.get("arm") == "best" and result.error is None:  # as analysis.fid_scores ranks it
                value = value if value is not None and math.isfinite(value) else math.inf
                scored.append((value, run["seed"], Path(result.path).name))
        if scored:
            chosen.add(analysis.lower_median(sorted(scored))[2])
    return frozenset(chosen)
