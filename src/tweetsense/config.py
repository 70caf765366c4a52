"""The configuration: one YAML file, environment overrides, validation with one-line errors.

Every stage has a section whose ``type`` picks the backend; the section's other keys are the
backend's own settings, validated by that backend's ``Settings`` model (see ``registry``).
Environment variables ``TWEETSENSE_<SECTION>__<KEY>=value`` override any key; values are read
as YAML scalars, so ``TWEETSENSE_SEARCH__MAX_PER_WINDOW=50`` is a number.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tweetsense.alerts.rules import AlertsSection
from tweetsense.errors import ConfigError
from tweetsense.timeutil import epoch_seconds, format_utc, from_epoch, parse_duration, parse_utc

ENV_PREFIX = "TWEETSENSE_"
DEFAULT_DATA_DIR = Path("tweetsense-data")
DEFAULT_CONFIG = "tweetsense.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class SearchConfig(_Strict):
    query: str = Field(min_length=1, max_length=1024)
    start_time: datetime
    # None (absent or `now`): up to the last window that closed ``settle`` ago, as a live run
    # follows the topic (``closed_until``).
    end_time: datetime | None = None
    freq: int = 900
    # How long after a window closes the API has indexed its posts.
    settle: int = 120
    max_per_window: int | None = Field(default=100, ge=1)

    @field_validator("start_time", "end_time", mode="before")
    @classmethod
    def _utc(cls, value: Any, info: ValidationInfo) -> datetime | None:
        if info.field_name == "end_time" and (value is None or value == "now"):
            return None
        if isinstance(value, str | datetime):
            return parse_utc(value)
        raise ValueError("write a UTC time such as 2024-03-01T00:00:00Z")

    @field_validator("settle", mode="before")
    @classmethod
    def _settle(cls, value: Any) -> int:
        seconds = parse_duration(value)
        if seconds < 0:
            raise ValueError("must not be negative, e.g. '2min'")
        return seconds

    @field_validator("freq", mode="before")
    @classmethod
    def _freq(cls, value: Any) -> int:
        seconds = parse_duration(value)
        if seconds % 60:
            raise ValueError("must be a whole number of minutes, e.g. '15min'")
        return seconds

    @model_validator(mode="after")
    def _order(self) -> SearchConfig:
        if self.end_time is not None and self.start_time >= self.end_time:
            raise ValueError("start_time must be before end_time")
        return self

    def closed_until(self, now: datetime) -> datetime:
        """The end of the last window that closed ``settle`` before ``now`` (epoch-aligned)."""
        ready = epoch_seconds(now) - self.settle
        return from_epoch(ready // self.freq * self.freq)

    def until(self, now: datetime) -> SearchConfig:
        """This search with its end fixed: ``end_time``, or the windows closed by ``now``."""
        if self.end_time is not None:
            return self
        end = self.closed_until(now)
        if end <= self.start_time:
            raise ConfigError(
                f"search.start_time: {format_utc(self.start_time)} is later than the last "
                f"closed window ({format_utc(end)}, with search.settle {self.settle} s); "
                "set an earlier start_time"
            )
        return self.model_copy(update={"end_time": end})


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
    name: str | None = Field(
        default=None, description="how results are labelled and stored (default: the type)"
    )
    batch_size: int = Field(default=2000, ge=1)
    workers: int = Field(default=0, ge=0, description="0 means one per CPU core")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", value):
            raise ValueError("use lowercase letters, digits, - and _ (at most 40), e.g. vader-2")
        return value

    @property
    def label(self) -> str:
        """The analyzer's name: ``name``, else its ``type``."""
        return self.name or self.type


class InsightSection(_Strict):
    """How the batch finds what drives sentiment and when it moved."""

    reposts: Literal["each", "once"] = Field(
        default="each",
        description="dashboard default: a repost as its own opinion, or once per original",
    )
    driver_min_count: int = Field(
        default=2, ge=1, description="posts of a window a word needs to be kept as a driver"
    )
    spike_baseline: int = Field(
        default=96, ge=4, description="windows before a window that form its baseline"
    )
    spike_min_baseline: int = Field(
        default=8, ge=3, description="windows a baseline needs before any spike is flagged"
    )
    spike_threshold: float = Field(
        default=3.5, gt=0, description="robust z-score beyond which a window is a spike"
    )


class Config(_Strict):
    data_dir: Path = DEFAULT_DATA_DIR
    search: SearchConfig
    source: SourceSection = SourceSection()
    storage: StorageSection = StorageSection()
    stream: StreamSection = StreamSection()
    # The primary analyzer: its results fill `tweet` and `sentiment`. In the file `sentiment:`
    # may also be a list of analyzers, the primary one first; the others land here.
    sentiment: SentimentSection = SentimentSection()
    other_analyzers: list[SentimentSection] = Field(default_factory=list)
    batch: BatchSection = BatchSection()
    warehouse: WarehouseSection = WarehouseSection()
    insight: InsightSection = InsightSection()
    alerts: AlertsSection = AlertsSection()
    # Where each key was written, so later errors (a backend's settings) can blame the right place.
    _origin: str = PrivateAttr("config")
    _env: dict[tuple[str, ...], str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _sentiment_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("sentiment"), list):
            first, *others = data["sentiment"] or [None]
            if first is None:
                raise ValueError("sentiment: an empty list; name at least one analyzer")
            data = {**data, "sentiment": first, "other_analyzers": others}
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        seen: set[str] = set()
        for i, section in enumerate(self.analyzers):
            if section.label in seen:
                raise ValueError(
                    f"sentiment[{i}]: the name {section.label!r} is taken by an earlier analyzer; "
                    "give each analyzer its own name (e.g. name: vader-2)"
                )
            seen.add(section.label)
        return self

    @property
    def analyzers(self) -> list[SentimentSection]:
        """Every analyzer, the primary one first."""
        return [self.sentiment, *self.other_analyzers]

    def analyzer(self, name: str) -> SentimentSection:
        for section in self.analyzers:
            if section.label == name:
                return section
        names = ", ".join(s.label for s in self.analyzers)
        raise ConfigError(f"--analyzer {name}: no analyzer of that name; the config has {names}")

    def describe(self, error: ValidationError, prefix: tuple[str, ...], keys: Iterable[str]) -> str:
        """``describe_validation_error`` for a part of this config validated on its own."""
        return describe_validation_error(
            error, origin=self._origin, prefix=prefix, extra_keys=keys, env=self._env
        )


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
        if isinstance(child, list) and child and isinstance(child[0], dict):
            child = child[0]  # `sentiment:` as a list: an override sets the primary analyzer
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def env_overrides(environ: Mapping[str, str]) -> dict[tuple[str, ...], tuple[str, Any]]:
    """Config path -> (variable name, value) of every ``TWEETSENSE_<SECTION>__<KEY>`` variable."""
    top_level = set(Config.model_fields)
    found: dict[tuple[str, ...], tuple[str, Any]] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = tuple(p.lower() for p in name[len(ENV_PREFIX) :].split("__"))
        if path[0] not in top_level:
            if len(path) > 1:  # meant as an override (TWEETSENSE_CONFIG and the like are not)
                raise ConfigError(
                    f"environment variable {name}: {path[0]!r} is not a config section"
                    f"{_did_you_mean(path[0], top_level)}; fix or unset it"
                )
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        found[path] = (name, value)
    return found


def _did_you_mean(key: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> set[str]:
    """The keys the model nested at ``loc`` accepts (empty when ``loc`` leaves the models)."""
    for part in loc:
        if isinstance(part, int):  # an item of a list of models
            continue
        field = model.model_fields.get(str(part))
        sub = field.annotation if field else None
        if get_origin(sub) is list:
            (sub,) = get_args(sub)
        if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
            return set()
        model = sub
    return set(model.model_fields)


def _user_loc(loc: tuple[str, ...]) -> tuple[str, ...]:
    """As the user wrote it: the other analyzers are items 1.. of the `sentiment` list."""
    if len(loc) > 1 and loc[0] == "other_analyzers" and loc[1].isdigit():
        return (f"sentiment[{int(loc[1]) + 1}]", *loc[2:])
    return loc


def describe_validation_error(
    error: ValidationError,
    *,
    origin: str,
    model: type[BaseModel] | None = None,
    prefix: tuple[str, ...] = (),
    extra_keys: Iterable[str] = (),
    env: Mapping[tuple[str, ...], str] | None = None,
) -> str:
    """One line for every problem, each blamed on where it was written: ``origin`` (a file), or
    the environment variable of ``env`` (config path -> variable name) that set the key.
    ``model`` (validated at ``prefix``) and ``extra_keys`` give the spelling suggestions."""
    parts = []
    for item in error.errors():
        loc = _user_loc((*prefix, *(str(p) for p in item["loc"])))
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            valid = set(extra_keys)
            if model is not None:
                valid |= _fields_at(model, item["loc"][:-1])
            msg = f"unknown key{_did_you_mean(loc[-1], valid)}"
        elif item["type"] == "missing":
            msg = "required key is missing"
        where = next(
            (
                f"environment variable {env[loc[:n]]}"
                for n in range(len(loc), 0, -1)
                if env and loc[:n] in env
            ),
            origin,
        )
        where = f"{where}: " if where else ""
        parts.append(f"{where}{'.'.join(loc)}: {msg}" if loc else f"{where}{msg}")
    return "; ".join(parts)


def build_config(
    data: Mapping[str, Any] | None,
    *,
    origin: str = "config",
    environ: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
) -> Config:
    """Validate a config mapping after applying environment overrides and a data dir."""
    tree: dict[str, Any] = copy.deepcopy(dict(data or {}))
    overrides = env_overrides(os.environ if environ is None else environ)
    for path, (_, value) in overrides.items():
        _set_path(tree, list(path), value)
    if data_dir is not None:
        tree["data_dir"] = str(data_dir)
    env = {path: name for path, (name, _) in overrides.items()}
    try:
        config = Config.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(
            describe_validation_error(exc, origin=origin, model=Config, env=env)
        ) from None
    config._origin = origin
    config._env = env
    return config


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where the problem starts: an unclosed quote is reported at its opening line, not at the
    end of the file where the parser gave up."""
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    problem, end = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    text = problem or "invalid YAML"
    if start is not None and context:
        if end is not None and end.line != start.line:
            text += f" at line {end.line + 1}"
        return f" line {start.line + 1}: {text} ({context} that starts on this line)"
    return f" line {end.line + 1}: {text}" if end is not None else f": {text}"


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
        raise ConfigError(f"config file {path}{_yaml_problem(exc)}; fix the YAML syntax") from None
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


def locate_config(path: Path | None, *, demo: bool = False) -> Path | None:
    """The config file to read: ``path``, else $TWEETSENSE_CONFIG, else ./tweetsense.yaml;
    None for the demo, whose config is built in."""
    if demo:
        if path is not None:
            raise ConfigError("--demo and --config exclude each other; pass one of them")
        return None
    if path is not None:
        return path
    env = os.environ.get("TWEETSENSE_CONFIG")
    if env:
        return Path(env)
    if Path(DEFAULT_CONFIG).exists():
        return Path(DEFAULT_CONFIG)
    raise ConfigError(
        "no config: pass --config FILE (create one with `tweetsense init`), "
        "or use --demo for the synthetic demo"
    )


def template_path() -> Path:
    return Path(__file__).parent / "cli" / "template.yaml"
