"""The warehouse interface: idempotent loads of the outputs into ``tweet`` and ``sentiment``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel


@dataclass(frozen=True)
class LoadResult:
    tweets: int  # rows of ``tweet`` for the query after the load
    windows: int  # rows of ``sentiment`` for the query after the load
    location: str  # where a person or SQL client finds the tables (no secrets)


class Warehouse(ABC):
    Settings: ClassVar[type[BaseModel]]

    @abstractmethod
    def load(self, query: str, tweets_uri: str, windows_uri: str) -> LoadResult:
        """Replace the rows of ``query`` that the outputs hold, by key, in one transaction:
        ``tweet`` by (query, tweet_id), ``sentiment`` by (query, time_window)."""

    @abstractmethod
    def loaded_windows(self, query: str) -> set[datetime]:
        """Window starts of ``query`` present in ``sentiment``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
