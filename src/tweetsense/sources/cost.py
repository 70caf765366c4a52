"""What a source charges: prices per read, and the reads a source's pages hold.

Every source speaks the X API v2 page shape, so the reads are counted the same way for all:
posts (``data``) and their authors (``includes.users``), which pay-per-use X access bills per
item, and the counts requests (``Source.volumes``), which it bills per request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Prices:
    """What one read costs, in dollars."""

    post: float = 0.0
    user: float = 0.0
    count: float = 0.0  # one counts request


@dataclass
class Usage:
    """Resources read: posts (``data``), users (``includes.users``) and counts requests."""

    posts: int = 0
    users: int = 0
    counts: int = 0

    @classmethod
    def of_pages(cls, pages: Iterable[dict[str, Any]]) -> Usage:
        usage = cls()
        for page in pages:
            usage.posts += len(page.get("data") or ())
            usage.users += len((page.get("includes") or {}).get("users") or ())
        return usage

    def cost(self, prices: Prices) -> float:
        return self.posts * prices.post + self.users * prices.user + self.counts * prices.count

    def add(self, other: Usage) -> None:
        self.posts += other.posts
        self.users += other.users
        self.counts += other.counts


@dataclass(frozen=True)
class Estimate:
    """What fetching ``windows`` windows needs at most: requests, reads, dollars, time."""

    windows: int
    requests: int | None  # None: unbounded (no per-window cap)
    posts: int | None
    users: int | None
    post_cost: float | None
    user_cost: float | None
    min_seconds: float | None
    limit: int  # the rate limit: requests per period (seconds)
    period: float
    count_requests: int = 0  # counts requests for the windows' volumes, besides ``requests``
    count_cost: float = 0.0

    @property
    def cost(self) -> float | None:
        if self.post_cost is None or self.user_cost is None:
            return None
        return self.post_cost + self.user_cost + self.count_cost
