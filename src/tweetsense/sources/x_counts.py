"""X API v2 post counts: how many posts match the query in each window, without reading them.

``GET /2/tweets/counts/recent`` (the last 7 days, answered in one response) and
``GET /2/tweets/counts/all`` (the full archive, 31 days per response, further pages by
``next_token``) answer ``{"data": [{"start", "end", "tweet_count"}], "meta":
{"total_tweet_count", "next_token"?}}``: buckets of one ``granularity`` (minute, hour or day).
The OpenAPI description names the counts ``post_count`` and ``total_post_count``; both
spellings are read. Counts may not exactly match search results: search applies compliance
filtering the counts do not.

Buckets are summed into windows (``sum_buckets``); the replay source reads saved counts
(``twarc2 counts``) through the same function.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tweetsense.errors import TerminalError
from tweetsense.timeutil import Window, epoch_seconds, parse_utc

if TYPE_CHECKING:
    from tweetsense.sources.x_client import XClient

PATHS = {"recent": "/2/tweets/counts/recent", "all": "/2/tweets/counts/all"}
QUERY_MAX = {"recent": 512, "all": 1024}
LIMIT = 300  # requests per 15 minutes, per app, for either endpoint
PAGE_SPAN = timedelta(days=31)  # what one full-archive response covers
RECENT_DAYS = 7

Bucket = tuple[datetime, datetime, int]


def granularity(freq: int) -> str:
    """The coarsest bucket that tiles a window of ``freq`` seconds (whole minutes)."""
    if freq % 86400 == 0:
        return "day"
    if freq % 3600 == 0:
        return "hour"
    return "minute"


def requests_needed(endpoint: str, span: timedelta) -> int:
    """Counts requests for one range of ``span``: recent answers at once, all per 31 days."""
    if span <= timedelta(0):
        return 0
    if endpoint == "recent":
        return 1
    return math.ceil(span / PAGE_SPAN)


def read_bucket(item: Any) -> Bucket:
    """One ``{start, end, tweet_count}`` item; ValueError names what is wrong."""
    if not isinstance(item, dict):
        raise ValueError(f"a bucket is {type(item).__name__}, not an object")
    count = item.get("tweet_count", item.get("post_count"))
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"tweet_count {count!r} is not a whole number")
    try:
        start, end = parse_utc(item["start"]), parse_utc(item["end"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"start/end {item.get('start')!r}/{item.get('end')!r} are not times"
        ) from None
    if end <= start:
        raise ValueError(f"bucket end {item['end']!r} is not after its start")
    return start, end, count


def sum_buckets(buckets: Iterable[Bucket], windows: Sequence[Window]) -> dict[str, int]:
    """Each window's posts (by ``Window.id``): the sum of the buckets inside it.

    A window is left out unless its buckets cover it whole: a bucket crossing a window's edge
    (coarser than the windows, or a first bucket starting mid-window) or a gap would make its
    sum a guess. A bucket seen twice (overlapping files or pages) counts once.
    """
    if not windows:
        return {}
    freq = windows[0].seconds
    wanted = {epoch_seconds(w.start): w for w in windows}
    unique = {(start, end): count for start, end, count in buckets}
    totals: dict[int, int] = {}
    covered: dict[int, int] = {}
    broken: set[int] = set()
    for (start, end), count in unique.items():
        first = epoch_seconds(start) // freq * freq
        last = (epoch_seconds(end) - 1) // freq * freq
        if first != last:
            broken.update(range(first, last + 1, freq))
            continue
        totals[first] = totals.get(first, 0) + count
        covered[first] = covered.get(first, 0) + int((end - start).total_seconds())
    return {
        window.id: totals[key]
        for key, window in wanted.items()
        if key not in broken and covered.get(key) == freq
    }


class CountsClient:
    """Fetches one range's buckets from a counts endpoint, following ``next_token``."""

    def __init__(self, client: XClient, endpoint: str) -> None:
        self.client = client
        self.endpoint = endpoint
        self.requests = 0  # answered requests: each one is billed

    def volumes(self, query: str, windows: Sequence[Window]) -> dict[str, int]:
        """The posts of each window, counted over the one range from the first window's start
        to the last one's end (windows between that are not wanted cost nothing more)."""
        if not windows:
            return {}
        start, end = windows[0].start, windows[-1].end
        buckets = self.buckets(query, start, end, granularity(windows[0].seconds))
        return sum_buckets(buckets, windows)

    def buckets(self, query: str, start: datetime, end: datetime, unit: str) -> list[Bucket]:
        params: dict[str, Any] = {
            "query": query,
            "start_time": _api_time(start),
            "end_time": _api_time(end),
            "granularity": unit,
        }
        found: list[Bucket] = []
        seen: set[str] = set()
        while True:
            body = self.client.get(params)
            self.requests += 1
            data = body.get("data")
            if data is None and body.get("errors"):
                raise TerminalError(f"x_api counts: the API answered {_first_error(body)}")
            try:
                found.extend(read_bucket(item) for item in data or ())
            except ValueError as exc:
                raise TerminalError(
                    f"x_api counts: {exc} in an answer of {self.client.path}; check "
                    "source.base_url points at the X API"
                ) from None
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                return found
            if token in seen:
                raise TerminalError(
                    f"x_api counts: the API sent next_token {token!r} twice; check "
                    "source.base_url points at the X API"
                )
            seen.add(token)
            params["next_token"] = token


def _first_error(body: dict[str, Any]) -> str:
    first = body["errors"][0] if isinstance(body["errors"], list) else body["errors"]
    if isinstance(first, dict):
        text = first.get("detail") or first.get("title") or first.get("message")
        if isinstance(text, str):
            return " ".join(text.split())
    return "errors and no data"


def _api_time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
