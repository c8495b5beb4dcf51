"""Which hyperparameters mattered: Optuna's importance over a variant's finished trials."""

from __future__ import annotations

import json
import warnings

import pandas as pd


def importance(variant: str, table: pd.DataFrame) -> pd.Series:
    """Optuna's PED-ANOVA importances (scikit-learn-free) over the finished, non-diverged trials."""
    import optuna

    from sweeps.spaces import optuna_space

    fixed = set()
    done = table[(~table["failed"]) & (~table["diverged"]) & table["sweep_fid"].notna()]
    if len(done) < 3:
        return pd.Series(dtype=float)
    space = optuna_space(variant, fixed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize")
    for _, row in done.iterrows():
        params = {k: v for k, v in json.loads(row["hyperparameters"]).items() if k in space}
        study.add_trial(optuna.trial.create_trial(params=params, distributions={k: space[k] for k in params}, value=row["sweep_fid"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.Series(optuna.importance.get_param_importances(study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()))
        except (RuntimeError, ValueError):
            return pd.Series(dtype=float)
