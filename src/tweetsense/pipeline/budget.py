"""Run budgets: stop ingesting before the posts read or their cost pass a limit.

Each window reserves its worst case (``max_per_window`` posts, each with its own author) before
it is fetched and settles its real usage when it is done, so concurrent windows together can
never pass the limit. A window whose worst case no longer fits is not started; the run stops
cleanly with every finished window staged, and the next run goes on from there.
"""

from __future__ import annotations

import threading
from typing import Any

from tweetsense.errors import ConfigError, TweetsenseError
from tweetsense.sources.cost import Prices, Usage


class BudgetReached(TweetsenseError):
    """The run stopped before a window that could pass a budget; rerunning goes on from there."""

    exit_code = 3

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class Budget:
    """Thread-safe reservations against ``max_posts`` and ``max_cost`` (None: no limit)."""

    def __init__(
        self,
        max_posts: int | None,
        max_cost: float | None,
        prices: Prices,
        per_window: int | None,
    ) -> None:
        if per_window is None:
            raise ConfigError(
                "search.max_per_window: a budget (max_posts or max_cost) needs a per-window "
                "cap to reserve against; set max_per_window to a number"
            )
        self.max_posts = max_posts
        self.max_cost = max_cost
        self.prices = prices
        self.worst = Usage(per_window, per_window)
        self.used = Usage()
        self._reserved = Usage()
        self._lock = threading.Lock()

    def reserve(self) -> bool:
        """Reserves one window's worst case; False when it would not fit."""
        with self._lock:
            posts = self.used.posts + self._reserved.posts + self.worst.posts
            cost = (
                self.used.cost(self.prices)
                + self._reserved.cost(self.prices)
                + self.worst.cost(self.prices)
            )
            if self.max_posts is not None and posts > self.max_posts:
                return False
            # A small tolerance keeps float rounding from refusing a window that fits exactly.
            if self.max_cost is not None and cost > self.max_cost + 1e-9:
                return False
            self._reserved.add(self.worst)
            return True

    def settle(self, usage: Usage | None) -> None:
        """Replaces one reservation by what the window really read (None: unknown, charge it)."""
        with self._lock:
            self._reserved.posts -= self.worst.posts
            self._reserved.users -= self.worst.users
            self.used.add(usage if usage is not None else self.worst)

    @property
    def cost(self) -> float:
        return self.used.cost(self.prices)
