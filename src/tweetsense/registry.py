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

from tweetsense.config import BackendSection, Config, SearchConfig, describe_validation_error
from tweetsense.errors import ConfigError, UnknownBackendError
from tweetsense.extras import check_installed, missing_hint
from tweetsense.secrets import Secrets

STAGES = ("source", "storage", "stream", "sentiment", "batch", "warehouse")


@dataclass(frozen=True)
class Backend:
    """Where a backend's class lives and the client modules (from a pip extra) it imports."""

    target: str
    extra: str = ""
    needs: tuple[str, ...] = ()


_REGISTRY: dict[str, dict[str, Backend]] = {
    "source": {
        "synthetic": Backend("tweetsense.sources.synthetic:SyntheticSource"),
        "replay": Backend("tweetsense.sources.replay:ReplaySource"),
        "x_api": Backend("tweetsense.sources.x_api:XApiSource", "x", ("httpx", "tenacity")),
    },
    "storage": {
        "local": Backend("tweetsense.staging.local:LocalStore"),
        "s3": Backend("tweetsense.staging.s3:S3Store", "aws", ("boto3", "s3fs")),
    },
    "stream": {
        "sqlite": Backend("tweetsense.stream.sqlite:SQLiteStream"),
        "kinesis": Backend("tweetsense.stream.kinesis:KinesisStream", "aws", ("boto3",)),
        "kafka": Backend("tweetsense.stream.kafka:KafkaStream", "kafka", ("confluent_kafka",)),
        "redis": Backend("tweetsense.stream.redis:RedisStream", "redis", ("redis",)),
    },
    "sentiment": {
        "vader": Backend("tweetsense.sentiment.vader:VaderAnalyzer"),
        "default": Backend("tweetsense.sentiment.local_models:DefaultAnalyzer"),
        "fast": Backend("tweetsense.sentiment.local_models:FastAnalyzer"),
        "model": Backend("tweetsense.sentiment.local_models:ModelAnalyzer"),
        "comprehend": Backend(
            "tweetsense.sentiment.comprehend:ComprehendAnalyzer", "aws", ("boto3",)
        ),
        "http": Backend("tweetsense.sentiment.http:HttpAnalyzer", "http", ("httpx",)),
        # Runs a cached ONNX export without torch; it names the extra itself when it needs it.
        "transformers": Backend("tweetsense.sentiment.hf:TransformersAnalyzer"),
    },
    "batch": {
        "duckdb": Backend("tweetsense.batch.duckdb_engine:DuckDBEngine"),
        "spark": Backend("tweetsense.batch.spark_engine:SparkEngine", "spark", ("pyspark",)),
    },
    "warehouse": {
        "duckdb": Backend("tweetsense.warehouse.duckdb:DuckDBWarehouse"),
        "postgres": Backend(
            "tweetsense.warehouse.postgres:PostgresWarehouse", "postgres", ("psycopg",)
        ),
        "redshift": Backend(
            "tweetsense.warehouse.redshift:RedshiftWarehouse",
            "redshift",
            ("redshift_connector", "boto3"),
        ),
    },
}


def register(
    stage: str, name: str, target: str, extra: str = "", needs: tuple[str, ...] = ()
) -> None:
    """Add a backend: ``target`` is 'module:Class'; ``needs`` the client modules it imports,
    which the pip ``extra`` installs."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    _REGISTRY[stage][name] = Backend(target, extra, needs)


def names(stage: str) -> list[str]:
    return sorted(_REGISTRY[stage])


def backend_class(stage: str, name: str) -> type:
    """The backend's class; a missing client library is a one-line error naming its extra,
    raised here, before any work starts, rather than when the backend first connects."""
    try:
        backend = _REGISTRY[stage][name]
    except KeyError:
        raise UnknownBackendError(
            f"{stage}.type: unknown backend {name!r}; choose one of {', '.join(names(stage))}"
        ) from None
    needed_by = f"{stage}.type: {name}"
    check_installed(backend.needs, needed_by, backend.extra)
    module_name, _, attr = backend.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(missing_hint(exc.name or module_name, needed_by, backend.extra)) from None
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


def settings_for(
    stage: str, section: BackendSection, config: Config | None = None, where: str | None = None
) -> BaseModel:
    """The backend's validated settings; ``config`` (the section's own) names where a bad key
    was written."""
    cls = backend_class(stage, section.type)
    try:
        return cls.Settings.model_validate(section.options())
    except ValidationError as exc:
        keys = set(cls.Settings.model_fields) | set(type(section).model_fields)
        if config is None:
            msg = describe_validation_error(
                exc, origin="", prefix=(where or stage,), extra_keys=keys
            )
        else:
            msg = config.describe(exc, (where or stage,), keys)
        raise ConfigError(
            msg.replace("unknown key", f"unknown setting of the {section.type} backend")
        ) from None


def create(stage: str, context: Context, section: BackendSection | None = None) -> Any:
    """Build the backend the config names for ``stage``."""
    section = section or getattr(context.config, stage)
    cls = backend_class(stage, section.type)
    return cls(settings_for(stage, section, context.config), context)


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
        settings_for(stage, getattr(config, stage), config)
    for i, section in enumerate(config.other_analyzers, start=1):
        settings_for("sentiment", section, config, f"sentiment[{i}]")
