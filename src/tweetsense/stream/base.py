"""The stream interface: a durable log of window records with consumer checkpoints.

Delivery is at-least-once: a consumer commits only after the sentiment file of a record is
written, so a consumer killed in between sees the record again and rewrites the same file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel


@dataclass(frozen=True)
class Message:
    key: str
    payload: bytes
    position: str  # backend's offset or sequence number, opaque to callers
    # How many times the group has handed this record out, where the backend counts it (1 where
    # it cannot, as on Kafka): lets the consumer give up on a record that keeps killing workers.
    deliveries: int = 1


class Consumer(ABC):
    @abstractmethod
    def poll(self, max_messages: int = 100, timeout: float = 0.0) -> list[Message]:
        """Up to ``max_messages`` messages not yet polled in this session, waiting at most
        ``timeout`` seconds for the first one; an empty list when none arrived."""

    @abstractmethod
    def commit(self, messages: Sequence[Message]) -> None:
        """Mark ``messages`` processed. Call in poll order: committing a message also marks every
        earlier message of its partition."""

    @abstractmethod
    def lag(self) -> int | None:
        """Messages not yet committed by this group, when the backend can tell."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection."""


class Stream(ABC):
    Settings: ClassVar[type[BaseModel]]

    @abstractmethod
    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Append (partition key, payload) pairs durably; returns once all are stored."""

    @abstractmethod
    def consumer(self, group: str) -> Consumer:
        """A consumer of ``group``; a new group starts at the oldest retained message."""

    def check(self) -> str:
        """One line saying the stream is usable; raises a TweetsenseError saying why not."""
        return "ok: nothing to check"

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
