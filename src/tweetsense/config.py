"""The configuration: one YAML file, environment overrides, validation with one-line errors.

Every stage has a section whose ``type`` picks the backend; the section's other keys are the
backend's own settings, validated by that backend's ``Settings`` model (see ``registry``).
Environment variables ``TWEETSENSE_<SECTION>__<KEY>=value`` override any key; values are read
as YAML scalars, so ``TWEETSENSE_SEARCH__MAX_PER_WINDOW=50`` is a number.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tweetsense.errors import ConfigError
from tweetsense.timeutil import parse_duration, parse_utc

ENV_PREFIX = "TWEETSENSE_"
DEFAULT_DATA_DIR = Path("tweetsense-data")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class SearchConfig(_Strict):
    query: str = Field(min_length=1, max_length=1024)
    start_time: datetime
    end_time: datetime
    freq: int = 900
    max_per_window: int | None = Field(default=100, ge=1)

    @field_validator("start_time", "end_time", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> datetime:
        if isinstance(value, str | datetime):
            return parse_utc(value)
        raise ValueError("write a UTC time such as 2024-03-01T00:00:00Z")

    @field_validator("freq", mode="before")
    @classmethod
    def _freq(cls, value: Any) -> int:
        seconds = parse_duration(value)
        if seconds % 60:
            raise ValueError("must be a whole number of minutes, e.g. '15min'")
        return seconds

    @model_validator(mode="after")
    def _order(self) -> SearchConfig:
        if self.start_time >= self.end_time:
            raise ValueError("start_time must be before end_time")
        return self


class BackendSection(BaseModel):
    """``type`` names the backend; every other key belongs to that backend's settings."""

    model_config = ConfigDict(extra="allow")
    type: str

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SourceSection(BackendSection):
    type: str = "synthetic"
    concurrency: int = Field(default=4, ge=1, le=64, description="windows fetched at once")
    # Budgets belong to the run, not to one backend, so every source honours them.
    max_posts: int | None = Field(default=None, ge=1, description="run budget in posts")
    max_cost: float | None = Field(
        default=None, ge=0, description="run budget in dollars; the source needs prices"
    )


class StorageSection(BackendSection):
    type: str = "local"


class StreamSection(BackendSection):
    type: str = "sqlite"
    max_attempts: int = Field(
        default=3, ge=1, description="tries per record before it goes to the dead letters"
    )
    poll_batch: int = Field(
        default=16,
        ge=1,
        le=10_000,
        description="window records scored and committed together; small keeps workers even",
    )


class BatchSection(BackendSection):
    type: str = "duckdb"


class WarehouseSection(BackendSection):
    type: str = "duckdb"


class SentimentSection(BackendSection):
    type: str = "default"
    batch_size: int = Field(default=2000, ge=1)
    workers: int = Field(default=0, ge=0, description="0 means one per CPU core")


class Config(_Strict):
    data_dir: Path = DEFAULT_DATA_DIR
    search: SearchConfig
    source: SourceSection = SourceSection()
    storage: StorageSection = StorageSection()
    stream: StreamSection = StreamSection()
    sentiment: SentimentSection = SentimentSection()
    batch: BatchSection = BatchSection()
    warehouse: WarehouseSection = WarehouseSection()


DEMO = {
    "search": {
        "query": "electric vehicles",
        "start_time": "2024-03-01T00:00:00Z",
        "end_time": "2024-03-05T00:00:00Z",
        "freq": "15min",
        "max_per_window": 100,
    },
    "source": {"type": "synthetic"},  # its default seed is fixed, so demo runs are equal
}


def _set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def env_overrides(environ: Mapping[str, str]) -> list[tuple[list[str], Any]]:
    top_level = set(Config.model_fields)
    found = []
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if path[0] not in top_level:
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        found.append((path, value))
    return found


def _describe(error: ValidationError, origin: str) -> str:
    parts = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"]) or "(top level)"
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            msg = "unknown key; check its spelling against `tweetsense init`"
        elif item["type"] == "missing":
            msg = "required key is missing"
        parts.append(f"{loc}: {msg}")
    return f"{origin}: " + "; ".join(parts)


def build_config(
    data: Mapping[str, Any] | None,
    *,
    origin: str = "config",
    environ: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
) -> Config:
    """Validate a config mapping after applying environment overrides and a data dir."""
    tree: dict[str, Any] = copy.deepcopy(dict(data or {}))
    for path, value in env_overrides(os.environ if environ is None else environ):
        _set_path(tree, path, value)
    if data_dir is not None:
        tree["data_dir"] = str(data_dir)
    try:
        return Config.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found; create one with `tweetsense init {path}`"
        ) from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"config file {path}{where}: {problem}; fix the YAML syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping of sections")
    return data


def load_config(
    path: Path | None,
    *,
    demo: bool = False,
    data_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """The config from a file, the demo defaults, or (with neither) the environment alone."""
    if demo:
        return build_config(DEMO, origin="demo config", environ=environ, data_dir=data_dir)
    data = read_yaml(path) if path is not None else {}
    return build_config(data, origin=str(path or "config"), environ=environ, data_dir=data_dir)


def template_path() -> Path:
    return Path(__file__).parent / "cli" / "template.yaml"
