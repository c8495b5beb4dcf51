"""The registry's search spaces as Optuna distributions, and the paper defaults as a first trial."""

from __future__ import annotations

import optuna

from ganlib import registry
from ganlib.space import Choice, IntUniform, LogUniform, Uniform


def to_optuna(distribution) -> optuna.distributions.BaseDistribution:
    if isinstance(distribution, LogUniform):
        return optuna.distributions.FloatDistribution(distribution.low, distribution.high, log=True)
    if isinstance(distribution, Uniform):
        return optuna.distributions.FloatDistribution(distribution.low, distribution.high)
    if isinstance(distribution, IntUniform):
        return optuna.distributions.IntDistribution(distribution.low, distribution.high)
    if isinstance(distribution, Choice):
        return optuna.distributions.CategoricalDistribution(list(distribution.values))
    raise TypeError(f"no Optuna distribution for {distribution!r}")


def optuna_space(variant: str, fixed: dict) -> dict:
    """The variant's searched hyperparameters, minus those the preset fixes."""
    space = registry.get(variant).search_space
    return {name: to_optuna(d) for name, d in space.items() if name not in fixed}


def paper_defaults_point(variant: str, fixed: dict) -> dict:
    """The first trial of every sweep: the paper's settings for every searched hyperparameter."""
    defaults = registry.get(variant).defaults
    return {name: defaults[name] for name in optuna_space(variant, fixed)}
