"""Client libraries that come with a pip extra, imported when a backend is built."""

from __future__ import annotations

import importlib
from types import ModuleType

from tweetsense.errors import ConfigError


def require(module: str, extra: str, setting: str) -> ModuleType:
    """Import ``module``; when missing, a one-line error naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"{setting}: needs the Python package {module.split('.')[0]}; "
            f"run: pip install 'tweetsense[{extra}]'"
        ) from None
