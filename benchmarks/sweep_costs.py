"""What a sweep spends outside training and evaluation, and what early stopping saves.

    python benchmarks/sweep_costs.py [--variants dcgan] [--num-samples 9] [--data mnist.npz]
        [--max-rounds 27 --grace-rounds 3 --reduction-factor 3] [--scheduler ray_asha]
    python benchmarks/sweep_costs.py --compare ray_asha,none --seeds 0,1,2,3 [--data mnist.npz]
    python benchmarks/sweep_costs.py --compare ray_asha,pbt --variants gan,dcgan,wgan_gp --num-samples 8
        --max-rounds 16 --grace-rounds 2 --reduction-factor 2 --keep runs/pbt-vs-asha

With --compare: no all-to-completion sweep; the same sweep is run with each named scheduler (any of
tune_all.py's --scheduler choices) at each seed, and tables give, per seed and variant, the best
FID on the test split (chosen on the validation slice, as the export does), the training images
spent and the sweep's wall time; then per scheduler and variant the median [min, max] over seeds,
and the ratio of the two schedulers' best FIDs. `pbt` gets the budget of the scheduler run before
it at the same seed: a population of as many whole budgets as that sweep's trials spent per
variant (`--compare ray_asha,pbt`), and the best PBT member's schedule is drawn (--figure).

Runs the same sweep twice on this machine, with ASHA and with every trial run to completion (same
seed, so the same TPE suggestions up to the scheduler's influence). The sweep is the smoke
preset's (quarter-width models, 1,000 digits, a report every 1,600 images) with a longer budget by
default: 27 reports, ASHA's rungs at 3, 9 and 27. The smoke preset's own rungs (4 reports, grace
1) judge trials while every FID still sits on the untrained plateau; pass `--max-rounds 4
--grace-rounds 1 --reduction-factor 2 --variants gan --num-samples 6` for it. It prints:
- overhead: the share of the ASHA sweep's trial-slot time (wall time x concurrent trials) not
  spent in training steps or in evaluation (the FID at every report, the full evaluation of every
  trial that ran its whole budget): Ray and TensorFlow start-up, graph tracing, checkpoints, export;
- savings: training images consumed with ASHA against without, and the best FID each found.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # scheduler_replay: the scheduler test double

from sweeps.search.schedulers import SCHEDULERS  # noqa: E402  (names only: no Ray)

# the schedulers that stop trials early; `none` runs every trial to its end
RULES = [name for name in SCHEDULERS if name != "none"]


def run_sweep(storage: Path, args, *extra) -> tuple[float, Path]:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(REPO / "sweeps" / "tune_all.py"),
            "--preset",
            "smoke",
            "--name",
            "smoke",
            "--variants",
            args.variants,
            "--num-samples",
            str(args.num_samples),
            "--storage",
            str(storage),
            "--no-report",
            "--seed",
            str(args.seed),
            *(["--data", args.data] if args.data else []),
            *rung_flags(args),
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - start, storage / "smoke"


def rung_flags(args) -> list[str]:
    return [
        "--max-rounds",
        str(args.max_rounds),
        "--grace-rounds",
        str(args.grace_rounds),
        "--reduction-factor",
        str(args.reduction_factor),
    ]


def first_round_excess(histories: pd.DataFrame, column: str) -> float:
    """Seconds the trials' first rounds took beyond their usual round: graph tracing (and the
    evaluator's first call), which the trials' own clocks count as training or evaluation."""
    excess = 0.0
    for _, trial in histories.sort_values("round").groupby("trial_id"):
        per_round = trial[column].diff().fillna(trial[column])  # the history's clocks are cumulative
        if len(per_round) > 1:
            excess += max(0.0, per_round.iloc[0] - per_round.iloc[1:].median())
    return float(excess)


def summarise(export_dir: Path, variants: list[str], budget_images: int | None = None) -> dict:
    histories = pd.concat([pd.read_csv(export_dir / "trials" / f"{v}_history.csv") for v in variants])
    last = histories.sort_values("timestamp").groupby("trial_id").last()
    board = pd.read_csv(export_dir / "leaderboard.csv")
    return {
        "training_images": int(last["training_images"].sum()),
        "train_seconds": float(last["train_seconds"].sum()),
        "trial_seconds": float(last["time_total_s"].sum()),  # Tune's clock: steps and checkpoints, not setup
        # FIDs at every report, and the full evaluation of each trial that ran its whole budget
        "eval_seconds": float(last.get("eval_seconds", pd.Series(0.0)).sum()),
        "tracing_seconds": first_round_excess(histories, "train_seconds")
        + first_round_excess(histories, "eval_seconds"),
        "best_sweep_fid": float(histories["fid"].min()),
        "best_fid": float(board["fid"].min()),
        "finalists": int((last["training_images"] >= budget_images).sum()) if budget_images else None,
    }


def replay(export_dir: Path, variant: str, scheduler: str, args) -> tuple[float, float]:
    """The scheduler's decisions replayed on a finished all-to-completion sweep's own trials: each
    trial's FID at each report as it was, trials started in the sweep's order, `--concurrent` at a
    time, one report each per tick. This parts the stopping rule from the search path: in a live
    ASHA sweep TPE sees other results and soon suggests other trials. Returns the share of the
    images, and the best full-evaluation FID among the trials let finish over the best of all."""
    from scheduler_replay import replay as replay_curves

    from sweeps.search.presets import get, with_rungs
    from sweeps.search.schedulers import make_scheduler

    history = pd.read_csv(export_dir / "trials" / f"{variant}_history.csv")
    trials = pd.read_csv(export_dir / "trials" / f"{variant}.csv").set_index("trial_id")
    final = (
        trials["final_fid"] if "final_fid" in trials else trials["last_fid"]
    )  # sweeps before the full final evaluation
    order = history.groupby("trial_id")["timestamp"].min().sort_values().index
    curves = {
        trial: history[history["trial_id"] == trial].sort_values("round")["fid"].tolist() for trial in order
    }
    preset = with_rungs(get("smoke"), args.max_rounds, args.grace_rounds, args.reduction_factor)
    rule = make_scheduler(scheduler, preset, [variant])
    reports = replay_curves(
        rule,
        curves,
        args.concurrent,
        "training_images",
        preset.eval_every_images,
        variants=dict.fromkeys(curves, variant),
    )
    finished = [trial for trial in curves if reports[trial] == len(curves[trial])]
    return sum(reports.values()) / sum(len(c) for c in curves.values()), float(
        final[finished].min() / final.min()
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="dcgan")
    parser.add_argument("--num-samples", type=int, default=9)
    parser.add_argument("--concurrent", type=int, default=2, help="the smoke preset's trials at once")
    parser.add_argument("--data", default=None)
    parser.add_argument("--seed", type=int, default=0, help="the sweeps' seed (TPE, data order, weights)")
    parser.add_argument("--keep", default=None, help="a folder to keep both sweeps' trials and exports in")
    parser.add_argument(
        "--scheduler",
        default="ray_asha",
        choices=RULES,
        help=f"the early-stopping sweep's rule: {', '.join(RULES)}",
    )
    parser.add_argument(
        "--replay-only",
        default=None,
        metavar="EXPORT_DIR",
        help="no sweeps: replay every early-stopping rule on this kept all-to-completion sweep's "
        "export (DIR/full/smoke)",
    )
    parser.add_argument(
        "--compare",
        default=None,
        metavar="SCHEDULERS",
        help=f"comma-separated schedulers ({', '.join(SCHEDULERS)}) to run at each of --seeds, "
        "against each other",
    )
    parser.add_argument("--seeds", default="0,1,2", help="with --compare: the sweeps' seeds")
    parser.add_argument(
        "--figure",
        default=str(REPO / "benchmarks" / "figures" / "pbt_schedule.png"),
        help="with --compare ...,pbt: where the best PBT member's schedule figure goes",
    )
    parser.add_argument("--max-rounds", type=int, default=27, help="reports per trial (the smoke preset: 4)")
    parser.add_argument("--grace-rounds", type=int, default=3, help="ASHA's first rung (the smoke preset: 1)")
    parser.add_argument("--reduction-factor", type=int, default=3, help="ASHA's eta (the smoke preset: 2)")
    args = parser.parse_args()
    variants = args.variants.split(",")
    if args.compare:
        compare(args, variants)
        return
    if args.replay_only:
        for variant in variants:
            if not (Path(args.replay_only) / "trials" / f"{variant}_history.csv").is_file():
                parser.error(
                    f"--replay-only {args.replay_only}: no trials/{variant}_history.csv there; "
                    "give a kept sweep's export, e.g. KEEP/full/smoke"
                )
        print_replays(Path(args.replay_only), variants, args)
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or scratch
        asha_wall, asha_dir = run_sweep(Path(folder) / "asha", args, "--scheduler", args.scheduler)
        full_wall, full_dir = run_sweep(Path(folder) / "full", args, "--scheduler", "none")
        asha, full = summarise(asha_dir, variants), summarise(full_dir, variants)
        print_replays(full_dir, variants, args)
    slot_seconds = asha_wall * args.concurrent
    useful = asha["train_seconds"] + asha["eval_seconds"] - asha["tracing_seconds"]
    overhead = 1 - useful / slot_seconds
    print(
        f"ASHA sweep ({args.scheduler}): {asha_wall:.0f} s wall x {args.concurrent} slots; "
        f"{asha['train_seconds']:.0f} s training + "
        f"{asha['eval_seconds']:.0f} s evaluation in trials "
        "(FID at each report, the finished trials' full evaluation)"
    )
    in_trials = asha["trial_seconds"] - asha["train_seconds"] - asha["eval_seconds"]
    outside = slot_seconds - asha["trial_seconds"]
    print(
        f"overhead share (outside training steps and evaluation) = {overhead:.1%}: "
        f"{asha['tracing_seconds']:.0f} slot-s "
        f"tracing (first rounds beyond the usual round), {in_trials:.0f} slot-s elsewhere inside trials "
        "(checkpoints, "
        f"datasets), {outside:.0f} slot-s outside them "
        "(Ray, workers, TensorFlow import, model builds, scheduling, export)"
    )
    print(
        f"training images: ASHA {asha['training_images']} vs all to completion {full['training_images']} "
        f"(ratio {asha['training_images'] / full['training_images']:.2f}); "
        f"wall {asha_wall:.0f} s vs {full_wall:.0f} s"
    )
    print(
        f"best FID (full evaluation of the finished trials): ASHA {asha['best_fid']:.2f} "
        f"vs all to completion {full['best_fid']:.2f} "
        f"(ratio {asha['best_fid'] / full['best_fid']:.3f})"
    )
    print(
        f"overhead_share={overhead:.4f} "
        f"asha_image_ratio={asha['training_images'] / full['training_images']:.4f} "
        f"asha_fid_ratio={asha['best_fid'] / full['best_fid']:.4f}"
    )


def compare(args, variants: list[str]) -> None:
    """Each scheduler's sweep at each seed, per variant: the best test FID, the training images
    spent, the wall time. PBT gets the budget of the scheduler run before it at the same seed: a
    population of the whole budgets that scheduler's trials spent, per variant (at least 2)."""
    schedulers = args.compare.split(",")
    for name in schedulers:
        if name not in SCHEDULERS:
            sys.exit(
                f"error: --compare {args.compare}: {name!r} is not allowed: "
                f"choose among {', '.join(SCHEDULERS)}"
            )
    seeds = [int(seed) for seed in args.seeds.split(",")]
    whole = args.max_rounds * 1600  # one trial's whole budget: the smoke preset's 1,600 images a report
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        for seed in seeds:
            args.seed = seed
            spent = {}
            for name in schedulers:
                extra, size = ["--scheduler", name], args.num_samples
                if name == "pbt" and spent:
                    size = max(2, round(next(iter(spent.values())) / (len(variants) * whole)))
                    extra += ["--num-samples", str(size)]
                wall, export_dir = kept_or_run(folder / f"{name}-seed{seed}", args, *extra)
                board = pd.read_csv(export_dir / "leaderboard.csv").set_index("variant")
                images = 0
                for variant in variants:
                    history = pd.read_csv(export_dir / "trials" / f"{variant}_history.csv")
                    last = history.sort_values(["timestamp", "round"]).groupby("trial_id").last()
                    images += int(last["training_images"].sum())
                    rows.append(
                        {
                            "scheduler": name,
                            "seed": seed,
                            "variant": variant,
                            "trials": size,
                            "training_images": int(last["training_images"].sum()),
                            "best_fid": float(board.loc[variant, "fid"]),
                            "replaced": int(board.loc[variant].get("replaced", 0) or 0),
                            "wall_s": wall,
                            "export": str(export_dir),
                        }
                    )
                    print(json.dumps(rows[-1]), flush=True)
                spent[name] = images
        table = pd.DataFrame(rows)
        if args.keep:
            table.to_csv(Path(args.keep) / "compare.csv", index=False)
        print(table.drop(columns="export").to_markdown(index=False, floatfmt=".1f"))
        print(summary_table(table).to_markdown(index=False))
        if len(schedulers) == 2:
            first, second = (
                table[table["scheduler"] == name].set_index(["seed", "variant"]) for name in schedulers
            )
            ratio = first["best_fid"] / second["best_fid"]
            images = first["training_images"].sum() / second["training_images"].sum()
            walls = [part.groupby(level="seed")["wall_s"].first().sum() for part in (first, second)]
            print(
                f"best FID {schedulers[0]} / {schedulers[1]}, per seed and variant: "
                f"median {ratio.median():.3f} "
                f"[{ratio.min():.3f}, {ratio.max():.3f}], {int((ratio < 1).sum())} of {len(ratio)} lower; "
                f"training images {images:.3f}x; wall {walls[0] / walls[1]:.3f}x"
            )
        if "pbt" in schedulers and args.figure:
            best = table[table["scheduler"] == "pbt"].sort_values("best_fid").iloc[0]
            schedule = Path(best["export"]) / "best" / best["variant"] / "schedule.json"
            from sweeps.reporting.figures import schedule_figure

            Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
            schedule_figure(json.loads(schedule.read_text()), Path(args.figure))
            print(f"the best PBT member's schedule ({best['variant']}, seed {best['seed']}): {args.figure}")


def kept_or_run(storage: Path, args, *extra) -> tuple[float, Path]:
    """A sweep of the comparison, or the one a stopped run of it kept in --keep (a session may end
    mid-way: run again with the same --keep to go on)."""
    done = storage / "wall.json"
    if done.is_file():
        return json.loads(done.read_text())["wall_s"], storage / "smoke"
    if storage.exists():  # an unfinished sweep: started afresh
        import shutil

        shutil.rmtree(storage)
    wall, export_dir = run_sweep(storage, args, *extra)
    done.write_text(json.dumps({"wall_s": wall, "extra": list(extra)}))
    return wall, export_dir


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per scheduler and variant over seeds: best FID median [min, max], training images, wall."""
    rows = []
    for (name, variant), group in table.groupby(["scheduler", "variant"], sort=False):
        fid = group["best_fid"]
        rows.append(
            {
                "scheduler": name,
                "variant": variant,
                "seeds": len(group),
                "trials (population)": int(group["trials"].median()),
                "best FID, median [min, max]": f"{fid.median():.1f} [{fid.min():.1f}, {fid.max():.1f}]",
                "training images (median)": f"{group['training_images'].median():,.0f}",
                "copies (median)": f"{group['replaced'].median():.0f}",
                "sweep wall s (median)": f"{group['wall_s'].median():.0f}",
            }
        )
    return pd.DataFrame(rows)


def print_replays(full_dir: Path, variants: list[str], args) -> None:
    for variant in variants:
        for scheduler in RULES:
            images, fid = replay(full_dir, variant, scheduler, args)
            print(
                f"replayed on the all-to-completion sweep's {variant} trials, {scheduler}: "
                f"{images:.2f} of the images, "
                f"best final FID {fid:.3f} x the best of all"
            )


if __name__ == "__main__":
    main()
