"""The X API cost model: requests, posts, dollars and time a search needs at most.

Pay-per-use access bills every post read and every user read (the authors in
``includes.users``); the worst case is a full window whose posts all have different authors.
The minimum time follows from the rate limit: ``limit`` requests per ``period`` and, for the
full-archive search, at least ``min_interval`` seconds between two requests. The counts
requests (one per range, see ``x_counts``) are billed per request and go first, under the
counts endpoints' own limit.
"""

from __future__ import annotations

import math

from tweetsense.sources import x_counts
from tweetsense.sources.cost import Estimate, Prices

MIN_PAGE = 10  # the smallest max_results the search endpoints accept


def shares(cap: int, parts: int) -> list[int]:
    """``cap`` posts split as evenly as possible over ``parts`` sub-windows."""
    base, extra = divmod(cap, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def page_size(want: int, page_max: int) -> int:
    return min(page_max, max(MIN_PAGE, want))


def requests_per_window(cap: int, sample: int, page_max: int) -> int:
    return sum(
        math.ceil(share / page_size(share, page_max)) for share in shares(cap, sample) if share
    )


def min_seconds(requests: int, limit: int, period: float, min_interval: float) -> float:
    """The least time ``requests`` take: whole rate-limit windows waited, or the spacing."""
    if requests <= 0:
        return 0.0
    return max((requests - 1) // limit * period, (requests - 1) * min_interval)


def estimate(
    windows: int,
    cap: int | None,
    *,
    sample: int,
    page_max: int,
    prices: Prices,
    limit: int,
    period: float,
    min_interval: float,
    count_requests: int = 0,
) -> Estimate:
    counts = {"count_requests": count_requests, "count_cost": count_requests * prices.count}
    if cap is None:
        return Estimate(windows, None, None, None, None, None, None, limit, period, **counts)
    requests = windows * requests_per_window(cap, sample, page_max)
    posts = windows * cap
    return Estimate(
        windows=windows,
        requests=requests,
        posts=posts,
        users=posts,
        post_cost=posts * prices.post,
        user_cost=posts * prices.user,
        min_seconds=min_seconds(requests, limit, period, min_interval)
        + min_seconds(count_requests, x_counts.LIMIT, period, 0.0),
        limit=limit,
        period=period,
        **counts,
    )
