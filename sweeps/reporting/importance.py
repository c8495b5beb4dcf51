"""Which hyperparameters mattered: Optuna's importance over each variant's own study, the one the
sweep kept (`--optuna-storage`, by default EXPORT_DIR/optuna.db, a study per variant named after
its experiment)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

SQLITE = "sqlite:///"


def load_study(sweep: dict, variant: str, results: Path | None = None):
    """The variant's Optuna study as the sweep stored it, or None (an export without one).

    An export read away from where its sweep ran (fetched from a bucket to a laptop) holds its
    optuna.db beside it, not at the path its sweep.json records: that copy is read first. A recorded
    SQLite file that is not there means no study (opening it would fail, or make an empty database):
    a publication (sweeps.study.publish) leaves the database out and keeps the importance.csv it
    was written with."""
    import optuna

    local = Path(results) / "optuna.db" if results is not None else None
    if local is not None and local.is_file():
        storage = f"{SQLITE}{local.resolve()}"
    else:
        storage = sweep.get("optuna_storage")
    if not storage or not sweep.get("name"):
        return None
    if storage.startswith(SQLITE) and not Path(storage.removeprefix(SQLITE)).is_file():
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.load_study(study_name=f"{sweep['name']}-{variant}", storage=storage)
    except KeyError:  # no such study in that storage
        return None


def importance(study) -> pd.Series:
    """Optuna's PED-ANOVA importances (scikit-learn-free) over the study's completed trials; each
    trial's value is its FID at its last report (validation slice), as Ray's OptunaSearch told it."""
    import optuna

    if study is None:
        return pd.Series(dtype=float)
    done = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    if len(done) < 3:
        return pd.Series(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            evaluator = optuna.importance.PedAnovaImportanceEvaluator()
            return pd.Series(optuna.importance.get_param_importances(study, evaluator=evaluator))
        except (RuntimeError, ValueError):
            return pd.Series(dtype=float)


def importances(sweep: dict, variants: list[str], results: Path) -> pd.DataFrame:
    """A row of importances per variant from its stored study, blank where a variant does not
    search that hyperparameter. An export copied without its optuna.db (docs/results) has no study
    to read: the importance.csv it was written with stands."""
    found = {variant: importance(load_study(sweep, variant, results)) for variant in variants}
    if any(len(series) for series in found.values()):
        return pd.DataFrame(found).T
    kept = Path(results) / "importance.csv"
    if kept.is_file() and kept.stat().st_size > 3:
        return pd.read_csv(kept, index_col=0)
    return pd.DataFrame()
