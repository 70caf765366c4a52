"""Runs the configured analyzer over many texts: in-process, or one copy per worker process
for CPU-bound local models (VADER is pure Python, so processes are what use the cores)."""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tweetsense import registry
from tweetsense.config import Config, SentimentSection
from tweetsense.errors import RetryableError
from tweetsense.sentiment.base import Analyzer, Score

_worker_analyzer: Analyzer | None = None
PARENT_CHECK_SECONDS = 1.0


def _init_worker(config: dict[str, Any], section: dict[str, Any], parent: int) -> None:
    global _worker_analyzer
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    context = registry.Context(Config.model_validate(config))
    _worker_analyzer = registry.create(
        "sentiment", context, SentimentSection.model_validate(section)
    )


def _exit_with(parent: int) -> None:
    """Ends this worker once its parent is gone: a consumer killed with SIGKILL cannot shut its
    pool down, and its workers, each holding a model, would otherwise live on."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _score_in_worker(texts: list[str]) -> list[tuple[str, float, float, float, float]]:
    assert _worker_analyzer is not None
    # Plain tuples: a frozen dataclass takes several times as long to pickle and unpickle.
    return [
        (s.label, s.positive, s.negative, s.neutral, s.mixed)
        for s in _worker_analyzer.analyze(texts)
    ]


class Scorer:
    """Scores with ``section`` (default: the primary analyzer), named by its label."""

    def __init__(
        self, config: Config, context: registry.Context, section: SentimentSection | None = None
    ):
        section = section or config.sentiment
        self.batch_size = section.batch_size
        cls = registry.backend_class("sentiment", section.type)
        # A test subclass registered under another type keeps its class name, as before.
        self.name: str = section.name or cls.name
        self.workers = section.workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._analyzer: Analyzer | None = None
        if cls.cpu_bound and self.workers > 1:
            self._pool = ProcessPoolExecutor(
                self.workers,
                # spawn: forking a process that holds SQLite/DuckDB handles is not safe.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(
                    config.model_dump(mode="json"),
                    section.model_dump(mode="json"),
                    os.getpid(),
                ),
            )
        else:
            self._analyzer = registry.create("sentiment", context, section)

    def score(self, groups: Sequence[Sequence[str]]) -> list[list[Score]]:
        """Scores for each group of texts, grouped the same way."""
        texts = [t for group in groups for t in group]
        if not texts:
            return [[] for _ in groups]
        if self._pool is not None:
            size = max(1, min(self.batch_size, math.ceil(len(texts) / self.workers)))
            chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
            flat = [Score(*s) for part in self._pool.map(_score_in_worker, chunks) for s in part]
        else:
            assert self._analyzer is not None
            flat = []
            for i in range(0, len(texts), self.batch_size):
                flat.extend(self._analyzer.analyze(texts[i : i + self.batch_size]))
        if len(flat) != len(texts):
            # A partial answer must not shift the scores of one post onto another.
            raise RetryableError(
                f"sentiment.type {self.name}: {len(flat)} scores for {len(texts)} texts"
            )
        out, start = [], 0
        for group in groups:
            out.append(flat[start : start + len(group)])
            start += len(group)
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        if self._analyzer is not None:
            self._analyzer.close()
