"""The synthetic source's clock: the daily volume curve and the four-day story's sentiment mix.

The story repeats every four days from 2024-03-01T00:00Z, the demo's start, so the demo's four
days show the whole arc: a calm day, good news, bad news, recovery.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
SLOT_MS = 900_000  # the 15-minute step of the volume curve and of the sentiment mix
_STORY_ANCHOR_MS = 1709251200000
_STORY_DAYS = 4


def story_phase(ms: int) -> tuple[int, float]:
    """Day of the four-day story (0..3) and hour of that day for a time in ms."""
    since = ms - _STORY_ANCHOR_MS
    return (since // DAY_MS) % _STORY_DAYS, (since % DAY_MS) / 3_600_000


def bad_news(ms: int) -> float:
    """Intensity 0..1 of the bad-news event: it breaks at 13:00 on day 2 (the third day), fades
    over the evening, and leaves a slight gloom over day 3 until it ends."""
    day, hour = story_phase(ms)
    since = (day - 2) * 24 + hour - 13
    if not 0 <= since < 35:
        return 0.0
    fading = math.exp(-since / 6)
    return fading + 0.1 * (1 - fading) * (1 - since / 35)


def good_news(ms: int) -> float:
    """Intensity 0..1 of the good-news event: an evening of celebration on day 1 (the second
    day)."""
    day, hour = story_phase(ms)
    if day == 1:
        return math.exp(-(((hour - 19) / 3) ** 2))
    return 0.0


def _surge_shape(rise: float, decay: float) -> Callable[[float], float]:
    """A burst of conversation ``since`` hours after news breaks: up within ``rise`` hours,
    then fading over ``decay`` hours; 1.0 at its peak."""
    top = rise * math.log(1 + decay / rise)
    peak = (1 - math.exp(-top / rise)) * math.exp(-top / decay)

    def shape(since: float) -> float:
        if not 0 <= since < 12 * decay:
            return 0.0
        return (1 - math.exp(-since / rise)) * math.exp(-since / decay) / peak

    return shape


# The recall floods the network within minutes and stays loud for an hour or two; the good
# news (announced at 18:00 on day 1) draws a smaller, slower crowd.
_BAD_SURGE = _surge_shape(rise=0.2, decay=1.2)
_GOOD_SURGE = _surge_shape(rise=0.3, decay=1.5)
_BAD_SURGE_VOLUME = 5.0  # extra volume at the peak, in multiples of the day's curve
_GOOD_SURGE_VOLUME = 1.2


def surges(ms: int) -> tuple[float, float]:
    """How strongly (0..1) the bad and the good news burst at a time."""
    day, hour = story_phase(ms)
    return _BAD_SURGE((day - 2) * 24 + hour - 13), _GOOD_SURGE((day - 1) * 24 + hour - 18)


def daily_curve(ms: int) -> float:
    """Relative volume 0.6..1.4: quietest at 07:00 UTC, busiest at 19:00 UTC."""
    hour = (ms % DAY_MS) / 3_600_000
    return 1.0 + 0.4 * math.sin(2 * math.pi * (hour - 13) / 24)


def activity(ms: int) -> float:
    """Relative volume at a time: the daily curve, raised while news breaks and bursting right
    after it breaks."""
    bad_surge, good_surge = surges(ms)
    return daily_curve(ms) * (
        1.0
        + 0.5 * bad_news(ms)
        + 0.3 * good_news(ms)
        + _BAD_SURGE_VOLUME * bad_surge
        + _GOOD_SURGE_VOLUME * good_surge
    )


def mean_activity(start_ms: int, end_ms: int) -> float:
    """Mean of ``activity`` over a window, sampled every 15 minutes."""
    steps = max(1, (end_ms - start_ms) // SLOT_MS)
    width = (end_ms - start_ms) / steps
    return sum(activity(int(start_ms + (i + 0.5) * width)) for i in range(steps)) / steps


@dataclass(frozen=True)
class Mix:
    """Cumulative class thresholds and event intensities for one 15-minute step."""

    cumulative: tuple[float, float, float]  # positive, +negative, +neutral; the rest mixed
    bad: float
    good: float
    surge: float  # 0..1: how hard news is bursting, when reposts of a few posts pile up


def mix_at(ms: int) -> Mix:
    bad = bad_news(ms)
    good = good_news(ms)
    pos, neg, neu, mix = 0.33, 0.21, 0.34, 0.12
    pos += 0.22 * good
    neg += 0.40 * bad
    pos -= 0.22 * bad
    neu -= 0.10 * bad + 0.08 * good
    total = pos + neg + neu + mix
    surge = max(surges(ms))
    return Mix((pos / total, (pos + neg) / total, (pos + neg + neu) / total), bad, good, surge)


TWO_DIGITS = tuple(f"{i:02d}" for i in range(100))
THREE_DIGITS = tuple(f"{i:03d}" for i in range(1000))


def format_ms(ms: int, days: dict[int, str]) -> str:
    """``format_utc`` of a time in ms, without building a datetime per post."""
    day, rest = divmod(ms, DAY_MS)
    prefix = days.get(day)
    if prefix is None:
        prefix = datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%dT")
        days[day] = prefix
    seconds, millis = divmod(rest, 1000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    two = TWO_DIGITS
    return f"{prefix}{two[hours]}:{two[minute]}:{two[sec]}.{THREE_DIGITS[millis]}Z"
