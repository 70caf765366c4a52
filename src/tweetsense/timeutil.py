"""Time handling: UTC parsing and formatting, durations, epoch-aligned windows.

Windows are aligned to the Unix epoch so that an ingestion window is exactly one aggregation
bucket (``epoch_seconds // freq_seconds``), whatever the start time or the local time zone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|hour|d|day)s?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


def parse_duration(value: str | int | timedelta) -> int:
    """Seconds in '15min', '1h', '900s', 900 or a timedelta."""
    if isinstance(value, bool):
        raise ValueError("write a duration such as '15min', not a boolean")
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
    elif isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"cannot read duration {value!r}; write e.g. '15min', '1h' or '900s'")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise ValueError("duration must be positive")
    return seconds


def format_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_utc(value: str | datetime) -> datetime:
    """An aware UTC datetime from ISO-8601 text or a datetime; naive input is taken as UTC."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!s} is out of range once moved to UTC") from None


def format_utc(dt: datetime) -> str:
    """RFC 3339 in UTC with a 'Z', as the X API writes it: 2024-03-01T12:15:00.000Z."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def epoch_seconds(dt: datetime) -> int:
    return math.floor(dt.timestamp())  # floor, not int(): correct before 1970 too


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True, order=True)
class Window:
    """A half-open interval [start, end) of one aggregation bucket."""

    start: datetime
    end: datetime

    @cached_property
    def id(self) -> str:
        """Stable identifier, also the stream partition key suffix: 20240301T1215Z."""
        s = self.start
        return f"{s.year:04d}{s.month:02d}{s.day:02d}T{s.hour:02d}{s.minute:02d}Z"

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    @classmethod
    def containing(cls, dt: datetime, freq_seconds: int) -> Window:
        start = (epoch_seconds(dt) // freq_seconds) * freq_seconds
        return cls(from_epoch(start), from_epoch(start + freq_seconds))

    @classmethod
    def from_id(cls, window_id: str, freq_seconds: int) -> Window:
        start = datetime.strptime(window_id, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        return cls(start, start + timedelta(seconds=freq_seconds))


def windows_between(start: datetime, end: datetime, freq_seconds: int) -> Iterator[Window]:
    """Every epoch-aligned window that overlaps [start, end), in time order."""
    first = (epoch_seconds(start) // freq_seconds) * freq_seconds
    stop = epoch_seconds(end)
    step = timedelta(seconds=freq_seconds)
    at = from_epoch(first)
    # Adding a step is exact in UTC and several times cheaper than a conversion per window.
    for _ in range(first, stop, freq_seconds):
        after = at + step
        yield Window(at, after)
        at = after
