"""Errors a user can cause, each carrying one line that names the bad value and what is allowed.

Command lines catch `GanlibError`, print its message and exit with status 2, so every bad input
ends the same way whether it came from a flag, a config file or a data file.
"""


class GanlibError(ValueError):
    """A bad value from the user: the message is the whole story, on one line."""


class DataError(GanlibError):
    """The MNIST data could not be found or is not what MNIST looks like."""


class ConfigError(GanlibError):
    """A hyperparameter or option outside what is allowed."""


class StateError(GanlibError):
    """A saved training state that does not fit the model it is loaded into."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; what was saved before it is kept."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def check_positive(name: str, value, integer: bool = False) -> None:
    kind = "a positive integer" if integer else "a positive number"
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if integer:
        ok = ok and float(value).is_integer()
    require(ok, f"{name}={value!r} is not allowed: {name} must be {kind}")


def check_range(name: str, value, low, high, *, low_open: bool = False, high_open: bool = False) -> None:
    """Check low <= value <= high (or strict where open) and say the interval when not."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    require(ok, f"{name}={value!r} is not allowed: {name} must lie in {left}{low}, {high}{right}")
