"""Search-space declarations the registry holds, free of any tuning library.

The sweeps translate these into Ray Tune / Optuna distributions; ganlib itself never imports
either, so the library stays usable without them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganlib.errors import ConfigError


@dataclass(frozen=True)
class LogUniform:
    low: float
    high: float

    def __post_init__(self):
        if not 0 < self.low < self.high:
            raise ConfigError(f"LogUniform({self.low}, {self.high}) makes no sense: need 0 < low < high")

    def contains(self, value) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def __post_init__(self):
        if not self.low < self.high:
            raise ConfigError(f"Uniform({self.low}, {self.high}) makes no sense: need low < high")

    def contains(self, value) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class IntUniform:
    low: int
    high: int

    def __post_init__(self):
        if not self.low < self.high:
            raise ConfigError(f"IntUniform({self.low}, {self.high}) makes no sense: need low < high")

    def contains(self, value) -> bool:
        return float(value).is_integer() and self.low <= value <= self.high


@dataclass(frozen=True)
class Choice:
    values: tuple

    def __post_init__(self):
        if len(self.values) < 2:
            raise ConfigError(f"Choice{self.values} makes no sense: need at least two values")

    def contains(self, value) -> bool:
        return value in self.values


Distribution = LogUniform | Uniform | IntUniform | Choice
