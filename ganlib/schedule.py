"""A run whose hyperparameters change as it trains (a Population Based Training member's), as a
schedule that retrains it from scratch: `python -m ganlib.train --schedule schedule.json`.

A schedule is the run's lineage: segments, each starting at a round with the config and seed the
run trained with from there, and the trial whose state it was (a PBT member that copied a better
one's state carries that one's schedule up to the copy). Training goes in rounds of
`images_per_round` real images, each round on a pipeline shuffled by the segment's data seed and
the round (`data.order_seed`); a segment begins wherever the trainer rebuilt its model from a
saved state, which is where PBT copied or mutated and also wherever the member was paused and
resumed. The replay does the same at the same rounds, so under op determinism it takes the
member's steps bitwise; the member's losses at every round (`trace`) come with the schedule to
check that against.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

from ganlib.data import order_seed
from ganlib.errors import ConfigError, TrainingDiverged

FILE = "schedule.json"
LOSS_TOLERANCE = 1e-5  # relative: what "the same losses" means for a replay (bitwise is 0)


def steps_in_round(round_: int, images_per_round: int, images_so_far: int, images_per_step: int) -> int:
    """Generator steps in round `round_` (counted from 1): enough to reach round x images_per_round
    images, so that report k is the first at or past k rounds' worth whatever the images a step
    takes (WGAN's n_critic, which PBT may change) and the budget is reached at the last round."""
    return max(1, math.ceil((round_ * images_per_round - images_so_far) / images_per_step))


def segment(
    round_: int, images: int, trial: str, seed: int, config: dict, data_seed: int | None = None
) -> dict:
    """From round `round_` (`images` training images in) on: `config`, the model built with `seed`
    (its state then restored) and each round's data shuffled by `data_seed` and the round, the
    state `trial`'s."""
    return {
        "round": int(round_),
        "training_images": int(images),
        "trial": str(trial),
        "seed": int(seed),
        "data_seed": int(seed if data_seed is None else data_seed),
        "config": dict(config),
    }


def document(
    variant: str,
    segments: list[dict],
    trace: list[dict],
    *,
    rounds: int,
    images_per_round: int,
    data,
    per_class,
    precision: str,
    hold_out_validation: bool,
    threads: int | None = None,
) -> dict:
    """`threads`: TensorFlow's op threads in the member's process; op determinism makes a run
    repeatable at a given thread count, not across counts."""
    return {
        "variant": variant,
        "rounds": int(rounds),
        "images_per_round": int(images_per_round),
        "data": None if data is None else str(data),
        "per_class": per_class,
        "precision": precision,
        "hold_out_validation": bool(hold_out_validation),
        "threads": threads,
        "segments": segments,
        "trace": trace,
    }


def load(path) -> dict:
    """A schedule file, checked: one line naming what is wrong, else the document."""
    path = Path(path)
    try:
        schedule = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--schedule {str(path)!r}: no such file") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"--schedule {str(path)!r} is not JSON: {error}") from None
    missing = [
        key
        for key in ("variant", "rounds", "images_per_round", "segments")
        if not isinstance(schedule, dict) or key not in schedule
    ]
    if missing:
        raise ConfigError(
            f"--schedule {str(path)!r} lacks {', '.join(missing)}: "
            "give the schedule.json a PBT sweep exported"
        )
    rounds = [each.get("round") for each in schedule["segments"]]
    if not rounds or rounds[0] != 0 or rounds != sorted(rounds) or rounds[-1] >= schedule["rounds"]:
        raise ConfigError(
            f"--schedule {str(path)!r}: segment rounds {rounds} are not allowed: they must start at 0 "
            f"and increase below the schedule's {schedule['rounds']} rounds"
        )
    return schedule


def config_at(changes: list[dict] | None, round_: int) -> dict | None:
    """The config `changes` (segments: round and config, by round) name for training after
    `round_` rounds: the last segment starting at or before it (None without changes)."""
    named = None
    for each in changes or []:
        if each["round"] <= round_:
            named = each["config"]
    return named


def changes(schedule: dict) -> list[dict]:
    """The schedule's segments where its config changes (what another seed retrains it by)."""
    found = []
    for each in schedule["segments"]:
        if not found or each["config"] != found[-1]["config"]:
            found.append({"round": each["round"], "config": each["config"]})
    return found


def ends(schedule: dict) -> list[int]:
    """The round each segment trains up to (not included)."""
    starts = [each["round"] for each in schedule["segments"]]
    return starts[1:] + [schedule["rounds"]]


def replay(schedule: dict, out_dir, *, data=None, verbose: int = 0) -> dict:
    """Train the schedule from scratch into `out_dir`: the generator, each round's losses, and
    how far they are from the member's own (`replay.json`). Op determinism is the caller's."""
    from ganlib.export import save_generator
    from ganlib.run import Run

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = data if data is not None else schedule.get("data")
    options = {
        "data": data,
        "per_class": schedule.get("per_class"),
        "precision": schedule.get("precision", "float32"),
        "hold_out_validation": schedule.get("hold_out_validation", True),
    }
    run, losses, start = None, [], time.perf_counter()
    images = 0
    for each, end in zip(schedule["segments"], ends(schedule)):
        previous = run
        run = Run(schedule["variant"], each["config"], seed=each["seed"], **options)
        if previous is not None:  # as the trainer: a fresh model from the new config, the state restored
            with tempfile.TemporaryDirectory() as folder:
                previous.save(folder)
                run.restore(folder)
        for round_ in range(each["round"], end):
            dataset = run.dataset(seed=order_seed(each.get("data_seed", each["seed"]), round_), repeat=True)
            steps = steps_in_round(round_ + 1, schedule["images_per_round"], images, run.images_per_step)
            history, diverged = run.train(dataset, steps_per_epoch=steps, verbose=verbose)
            images += steps * run.images_per_step
            logs = {key: float(values[-1]) for key, values in history.history.items()}
            losses.append({"round": round_ + 1, "training_images": images, **logs})
            if diverged:
                raise TrainingDiverged(
                    f"the replay diverged at round {round_ + 1}; its losses so far: {logs}"
                )
    save_generator(run.model.generator, out_dir, schedule["variant"])
    record = {
        "variant": schedule["variant"],
        "rounds": len(losses),
        "training_images": images,
        "wall_time_s": time.perf_counter() - start,
        "losses": losses,
        "largest_difference": largest_difference(losses, schedule.get("trace") or []),
    }
    (out_dir / "replay.json").write_text(json.dumps(record, indent=1))
    return record


def largest_difference(replayed: list[dict], trace: list[dict]) -> float | None:
    """The largest relative difference between the replay's losses and the member's own at the
    same rounds (None when the schedule carries no trace)."""
    recorded = {each["round"]: each for each in trace}
    differences = []
    for row in replayed:
        mine = recorded.get(row["round"])
        if mine is None:
            continue
        for key, value in row.items():
            if key.endswith("loss") and key in mine:
                scale = max(abs(mine[key]), 1e-12)
                differences.append(abs(value - mine[key]) / scale if math.isfinite(value) else math.inf)
    return max(differences) if differences else None
