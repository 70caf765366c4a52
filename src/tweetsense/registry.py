"""Backends found by name: a light table of import paths, loaded only when chosen.

A backend is a class with a nested pydantic ``Settings`` model and a constructor
``__init__(settings, context)``. Heavy client libraries are imported inside the backend's
module or methods, so naming a backend that is not configured costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tweetsense.config import BackendSection, Config, SearchConfig
from tweetsense.errors import ConfigError, UnknownBackendError
from tweetsense.secrets import Secrets

STAGES = ("source", "storage", "stream", "sentiment", "batch", "warehouse")

_REGISTRY: dict[str, dict[str, tuple[str, str]]] = {
    "source": {
        "synthetic": ("tweetsense.sources.synthetic:SyntheticSource", ""),
        "replay": ("tweetsense.sources.replay:ReplaySource", ""),
        "x_api": ("tweetsense.sources.x_api:XApiSource", "x"),
    },
    "storage": {
        "local": ("tweetsense.staging.local:LocalStore", ""),
        "s3": ("tweetsense.staging.s3:S3Store", "aws"),
    },
    "stream": {
        "sqlite": ("tweetsense.stream.sqlite:SQLiteStream", ""),
        "kinesis": ("tweetsense.stream.kinesis:KinesisStream", "aws"),
        "kafka": ("tweetsense.stream.kafka:KafkaStream", "kafka"),
        "redis": ("tweetsense.stream.redis:RedisStream", "redis"),
    },
    "sentiment": {
        "vader": ("tweetsense.sentiment.vader:VaderAnalyzer", ""),
        "default": ("tweetsense.sentiment.local_models:DefaultAnalyzer", ""),
        "fast": ("tweetsense.sentiment.local_models:FastAnalyzer", ""),
        "model": ("tweetsense.sentiment.local_models:ModelAnalyzer", ""),
        "comprehend": ("tweetsense.sentiment.comprehend:ComprehendAnalyzer", "aws"),
        "http": ("tweetsense.sentiment.http:HttpAnalyzer", "http"),
        "transformers": ("tweetsense.sentiment.hf:TransformersAnalyzer", "transformers"),
    },
    "batch": {
        "duckdb": ("tweetsense.batch.duckdb_engine:DuckDBEngine", ""),
        "spark": ("tweetsense.batch.spark_engine:SparkEngine", "spark"),
    },
    "warehouse": {
        "duckdb": ("tweetsense.warehouse.duckdb:DuckDBWarehouse", ""),
        "postgres": ("tweetsense.warehouse.postgres:PostgresWarehouse", "postgres"),
        "redshift": ("tweetsense.warehouse.redshift:RedshiftWarehouse", "redshift"),
    },
}


def register(stage: str, name: str, target: str, extra: str = "") -> None:
    """Add a backend: ``target`` is 'module:Class'; ``extra`` the pip extra that provides it."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    _REGISTRY[stage][name] = (target, extra)


def names(stage: str) -> list[str]:
    return sorted(_REGISTRY[stage])


def backend_class(stage: str, name: str) -> type:
    try:
        target, extra = _REGISTRY[stage][name]
    except KeyError:
        raise UnknownBackendError(
            f"{stage}.type: unknown backend {name!r}; choose one of {', '.join(names(stage))}"
        ) from None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f"pip install 'tweetsense[{extra}]'" if extra else "reinstall tweetsense"
        raise ConfigError(
            f"{stage}.type: backend {name!r} cannot load ({exc.name} missing); run: {hint}"
        ) from None
    return getattr(module, attr)


@dataclass
class Context:
    """What every backend may need besides its own settings."""

    config: Config
    secrets: Secrets = field(default_factory=Secrets)

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    @property
    def search(self) -> SearchConfig:
        return self.config.search


def settings_for(stage: str, section: BackendSection) -> BaseModel:
    cls = backend_class(stage, section.type)
    options = section.options()
    try:
        return cls.Settings.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in (stage, *first["loc"]))
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = f"unknown setting for the {section.type} backend"
        raise ConfigError(f"{loc}: {msg}") from None


def create(stage: str, context: Context, section: BackendSection | None = None) -> Any:
    """Build the backend the config names for ``stage``."""
    section = section or getattr(context.config, stage)
    cls = backend_class(stage, section.type)
    return cls(settings_for(stage, section), context)


def with_backend(config: Config, stage: str, name: str | None, **options: Any) -> Config:
    """``config`` with ``stage`` switched to backend ``name`` (None keeps the configured one) and
    ``options`` set. The configured backend's settings that the new one also has are kept (e.g.
    a DSN from the environment); the others would not validate there and are dropped."""
    section = getattr(config, stage)
    name = name or section.type
    known = backend_class(stage, name).Settings.model_fields
    kept = {k: v for k, v in section.options().items() if k in known}
    declared = {k: getattr(section, k) for k in type(section).model_fields if k != "type"}
    switched = type(section)(type=name, **declared, **{**kept, **options})
    return config.model_copy(update={stage: switched})


def validate_all(config: Config) -> None:
    """Check every section's backend name and settings before any work starts."""
    for stage in STAGES:
        settings_for(stage, getattr(config, stage))
