"""Optional extras (pyproject's [tensorboard], [mlflow]): whether one is installed, and the one
line that says how to install it when an option needs it."""

from __future__ import annotations

import functools
import importlib.util

from ganlib.errors import ConfigError


@functools.cache
def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def require_installed(package: str, option: str) -> None:
    if not installed(package):
        raise ConfigError(f'{option} needs {package}, which is not installed: pip install -e ".[{package}]"')
