"""A rate limiter shared by every thread that calls one X API endpoint.

X counts requests per app and endpoint in fixed windows and reports the state of the current
window on every response (``x-rate-limit-limit``, ``-remaining``, ``-reset`` in epoch seconds).
The limiter spends a local allowance that starts at one request (a previous run may have used
part of the window) and is corrected by every response's headers, so concurrent threads never
send more than the server said is left. When the allowance is spent, threads sleep until the
reset time the server announced, then the window's full limit is available again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# One limiter per (base URL, endpoint, token fingerprint): limits are per app and endpoint,
# so every source instance in the process that calls the same endpoint must share it.
_SHARED: dict[tuple[str, ...], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


@dataclass(frozen=True)
class RateLimitHeaders:
    limit: int
    remaining: int
    reset: float

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders | None:
        try:
            return cls(
                int(headers["x-rate-limit-limit"]),
                int(headers["x-rate-limit-remaining"]),
                float(headers["x-rate-limit-reset"]),
            )
        except (KeyError, ValueError):
            return None


class RateLimiter:
    """Grants requests within the server's limit; ``acquire`` blocks until one may be sent.

    ``margin`` is added to every reset time (clock skew between us and the server);
    ``min_interval`` spaces consecutive requests (the full-archive search's 1 request/s).
    """

    def __init__(
        self,
        default_limit: int,
        period: float,
        *,
        margin: float = 1.0,
        min_interval: float = 0.0,
        max_wait: float = 960.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = default_limit
        self.period = period
        self.margin = margin
        self.min_interval = min_interval
        self.max_wait = max_wait
        self._clock = clock
        self._cond = threading.Condition()
        # Until the first response tells the truth, one request at a time: a previous run may
        # have spent most of the current window.
        self._remaining = 1
        self._reset: float | None = None
        self._known = False
        self._in_flight = 0
        self._last_sent = 0.0
        self.waited = 0.0

    def acquire(self, stop: threading.Event | None = None) -> None:
        with self._cond:
            while True:
                if stop is not None and stop.is_set():
                    raise InterruptedError("stopped while waiting for the rate limit")
                now = self._clock()
                if self._reset is not None and now >= self._reset + self.margin:
                    # The server's window has rolled over: its whole limit is available again,
                    # less requests still in flight that the server may count in the new one.
                    self._remaining = max(0, self.limit - self._in_flight) if self._known else 1
                    self._reset = None
                gap = self._last_sent + self.min_interval - now
                if self._remaining > 0 and gap <= 0 and (self._known or self._in_flight == 0):
                    self._remaining -= 1
                    self._in_flight += 1
                    self._last_sent = now
                    return
                if self._remaining > 0 and gap > 0:
                    delay = gap
                elif self._reset is not None:
                    delay = self._reset + self.margin - now
                else:
                    delay = 0.05  # waiting for the first response's headers
                delay = min(max(delay, 0.001), 1.0)
                self.waited += delay
                self._cond.wait(delay)

    def release(self, headers: RateLimitHeaders | None, *, throttled: bool = False) -> None:
        """Records a response: its rate-limit headers (if any), and whether it was a 429."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            if headers is not None:
                # A reset far away (a usage cap, a skewed clock) is waited for in capped steps.
                reset = min(headers.reset, self._clock() + self.max_wait)
                headers = RateLimitHeaders(headers.limit, headers.remaining, reset)
                self.limit = headers.limit
                if self._reset is None or headers.reset > self._reset:
                    # First word about a new window: requests still in flight were sent in it
                    # too, unless the server counted them already; assume the worst.
                    self._reset = headers.reset
                    self._remaining = max(0, headers.remaining - self._in_flight)
                elif headers.reset == self._reset:
                    self._remaining = min(self._remaining, headers.remaining)
                self._known = True
                # A 429 whose headers still show requests left is not this window's limit
                # (a usage cap, a burst rule): the thread that got it waits, the others go on.
            elif throttled:
                self._remaining = 0
                self._reset = self._clock() + self.period
            self._cond.notify_all()

    def cancel(self) -> None:
        """The request was never answered (timeout, dropped connection); it may have counted."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._cond.notify_all()


def shared_limiter(key: tuple[str, ...], factory: Callable[[], RateLimiter]) -> RateLimiter:
    with _SHARED_LOCK:
        limiter = _SHARED.get(key)
        if limiter is None:
            limiter = _SHARED[key] = factory()
        return limiter
