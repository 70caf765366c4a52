"""A rule's value at each window, and the episodes it makes: an episode begins at the first
window at which the rule's condition holds and ends at the first at which it does not."""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tweetsense.alerts.alert import episode_id
from tweetsense.alerts.rules import Rule
from tweetsense.alerts.windows import Row


@dataclass(frozen=True)
class Firing:
    rule: Rule
    start: datetime  # the window at which the episode began
    value: float
    episode: str


@dataclass(frozen=True)
class Scan:
    firings: list[Firing]
    last: datetime | None  # the last window evaluated
    open: str | None  # the episode still going on after it


def reading(rule: Rule, rows: Sequence[Row], i: int) -> tuple[float, bool] | None:
    """The rule's value at ``rows[i]`` and whether its condition holds; None without enough
    windows before it. ``rows`` are the windows that count for the rule."""
    n = rule.windows
    last = rows[i + 1 - n : i + 1] if i + 1 >= n else []
    if rule.kind == "volume_spike":
        b = rule.baseline_windows
        if i + 1 < n + b:
            return None
        base = statistics.median(r.volume for r in rows[i + 1 - n - b : i + 1 - n])
        if base <= 0:
            return None
        value = statistics.fmean(r.volume for r in last) / base
        return value, value >= rule.threshold
    if rule.kind == "net_change":
        if i + 1 < 2 * n:
            return None
        before = rows[i + 1 - 2 * n : i + 1 - n]
        value = statistics.fmean(r.net for r in last) - statistics.fmean(r.net for r in before)
        return value, abs(value) > rule.threshold
    if not last:
        return None
    if rule.kind == "negative_share":
        value = statistics.fmean(r.negative for r in last)
        return value, value > rule.threshold
    value = statistics.fmean(r.net for r in last)  # net_below
    return value, value < rule.threshold


def scan(rule: Rule, rows: Sequence[Row], last: datetime | None, open_episode: str | None) -> Scan:
    """The episodes that begin after window ``last`` (None: from the first), given the episode
    open at ``last``. Windows with fewer than ``min_posts`` posts are skipped: they neither
    begin nor end an episode."""
    counting = [r for r in rows if r.posts >= rule.min_posts]
    first = 0 if last is None else bisect.bisect_right([r.start for r in counting], last)
    firings = []
    for i in range(first, len(counting)):
        result = reading(rule, counting, i)
        if result is None:
            continue
        value, holds = result
        if holds and open_episode is None:
            open_episode = episode_id(rule.name, counting[i].start)
            firings.append(Firing(rule, counting[i].start, value, open_episode))
        elif not holds:
            open_episode = None
    if rows and (last is None or rows[-1].start > last):
        last = rows[-1].start
    return Scan(firings, last, open_episode)
