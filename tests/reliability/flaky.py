"""Stream and analyzer backends that fail a seeded share of their calls, for tests only.

Registered under test-only names (``flaky_sqlite``, ``flaky_vader``) by ``register()``. Every
fault injected is counted in ``INJECTED`` by kind, so a test can show that faults happened.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tweetsense import registry
from tweetsense.errors import AnalyzerTimeoutError, BackendUnavailableError, RetryableError
from tweetsense.sentiment.base import Score
from tweetsense.sentiment.vader import VaderAnalyzer
from tweetsense.stream.base import Message
from tweetsense.stream.sqlite import SQLiteConsumer, SQLiteStream

if TYPE_CHECKING:
    from tweetsense.registry import Context

INJECTED: Counter[str] = Counter()
_lock = threading.Lock()


def register() -> None:
    registry.register("stream", "flaky_sqlite", "tests.reliability.flaky:FlakySQLiteStream")
    registry.register("sentiment", "flaky_vader", "tests.reliability.flaky:FlakyVader")


class _Dice:
    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.rng = random.Random(seed)

    def roll(self, kinds: Sequence[str]) -> str | None:
        with _lock:
            if self.rng.random() >= self.rate:
                return None
            kind = self.rng.choice(list(kinds))
            INJECTED[kind] += 1
            return kind


class FlakySQLiteStream(SQLiteStream):
    """Publish: refused (503), timed out, or half the batch stored before the connection drops.
    Poll and commit: refused before reaching the log, as a connection that cannot be opened."""

    class Settings(SQLiteStream.Settings):
        failure_rate: float = 0.2
        seed: int = 0

    def __init__(self, settings: FlakySQLiteStream.Settings, context: Context):
        super().__init__(settings, context)
        self.dice = _Dice(settings.failure_rate, settings.seed)

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        kind = self.dice.roll(("publish-503", "publish-timeout", "publish-partial"))
        if kind == "publish-partial":
            super().publish(messages[: max(1, len(messages) // 2)])
            raise BackendUnavailableError("stream: connection dropped mid-batch")
        if kind:
            raise BackendUnavailableError(f"stream: {kind}")
        super().publish(messages)

    def consumer(self, group: str) -> SQLiteConsumer:
        return _FlakyConsumer(self, group)


class _FlakyConsumer(SQLiteConsumer):
    stream: FlakySQLiteStream

    def __init__(self, stream: FlakySQLiteStream, group: str) -> None:
        super().__init__(stream, group)
        self._dice = stream.dice

    def poll(self, max_messages: int = 100, timeout: float = 0.0) -> list[Message]:
        if kind := self._dice.roll(("poll-429", "poll-503")):
            raise BackendUnavailableError(f"stream: {kind}")
        return super().poll(max_messages, timeout)

    def commit(self, messages: Sequence[Message]) -> None:
        if kind := self._dice.roll(("commit-503", "commit-refused")):
            raise BackendUnavailableError(f"stream: {kind}")
        super().commit(messages)


class FlakyVader(VaderAnalyzer):
    """VADER that times out, answers 5xx, drops the connection or returns a partial batch."""

    name = "vader"  # the same sentiment files as VADER
    cpu_bound = False

    class Settings(VaderAnalyzer.Settings):
        failure_rate: float = 0.2
        seed: int = 0

    def __init__(self, settings: FlakyVader.Settings, context: Context | None = None):
        super().__init__(settings, context)
        self.dice = _Dice(settings.failure_rate, settings.seed)

    def analyze(self, texts: Sequence[str]) -> list[Score]:
        kind = self.dice.roll(("analyze-timeout", "analyze-5xx", "analyze-drop", "analyze-partial"))
        if kind == "analyze-timeout":
            raise AnalyzerTimeoutError("analyzer: no answer in 1s")
        if kind == "analyze-5xx":
            raise RetryableError("analyzer: 503 Service Unavailable")
        if kind == "analyze-drop":
            raise ConnectionResetError("analyzer: connection reset by peer")
        scores = super().analyze(texts)
        return scores[:-1] if kind == "analyze-partial" and scores else scores
