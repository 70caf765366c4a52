"""X API v2 search as a source: each window's raw search response pages.

``endpoint: recent`` calls ``GET /2/tweets/search/recent`` (last 7 days), ``endpoint: all``
``GET /2/tweets/search/all`` (full archive). Pages are followed by ``next_token`` until the
window's cap is reached or the API has no more; every page is kept as the API sent it (with
``includes.users`` for the author join and any ``errors`` beside or instead of ``data``, which
the ingest stage counts: see ``api_errors``), except that a last page holding more posts than
the cap allows is cut to the cap. With ``sample: N`` a capped window is fetched as N equal
sub-windows with an equal share of the cap each, because the search returns the newest posts
first and a capped window would otherwise only cover its end.

With ``counts`` on, ``volumes`` asks the matching counts endpoint how many posts each window
holds (see ``x_counts``), through its own rate limiter and at its own price per request.

The search and the settings are checked before any request (``check_search``); all threads
share one rate limiter per endpoint and token (see ``x_ratelimit``); the HTTP details are in
``x_client``.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tweetsense.config import SearchConfig
from tweetsense.errors import ConfigError, TerminalError
from tweetsense.sources import x_cost, x_counts
from tweetsense.sources.base import Page, Source
from tweetsense.sources.cost import Estimate, Prices
from tweetsense.sources.x_client import XClient, token_fingerprint
from tweetsense.sources.x_counts import CountsClient
from tweetsense.sources.x_ratelimit import RateLimiter, shared_limiter
from tweetsense.timeutil import Window, format_utc, windows_between

if TYPE_CHECKING:
    from tweetsense.registry import Context

TOKEN_SECRET = "X_BEARER_TOKEN"
EXPANSIONS = "author_id,referenced_tweets.id"
# note_tweet: the whole text of a long post, whose `text` is cut short (for included posts too).
TWEET_FIELDS = (
    "created_at,lang,author_id,referenced_tweets,conversation_id,public_metrics,note_tweet"
)
# Named entities, hashtags, mentions, links and topics: what drivers are made of.
ENTITY_FIELDS = "entities,context_annotations"
# The API returns at most this many posts a page when context_annotations are requested.
ENTITIES_PAGE_MAX = 100
USER_FIELDS = "username,name,verified,location"
RATE_PERIOD = 900.0  # X counts requests per 15 minutes


class _Endpoint(BaseModel):
    path: str
    page_max: int
    query_max: int
    limit: int  # requests per 15 minutes, per app
    min_interval: float
    days: int | None  # how far back it reaches


ENDPOINTS = {
    "recent": _Endpoint(
        path="/2/tweets/search/recent",
        page_max=100,
        query_max=512,
        limit=450,
        min_interval=0.0,
        days=7,
    ),
    "all": _Endpoint(
        path="/2/tweets/search/all",
        page_max=500,
        query_max=1024,
        limit=300,
        min_interval=1.0,
        days=None,
    ),
}
# The API refuses an end_time later than about 10 s before the request.
END_LAG = timedelta(seconds=10)
# The oldest start_time the full-archive search accepts.
ARCHIVE_START = datetime(2006, 3, 21, 0, 0, 1, tzinfo=UTC)
# Recent search checks 7 days at request time; the margin leaves the run time to get there.
RECENT_MARGIN = timedelta(minutes=5)


class XApiSource(Source):
    """Posts from the X API v2 search; needs the secret ``X_BEARER_TOKEN``."""

    name: ClassVar[str] = "x_api"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")

        endpoint: Literal["recent", "all"] = "recent"
        base_url: str = Field(default="https://api.x.com", pattern=r"^https?://")
        page_size: int | None = Field(
            default=None, ge=10, le=500, description="max_results per request; default the most"
        )
        sample: int = Field(default=1, ge=1, le=90, description="sub-windows per capped window")
        timeout: float = Field(default=30.0, gt=0, description="seconds per request")
        max_retries: int = Field(default=8, ge=0)
        backoff: float = Field(default=1.0, ge=0, description="first retry delay, seconds")
        max_backoff: float = Field(default=60.0, ge=0)
        max_rate_wait: float = Field(default=960.0, ge=0, description="cap on a 429 wait")
        rate_limit: int | None = Field(default=None, ge=1, description="requests per period")
        rate_period: float = Field(default=RATE_PERIOD, gt=0)
        rate_margin: float = Field(default=1.0, ge=0, description="seconds added to a reset")
        min_interval: float | None = Field(default=None, ge=0)
        price_per_post: float = Field(default=0.005, ge=0)
        price_per_user: float = Field(default=0.010, ge=0)
        entities: bool = Field(
            default=True,
            description="request entities and context_annotations (named entities, hashtags, "
            "mentions, links, topics); the API then returns at most 100 posts a page, so the "
            "full-archive search needs more requests; false: up to 500",
        )
        counts: bool = Field(
            default=True,
            description="count each window's matching posts (true volume) with the counts "
            "endpoint, billed per request",
        )
        counts_endpoint: Literal["recent", "all"] | None = Field(
            default=None, description="recent (7 days) or all (full archive); default: endpoint"
        )
        price_per_count_recent: float = Field(default=0.005, ge=0, description="per request")
        price_per_count_all: float = Field(default=0.010, ge=0, description="per request")

        @model_validator(mode="after")
        def _page_size(self) -> XApiSource.Settings:
            top = ENDPOINTS[self.endpoint].page_max
            if self.page_size is not None and self.page_size > top:
                raise ValueError(f"page_size: the {self.endpoint} search returns at most {top}")
            if self.entities and self.page_size is not None and self.page_size > ENTITIES_PAGE_MAX:
                raise ValueError(
                    f"page_size: with entities: true the API returns at most {ENTITIES_PAGE_MAX} "
                    "posts a page; lower page_size or set entities: false"
                )
            return self

        @property
        def api(self) -> _Endpoint:
            return ENDPOINTS[self.endpoint]

        @property
        def page_max(self) -> int:
            top = min(self.api.page_max, ENTITIES_PAGE_MAX) if self.entities else self.api.page_max
            return self.page_size or top

        @property
        def tweet_fields(self) -> str:
            return f"{TWEET_FIELDS},{ENTITY_FIELDS}" if self.entities else TWEET_FIELDS

        @property
        def counts_api(self) -> str:
            return self.counts_endpoint or self.endpoint

        @property
        def prices(self) -> Prices:
            count = {"recent": self.price_per_count_recent, "all": self.price_per_count_all}
            return Prices(
                self.price_per_post,
                self.price_per_user,
                count[self.counts_api] if self.counts else 0.0,
            )

        @property
        def limit(self) -> int:
            return self.rate_limit or self.api.limit

        @property
        def interval(self) -> float:
            return self.api.min_interval if self.min_interval is None else self.min_interval

    def __init__(self, settings: Settings, context: Context) -> None:
        self.settings = settings
        self.search = context.search
        check_search(settings, context.search)
        token = context.secrets.require(TOKEN_SECRET, "the x_api source")
        self.client = _client(
            settings,
            token,
            settings.api.path,
            limit=settings.limit,
            min_interval=settings.interval,
            connections=max(context.config.source.concurrency, 1),
        )
        self.counter: CountsClient | None = None
        if settings.counts:
            # The counts endpoints have their own limits, so their own limiter and client.
            counts = _client(
                settings,
                token,
                x_counts.PATHS[settings.counts_api],
                limit=x_counts.LIMIT,
                min_interval=0.0,
                connections=1,
            )
            self.counter = CountsClient(counts, settings.counts_api)

    # -- the Source interface ---------------------------------------------------------------

    def fetch_window(self, query: str, window: Window, max_posts: int | None) -> list[Page]:
        if max_posts is None or self.settings.sample == 1:
            return self._fetch_range(query, window.start, window.end, max_posts)
        pages: list[Page] = []
        for (start, end), share in zip(
            sub_windows(window, self.settings.sample),
            x_cost.shares(max_posts, self.settings.sample),
            strict=True,
        ):
            if share:
                pages.extend(self._fetch_range(query, start, end, share))
        return pages

    def volumes(self, query: str, windows: list[Window]) -> dict[str, int] | None:
        """Each window's matching posts by the counts endpoint; None with ``counts: false``."""
        if self.counter is None:
            return None
        return self.counter.volumes(query, windows)

    @property
    def count_requests(self) -> int:
        return 0 if self.counter is None else self.counter.requests

    def cancel(self) -> None:
        """Makes every fetch in progress stop at its next request or wait."""
        self.client.cancelled.set()
        if self.counter is not None:
            self.counter.client.cancelled.set()

    def close(self) -> None:
        self.client.close()
        if self.counter is not None:
            self.counter.client.close()

    @property
    def prices(self) -> Prices:
        return self.settings.prices

    # -- dry run ----------------------------------------------------------------------------

    @classmethod
    def estimate(cls, settings: Settings, search: SearchConfig, windows: int) -> Estimate:
        """Requests, posts, cost and time for ``windows`` windows; checks the search first."""
        check_search(settings, search)
        counts = 0
        if settings.counts and windows:
            # At most one range over the whole search: the windows to fetch lie inside it.
            every = list(windows_between(search.start_time, search.end_time, search.freq))
            counts = x_counts.requests_needed(settings.counts_api, every[-1].end - every[0].start)
        return x_cost.estimate(
            windows,
            search.max_per_window,
            sample=settings.sample,
            page_max=settings.page_max,
            prices=settings.prices,
            limit=settings.limit,
            period=settings.rate_period,
            min_interval=settings.interval,
            count_requests=counts,
        )

    # -- pagination -------------------------------------------------------------------------

    def _fetch_range(
        self, query: str, start: datetime, end: datetime, cap: int | None
    ) -> list[Page]:
        params: dict[str, Any] = {
            "query": query,
            "start_time": _api_time(start),
            "end_time": _api_time(end),
            "expansions": EXPANSIONS,
            "tweet.fields": self.settings.tweet_fields,
            "user.fields": USER_FIELDS,
        }
        pages: list[Page] = []
        got = 0
        seen: set[str] = set()
        while True:
            want = self.settings.page_max if cap is None else cap - got
            params["max_results"] = x_cost.page_size(want, self.settings.page_max)
            page = self.client.get(params)
            data = page.get("data") or []
            if cap is not None and got + len(data) > cap:
                page = _cut(page, cap - got)
                data = page["data"]
            pages.append(page)
            got += len(data)
            token = (page.get("meta") or {}).get("next_token")
            if not token or (cap is not None and got >= cap):
                return pages
            if token in seen:
                raise TerminalError(
                    f"x_api: the API sent next_token {token!r} twice for {params['start_time']}; "
                    "check source.base_url points at the X API"
                )
            seen.add(token)
            params["next_token"] = token


def check_search(
    settings: XApiSource.Settings, search: SearchConfig, now: datetime | None = None
) -> None:
    """One-line ConfigErrors for a search the endpoint would refuse; no request is sent."""
    now = now or datetime.now(UTC)
    api = settings.api
    if len(search.query) > api.query_max:
        raise ConfigError(
            f"search.query: {len(search.query)} characters, the {settings.endpoint} search "
            f"accepts at most {api.query_max}; shorten the query"
        )
    if search.start_time >= search.end_time:
        raise ConfigError("search.start_time: must be before search.end_time")
    if search.end_time > now:
        raise ConfigError(
            f"search.end_time: {format_utc(search.end_time)} is in the future; set it to now "
            "or earlier"
        )
    windows = list(windows_between(search.start_time, search.end_time, search.freq))
    latest = now - END_LAG
    if windows[-1].end > latest:
        last_full = Window.containing(latest, search.freq).start
        raise ConfigError(
            f"search.end_time: the last window ends at {format_utc(windows[-1].end)}, later "
            f"than the API allows (now minus 10 s); set end_time to {format_utc(last_full)} "
            "or earlier"
        )
    if api.days is not None:
        oldest = now - timedelta(days=api.days) + RECENT_MARGIN
        if windows[0].start < oldest:
            raise ConfigError(
                f"search.start_time: {format_utc(windows[0].start)} is older than the "
                f"{api.days} days the {settings.endpoint} search covers; set source.endpoint: "
                f"all (full-archive search) or a start_time after {format_utc(oldest)}"
            )
    elif windows[0].start < ARCHIVE_START:
        raise ConfigError(
            f"search.start_time: the archive starts at {format_utc(ARCHIVE_START)}; set a "
            "later start_time"
        )
    if settings.counts:
        _check_counts(settings, search, windows[0].start, now)


def _check_counts(
    settings: XApiSource.Settings, search: SearchConfig, first: datetime, now: datetime
) -> None:
    api = settings.counts_api
    if len(search.query) > x_counts.QUERY_MAX[api]:
        raise ConfigError(
            f"search.query: {len(search.query)} characters, the {api} counts accept at most "
            f"{x_counts.QUERY_MAX[api]}; shorten the query or set source.counts: false"
        )
    oldest = now - timedelta(days=x_counts.RECENT_DAYS) + RECENT_MARGIN
    if api == "recent" and first < oldest:
        raise ConfigError(
            f"source.counts_endpoint: the recent counts cover {x_counts.RECENT_DAYS} days and "
            f"search.start_time is {format_utc(first)}; set counts_endpoint: all or counts: false"
        )


def _client(
    settings: XApiSource.Settings,
    token: str,
    path: str,
    *,
    limit: int,
    min_interval: float,
    connections: int,
) -> XClient:
    """A client for ``path`` whose rate limiter every source calling it with this token shares."""
    key = (settings.base_url.rstrip("/"), path, token_fingerprint(token))
    limiter = shared_limiter(
        key,
        lambda: RateLimiter(
            limit,
            settings.rate_period,
            margin=settings.rate_margin,
            min_interval=min_interval,
            max_wait=settings.max_rate_wait,
        ),
    )
    return XClient(
        base_url=settings.base_url,
        path=path,
        token=token,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        backoff=settings.backoff,
        max_backoff=settings.max_backoff,
        max_rate_wait=settings.max_rate_wait,
        limiter=limiter,
        connections=connections,
    )


def sub_windows(window: Window, parts: int) -> list[tuple[datetime, datetime]]:
    """``parts`` consecutive whole-second ranges covering the window."""
    total = window.seconds
    edges = [window.start + timedelta(seconds=total * i // parts) for i in range(parts + 1)]
    return list(itertools.pairwise(edges))


def _api_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cut(page: Page, keep: int) -> Page:
    """The page with only its first ``keep`` posts, their authors, and a matching count."""
    data = (page.get("data") or [])[:keep]
    authors = {post.get("author_id") for post in data}
    cut = {**page, "data": data}
    includes = page.get("includes")
    if isinstance(includes, dict) and "users" in includes:
        users = [u for u in includes["users"] if u.get("id") in authors]
        cut["includes"] = {**includes, "users": users}
    cut["meta"] = {**(page.get("meta") or {}), "result_count": len(data)}
    return cut
