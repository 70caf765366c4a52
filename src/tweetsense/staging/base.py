"""The store interface: an object store of keys to bytes, with atomic writes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from pydantic import BaseModel


class Store(ABC):
    """Holds staging, sentiment, error and output files under '/'-separated keys.

    ``put`` is atomic: a reader sees the old object or the whole new one, never a torn write,
    so a stage killed mid-write leaves nothing half-done behind.
    """

    Settings: ClassVar[type[BaseModel]]
    # Its reads and writes wait on a network, which other threads can use meanwhile.
    remote: ClassVar[bool] = True

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
    def versions(self, prefix: str) -> dict[str, str]:
        """Every key under ``prefix`` and an opaque version that changes whenever the object is
        written again: how a batch finds the files changed since the last one."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """Where an engine can read the object: a local path or a URL such as s3://..."""

    @abstractmethod
    def writing(self, key: str) -> AbstractContextManager[str]:
        """A local file path to write ``key`` to; it becomes visible, whole, when the block ends
        without error, and is discarded otherwise. For engines that write files themselves."""

    def filesystem(self) -> Any:
        """An fsspec filesystem that opens this store's ``uri``s, for engines that need one
        registered (DuckDB); None when ``uri`` gives local paths."""
        return None

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and an opaque version for ``put_if``; None when it is absent."""
        raise NotImplementedError(f"{type(self).__name__} has no conditional writes")

    def put_if(self, key: str, data: bytes, version: str | None) -> str | None:
        """Write only if the object is still at ``version`` (None: only if it is absent).
        Returns the new version, or None when another writer changed it first."""
        raise NotImplementedError(f"{type(self).__name__} has no conditional writes")

    def check(self) -> str:
        """One line saying the store is usable; raises a TweetsenseError saying why not."""
        return "ok: nothing to check"
