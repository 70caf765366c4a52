"""The store interface: an object store of keys to bytes, with atomic writes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import ClassVar

from pydantic import BaseModel


class Store(ABC):
    """Holds staging, sentiment, error and output files under '/'-separated keys.

    ``put`` is atomic: a reader sees the old object or the whole new one, never a torn write,
    so a stage killed mid-write leaves nothing half-done behind.
    """

    Settings: ClassVar[type[BaseModel]]

    @abstractmethod
    def put(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; ``KeyError`` when it does not exist."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object if present."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[str]:
        """Keys under ``prefix`` (a folder-like prefix ending without '/'), sorted."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """Where an engine can read the object: a local path or a URL such as s3://..."""

    @abstractmethod
    def writing(self, key: str) -> AbstractContextManager[str]:
        """A local file path to write ``key`` to; it becomes visible, whole, when the block ends
        without error, and is discarded otherwise. For engines that write files themselves."""
