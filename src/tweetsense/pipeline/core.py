"""The pipeline: the configured backends of every stage, built lazily, and the stages on them."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from tweetsense import layout, registry
from tweetsense.config import Config
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
        self.config = config
        self.context = registry.Context(config, secrets or Secrets())
        self.progress: Progress = progress or SilentProgress()

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
