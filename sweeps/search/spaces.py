"""A variant's search space less what the sweep fixes, and the paper defaults as a first trial."""

from __future__ import annotations

from ganlib import registry


def optuna_space(variant: str, fixed: dict) -> dict:
    """The variant's searched hyperparameters, minus those the preset fixes."""
    space = registry.get(variant).search_space
    return {name: d for name, d in space.items() if name not in fixed}


def paper_defaults_point(variant: str, fixed: dict) -> dict:
    """The first trial of every sweep: the paper's settings for every searched hyperparameter."""
    defaults = registry.get(variant).defaults
    return {name: defaults[name] for name in optuna_space(variant, fixed)}
