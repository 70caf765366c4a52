"""The pipeline: the configured backends of every stage, built lazily, and the stages on them."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tweetsense import clock, layout, registry
from tweetsense.config import Config, load_config, locate_config
from tweetsense.pipeline.progress import Progress, SilentProgress
from tweetsense.secrets import Secrets
from tweetsense.timeutil import Window, windows_between

if TYPE_CHECKING:
    from tweetsense.batch.base import Engine
    from tweetsense.sentiment.base import Analyzer
    from tweetsense.sources.base import Source
    from tweetsense.staging.base import Store
    from tweetsense.stream.base import Stream
    from tweetsense.warehouse.base import Warehouse

CONSUMER_GROUP = "tweetsense-sentiment"


class Pipeline:
    """Holds one run's configuration and backends; each stage is a function of a Pipeline."""

    def __init__(
        self,
        config: Config,
        secrets: Secrets | None = None,
        progress: Progress | None = None,
    ):
        registry.validate_all(config)
        if config.search.end_time is None:
            # A live search: up to the windows closed now, fixed for this pipeline's life.
            search = config.search.until(clock.current().now())
            config = config.model_copy(update={"search": search})
        self.config = config
        self.context = registry.Context(config, secrets or Secrets())
        self.progress: Progress = progress or SilentProgress()

    @classmethod
    def open(
        cls,
        config: str | Path | None = None,
        *,
        data_dir: str | Path | None = None,
        demo: bool = False,
        secrets: str | Path | None = None,
        progress: Progress | None = None,
        backends: Mapping[str, str | tuple[str | None, Mapping[str, Any]]] | None = None,
    ) -> Pipeline:
        """The pipeline of a config file (default: $TWEETSENSE_CONFIG, then ./tweetsense.yaml) or
        of the demo; ``backends`` switches a stage's backend, e.g. ``{"warehouse": "postgres"}``
        or ``{"batch": ("spark", {"master": "local[4]"})}``. Use it as a context manager so
        its connections are closed."""
        cfg = cls.configure(config, data_dir=data_dir, demo=demo, backends=backends)
        return cls(cfg, Secrets(Path(secrets) if secrets else None), progress)

    @staticmethod
    def configure(
        config: str | Path | None = None,
        *,
        data_dir: str | Path | None = None,
        demo: bool = False,
        backends: Mapping[str, str | tuple[str | None, Mapping[str, Any]]] | None = None,
    ) -> Config:
        """The configuration ``open`` builds a pipeline from."""
        path = locate_config(Path(config) if config is not None else None, demo=demo)
        cfg = load_config(path, demo=demo, data_dir=Path(data_dir) if data_dir else None)
        for stage, choice in (backends or {}).items():
            name, options = (choice, {}) if isinstance(choice, str) else choice
            if name or options:
                cfg = registry.with_backend(cfg, stage, name, **options)
        return cfg

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def query(self) -> str:
        return self.config.search.query

    @cached_property
    def slug(self) -> str:
        return layout.query_slug(self.query)

    @cached_property
    def windows(self) -> list[Window]:
        s = self.config.search
        return list(windows_between(s.start_time, s.end_time, s.freq))

    @cached_property
    def store(self) -> Store:
        return registry.create("storage", self.context)

    @cached_property
    def stream(self) -> Stream:
        return registry.create("stream", self.context)

    @cached_property
    def source(self) -> Source:
        return registry.create("source", self.context)

    def analyzer(self) -> Analyzer:
        return registry.create("sentiment", self.context)

    @cached_property
    def engine(self) -> Engine:
        return registry.create("batch", self.context)

    @cached_property
    def warehouse(self) -> Warehouse:
        return registry.create("warehouse", self.context)

    def keys(self, prefix: str) -> set[str]:
        return set(self.store.list(f"{prefix}/{self.slug}"))

    def close(self) -> None:
        for name in ("source", "stream", "warehouse"):
            backend = self.__dict__.get(name)
            if backend is not None:
                backend.close()
