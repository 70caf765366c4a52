"""Bounded retries of one backend call that failed with a RetryableError, each one logged, and
the exponential backoff every retry loop of the project waits by."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tweetsense.errors import RetryableError

log = logging.getLogger("tweetsense")
T = TypeVar("T")

ATTEMPTS = 5
BACKOFF = 0.2  # seconds before the first retry; doubles each time, capped at MAX_BACKOFF
MAX_BACKOFF = 5.0


def backoff_delay(attempt: int, first: float, cap: float, *, jitter: bool = False) -> float:
    """Seconds to wait before retry ``attempt`` (1 for the first): ``first``, doubled for each
    retry after it, at most ``cap``. With ``jitter``, a random point in the upper half of that,
    so that clients that failed together do not all retry at the same moment."""
    delay = min(first * 2 ** (attempt - 1), cap)
    return random.uniform(delay / 2, delay) if jitter else delay


def with_retries(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, called again after a RetryableError at most ``ATTEMPTS - 1`` times.

    Only calls that are safe to repeat go through here: a repeated publish can leave a record
    twice in the stream, which the consumer skips by its input digest."""
    attempts = ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return fn(*args, **kwargs)
        except RetryableError as exc:
            if attempt == attempts:
                raise
            delay = backoff_delay(attempt, BACKOFF, MAX_BACKOFF)
            log.warning(
                "%s failed (attempt %d of %d: %s); retrying in %.1fs",
                what,
                attempt,
                attempts,
                exc,
                delay,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")
