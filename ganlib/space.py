"""The ranges each hyperparameter is allowed to take (`Range`, `OneOf`): what
`registry.resolve_config` checks every value against before anything is built, and what every
search space (Optuna's distributions, in the registry) must stay inside."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ganlib.errors import ConfigError, check_range, require

# Search spaces are Optuna's own distributions; this module adds what Optuna lacks: the values a
# hyperparameter is allowed to take at all, checked before anything is built.
Distribution = FloatDistribution | IntDistribution | CategoricalDistribution


class _Checked:
    """`contains` from a `check(name, value)` that raises ConfigError."""

    def contains(self, value) -> bool:
        try:
            self.check("value", value)
        except ConfigError:
            return False
        return True


@dataclass(frozen=True)
class Range(_Checked):
    """The values a hyperparameter may take: low to high, each end closed or open (high None: no
    upper bound); `integer`: whole numbers only (Python or NumPy integers, not 5.0 nor True)."""

    low: float
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def __post_init__(self):
        if self.high is not None and not self.low < self.high:
            raise ConfigError(f"Range({self.low}, {self.high}) makes no sense: need low < high")
        if self.high is None and not self.integer:
            raise ConfigError(
                f"Range({self.low}, None) makes no sense: only an integer range may have no upper bound"
            )

    def describe(self) -> str:
        """What is allowed, as the end of "NAME must ...": "lie in (0.0, 1.0]", "be a positive
        integer in [1, 100]"."""
        left = "(" if self.low_open else "["
        right = ")" if self.high_open or self.high is None else "]"
        interval = f"{left}{self.low}, {'inf' if self.high is None else self.high}{right}"
        if not self.integer:
            return f"lie in {interval}"
        kind = "a positive integer" if self.low >= 1 or (self.low >= 0 and self.low_open) else "an integer"
        if self.high is None and self.low == 1 and not self.low_open:
            return f"be {kind}"
        return f"be {kind} in {interval}"

    def check(self, name: str, value) -> None:
        """Raise ConfigError, one line naming the value and the range, unless `value` is allowed."""
        if not self.integer:
            check_range(name, value, self.low, self.high, low_open=self.low_open, high_open=self.high_open)
            return
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if ok:
            ok = (value > self.low if self.low_open else value >= self.low) and (
                self.high is None or (value < self.high if self.high_open else value <= self.high)
            )
        require(ok, f"{name}={value!r} is not allowed: {name} must {self.describe()}")

    def covers(self, distribution: Distribution) -> bool:
        """Whether every value `distribution` can propose is allowed (integers only from integer
        distributions)."""
        if isinstance(distribution, CategoricalDistribution):
            return all(self.contains(value) for value in distribution.choices)
        if self.integer and not isinstance(distribution, IntDistribution):
            return False
        return self.contains(distribution.low) and self.contains(distribution.high)


@dataclass(frozen=True)
class OneOf(_Checked):
    """A hyperparameter that names one of a few settings (a loss, a coding)."""

    values: tuple

    def __post_init__(self):
        if not self.values:
            raise ConfigError("OneOf() makes no sense: need at least one value")

    def describe(self) -> str:
        return f"choose one of {', '.join(str(value) for value in self.values)}"

    def check(self, name: str, value) -> None:
        ok = any(type(value) is type(allowed) and value == allowed for allowed in self.values)
        require(ok, f"{name}={value!r} is not allowed: {self.describe()}")

    def covers(self, distribution: Distribution) -> bool:
        return isinstance(distribution, CategoricalDistribution) and all(
            self.contains(v) for v in distribution.choices
        )


Allowed = Range | OneOf
