"""Whether a sweep finished, read from the experiment state Ray saved for --resume."""

from __future__ import annotations

import contextlib
import logging


class Interrupted(Exception):
    """The sweep was stopped (Ctrl-C) with trials unfinished; Ray saved its state for --resume."""


def unfinished_trials(experiment_path: str) -> int:
    """Trials that Ray's saved experiment state (what --resume restores) does not hold as done.

    After Ctrl-C, Ray stops the running trials and the ResultGrid that fit() returns calls them
    TERMINATED; the saved state, read back by Ray's ExperimentAnalysis (what
    Tuner.restore(...).get_results() reads), tells them apart from trials that really finished.
    """
    from ray.tune import ExperimentAnalysis
    from ray.tune.experiment import Trial

    try:
        with quiet_results_loader():
            saved = ExperimentAnalysis(experiment_path)
    except ValueError:  # no experiment state saved: no trial to hold unfinished
        return 0
    return sum(trial.status not in (Trial.TERMINATED, Trial.ERROR) for trial in saved.trials)


@contextlib.contextmanager
def quiet_results_loader():
    """Ray's loader of saved trial results, warnings off: a trial still waiting for a slot has no
    results yet, and the loader logs a FileNotFoundError line for each (20 on a resumed study),
    though such a trial simply runs when its turn comes."""
    loader = logging.getLogger("ray.tune.analysis.experiment_analysis")
    level = loader.level
    loader.setLevel(logging.ERROR)
    try:
        yield
    finally:
        loader.setLevel(level)


def check_finished(grid, experiment_path: str, planned: int) -> None:
    """Raise Interrupted unless all `planned` trials of the experiment finished."""
    unfinished = unfinished_trials(experiment_path)
    if unfinished or len(grid) < planned:
        raise Interrupted(
            f"sweep interrupted ({len(grid) - unfinished} of {planned} trials finished); "
            f"run the same command with --resume to continue"
        )
