"""Client libraries that come with a pip extra: which extra provides a module, and the one-line
error that says so when the module is missing."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from tweetsense.errors import ConfigError

# Top-level module -> the extra of pyproject.toml that installs it.
EXTRA_OF = {
    "httpx": "x",
    "tenacity": "x",
    "boto3": "aws",
    "botocore": "aws",
    "s3fs": "aws",
    "confluent_kafka": "kafka",
    "redis": "redis",
    "pyspark": "spark",
    "psycopg": "postgres",
    "redshift_connector": "redshift",
    "starlette": "dashboard",
    "uvicorn": "dashboard",
    "torch": "transformers",
    "transformers": "transformers",
    "onnx": "transformers",
    "sklearn": "train",
    "scipy": "train",
}


def missing_hint(module: str, needed_by: str, extra: str | None = None) -> str:
    """``needed_by: needs the Python package X; run: pip install 'tweetsense[extra]'``."""
    top = module.split(".")[0]
    extra = extra or EXTRA_OF.get(top)
    fix = f"pip install 'tweetsense[{extra}]'" if extra else f"pip install {top}"
    return f"{needed_by}: needs the Python package {top}; run: {fix}"


def check_installed(modules: tuple[str, ...], needed_by: str, extra: str | None = None) -> None:
    """A one-line ConfigError for the first of ``modules`` that is not installed."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise ConfigError(missing_hint(module, needed_by, extra or None))


def require(module: str, extra: str, setting: str) -> ModuleType:
    """Import ``module``; when missing, a one-line error naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(missing_hint(module, setting, extra)) from None
