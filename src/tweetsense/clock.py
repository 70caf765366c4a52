"""The time a run takes as now: the system's, or a fake one that tests and demos set.

``TWEETSENSE_FAKE_NOW=2024-03-01T02:00:00Z`` starts a process's clock at that instant, and each
wait moves it forward at once instead of sleeping: a live run then goes through its steps as
fast as they run, with the same windows a real one would have.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Protocol

from tweetsense.errors import ConfigError
from tweetsense.timeutil import parse_utc

FAKE_NOW_ENV = "TWEETSENSE_FAKE_NOW"


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float, stop: threading.Event) -> bool:
        """Wait ``seconds``; False when ``stop`` was set first."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float, stop: threading.Event) -> bool:
        return not stop.wait(max(seconds, 0.0))


class FakeClock:
    def __init__(self, start: datetime):
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float, stop: threading.Event) -> bool:
        if stop.is_set():
            return False
        with self._lock:
            self._now += timedelta(seconds=max(seconds, 0.0))
        return True


@cache
def current() -> Clock:
    """The clock in effect for this process."""
    fake = os.environ.get(FAKE_NOW_ENV)
    if not fake:
        return SystemClock()
    try:
        return FakeClock(parse_utc(fake))
    except ValueError:
        raise ConfigError(
            f"environment variable {FAKE_NOW_ENV}: {fake!r} is not a UTC time; "
            "write e.g. 2024-03-01T02:00:00Z or unset it"
        ) from None
