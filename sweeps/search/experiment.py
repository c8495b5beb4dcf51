"""What the sweep's two Ray Tune experiments (the search and the final stage) share: continuing a
saved one, and logging their trials to MLflow."""

from __future__ import annotations

from sweeps.search.experiment_state import quiet_results_loader
from sweeps.search.plan import Setup


def restored(path: str, trainable):
    """The experiment saved at path, continued with its unfinished and errored trials; None if
    there is nothing to restore there."""
    from ray import tune

    if not tune.Tuner.can_restore(path):
        return None
    print(f"resuming {path}", flush=True)
    with quiet_results_loader():
        return tune.Tuner.restore(path, trainable=trainable, resume_unfinished=True, resume_errored=True)


def mlflow_logger(setup: Setup, experiment: str) -> list:
    """Ray's MLflow callback, when --mlflow names a tracking URI: an MLflow experiment named like
    the Ray experiment, a run per trial (its variant among the run's parameters)."""
    if not setup.mlflow:
        return []
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    return [
        MLflowLoggerCallback(
            tracking_uri=setup.mlflow, experiment_name=experiment, tags={"sweep": setup.name}
        )
    ]


def console(
    setup: Setup, variants: list[str], per_variant: int, rounds: int, experiment: str, verbose: bool
) -> list:
    """An experiment's callbacks: one line a report (Ray's tables with --verbose), a notice when
    trials wait on a cluster that adds no node, and MLflow when asked for."""
    from sweeps.search.progress import ReportLines, WaitingForNodes

    lines = [] if verbose else [ReportLines(variants, per_variant, rounds)]
    return lines + [WaitingForNodes(setup.wait_notice)] + mlflow_logger(setup, experiment)
