"""The warehouse interface: idempotent loads of the outputs into ``tweet`` and ``sentiment``
(and the analysis tables), and the small read API that dashboards and exports use instead of
their own SQL."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from tweetsense.warehouse.schema import (
    AGREEMENT,
    ANALYSIS_TABLES,
    DRIVER,
    INSIGHT_TABLES,
    SENTIMENT,
    SENTIMENT_BY_ANALYZER,
    SENTIMENT_SPIKE,
    TABLES,
    TWEET,
    TWEET_SCORE,
    Table,
)

# Every table a load fills, in the order it loads them.
LOADED_TABLES = (*TABLES, *ANALYSIS_TABLES, *INSIGHT_TABLES)
# Tables whose rows of a loaded window are all replaced, not only those with a key in the file:
# a term no longer a driver of a window, a window no longer a spike, or a label pair no longer
# given, leaves no row behind. The windows are those of the load's ``sentiment`` file.
BY_WINDOW = frozenset(t.name for t in (AGREEMENT, *INSIGHT_TABLES))
# Tables replaced by key whose rows in a loaded window that the file no longer holds are
# deleted too: a post no longer placed there (refetched without it, edited, placed elsewhere).
PRUNED = frozenset(t.name for t in (TWEET, TWEET_SCORE))


@dataclass(frozen=True)
class LoadResult:
    tweets: int  # rows of ``tweet`` for the query after the load
    windows: int  # rows of ``sentiment`` for the query after the load
    location: str  # where a person or SQL client finds the tables (no secrets)
    tweet_scores: int = 0  # rows of ``tweet_score`` for the query after the load
    analyzer_windows: int = 0  # rows of ``sentiment_by_analyzer`` for the query after the load
    drivers: int = 0  # rows of ``driver`` for the query after the load
    spikes: int = 0  # rows of ``sentiment_spike`` for the query after the load

    @classmethod
    def of(cls, counts: Mapping[str, int], location: str) -> LoadResult:
        """From the row counts of ``LOADED_TABLES``, by table name."""
        return cls(
            counts[TWEET.name],
            counts[SENTIMENT.name],
            location,
            counts[TWEET_SCORE.name],
            counts[SENTIMENT_BY_ANALYZER.name],
            counts[DRIVER.name],
            counts[SENTIMENT_SPIKE.name],
        )


def tables_to_load(files: Mapping[str, str]) -> list[Table]:
    """The tables of ``files`` (table name -> Parquet URI), in load order. ``tweet`` and
    ``sentiment`` are required; the analysis and insight tables are absent from outputs of
    older batches."""
    known = {t.name for t in LOADED_TABLES}
    unknown = sorted(set(files) - known)
    missing = [t.name for t in TABLES if t.name not in files]
    if unknown or missing:
        raise ValueError(f"load: unknown tables {unknown} or missing tables {missing}")
    return [t for t in LOADED_TABLES if t.name in files]


class Warehouse(ABC):
    """Loads and reads the tables of ``schema``.

    Reads never fail because nothing was loaded yet: they return no rows. Times go in and come
    out as timezone-aware UTC datetimes; ranges are ``[start, end)`` on ``time_window``, and a
    bound left as ``None`` is open.
    """

    Settings: ClassVar[type[BaseModel]]

    @abstractmethod
    def load(self, query: str, files: Mapping[str, str]) -> LoadResult:
        """Replace the rows of ``query`` that the outputs hold, by key, in one transaction.

        ``files`` maps a table name to the Parquet URI of its rows (``tables_to_load``): e.g.
        ``tweet`` by (query, tweet_id), ``sentiment`` by (query, time_window). A table left
        out gets no rows."""

    @abstractmethod
    def loaded_windows(self, query: str) -> set[datetime]:
        """Window starts of ``query`` present in ``sentiment``."""

    @abstractmethod
    def queries(self) -> list[str]:
        """Every query with rows in ``sentiment``, sorted."""

    @abstractmethod
    def windows(
        self, query: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        """``sentiment`` rows of ``query`` in time order, one dict per window, keyed by column."""

    @abstractmethod
    def tweets(
        self, query: str, window_start: datetime, limit: int = 20, label: str | None = None
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` ``tweet`` rows of one window (oldest first), optionally of one label."""

    @abstractmethod
    def summary(
        self, query: str, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, Any]:
        """Totals over a range: ``windows``, ``tweets``, ``first_window``, ``last_window`` and
        ``shares``, the fraction of posts per label (keys of ``contracts.LABELS``; all 0 without
        posts), and ``averages``, the mean score per label over the posts (weighted by window
        counts)."""

    def window_series(
        self, query: str, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, list[Any]]:
        """``windows`` by column, for charts of many windows: ``time`` (epoch seconds) and one
        list per ``sentiment`` column other than ``query`` and ``time_window``."""
        rows = self.windows(query, start, end)
        names = [c for c in SENTIMENT.column_names if c not in ("query", "time_window")]
        series: dict[str, list[Any]] = {"time": [int(r["time_window"].timestamp()) for r in rows]}
        series.update({k: [r[k] for r in rows] for k in names})
        return series

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def check(self) -> str:
        """One line saying the warehouse opens; raises a TweetsenseError saying why not."""
        self.loaded_windows("tweetsense doctor")
        return "ok: opens"
