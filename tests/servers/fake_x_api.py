"""A fake X API v2 search and counts server on 127.0.0.1, speaking the wire format of the real one.

``GET /2/tweets/search/recent`` and ``/2/tweets/search/all`` answer with pages of posts
(``data``), their authors (``includes.users``) and ``meta`` with ``next_token``; a window with no
posts has no ``data``; some windows start with an empty page that still carries a
``next_token``; some pages carry an ``errors`` array beside ``data``, and the windows named in
``errors_only`` answer with an ``errors`` array alone (a suspended user). Errors are problem+json:
400 for invalid parameters, 401 for a wrong bearer token, 403 when ``forbidden`` is set, 429
when the rate limit is passed, 503 and broken connections when failures are injected. Posts
carry ``entities`` and ``context_annotations`` when ``tweet.fields`` asks for them (and then the
full-archive search, as the real one, takes at most 100 per page).

``GET /2/tweets/counts/recent`` and ``/2/tweets/counts/all`` count the same generated posts in
buckets of ``granularity`` (minute, hour or day, epoch-aligned; the first one starts at
``start_time``): ``{"data": [{"start", "end", "tweet_count"}], "meta": {"total_tweet_count",
"next_token"?}}``. Recent counts answer at once and cover 7 days at most; the full-archive counts
answer ``counts_page`` seconds (31 days) a page and point to the rest with ``next_token``. With
``withheld`` a share of the posts is counted but never returned by search, as the real search
filters posts its counts do not.

The rate limit counts the requests of each endpoint in fixed windows of ``period`` seconds
aligned to the epoch (so ``x-rate-limit-reset`` is a whole second, as X sends it); a request
beyond the limit gets a 429 and is counted in ``stats.violations``. The posts of a window are
a pure function of ``seed`` and the window, so every run sees the same data.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from tests.servers import free_port

SNOWFLAKE_EPOCH_MS = 1288834974657
PAGE_MAX = {"/2/tweets/search/recent": 100, "/2/tweets/search/all": 500}
QUERY_MAX = {
    "/2/tweets/search/recent": 512,
    "/2/tweets/search/all": 1024,
    "/2/tweets/counts/recent": 512,
    "/2/tweets/counts/all": 1024,
}
COUNTS = ("/2/tweets/counts/recent", "/2/tweets/counts/all")
GRANULARITY = {"minute": 60, "hour": 3600, "day": 86400}
ENTITIES_PAGE_MAX = 100  # posts per page when context_annotations are requested
FAILURE_KINDS = ("429", "503", "timeout", "drop")


@dataclass
class FakeStats:
    requests: int = 0
    served: int = 0  # 200 answers
    violations: int = 0  # requests beyond the rate limit
    injected: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    per_window: Counter[int] = field(default_factory=Counter)  # search requests per window
    paths: Counter[str] = field(default_factory=Counter)  # requests per endpoint
    granularity: Counter[str] = field(default_factory=Counter)  # of the counts requests
    first: float | None = None
    last: float | None = None


@dataclass
class FakeXApi:
    token: str = "fake-token"
    seed: int = 7
    max_posts: int = 250  # posts per 15 minutes at most
    min_posts: int = 1  # ... and at least, unless the window is empty
    empty_first_every: int = 3  # every n-th 15 minutes starts with an empty page
    empty_share: float = 0.1  # windows with no posts
    limit: int = 450
    period: int = 900
    failure_rate: float = 0.0
    failure_kinds: tuple[str, ...] = FAILURE_KINDS
    hang: float = 1.0  # how long an injected timeout keeps the client waiting
    latency: float = 0.0  # seconds every answer takes, as a real API's round trip does
    forbidden: bool = False
    authors: int = 500
    # Only these fields of each post, no includes: what the API answers when the request's
    # field parameters are not honoured (id, text and edit_history_tweet_ids are the defaults).
    post_fields: tuple[str, ...] | None = None
    snowflake_ids: bool = True  # False: small numbers that encode no time
    # 15-minute windows (epoch seconds of their start) answered with only an errors array, as
    # the API does when every post of the answer is unavailable.
    errors_only: frozenset[int] = frozenset()
    suspended: str = "gatewaypundit"  # the user those errors name
    withheld: float = 0.0  # share of posts counted but not returned by search
    counts_page: int = 31 * 86400  # seconds one full-archive counts answer covers
    counts_forbidden: bool = False  # the app may search but not count
    stats: FakeStats = field(default_factory=FakeStats)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)
        self._window_start = 0
        self._window_count: Counter[str] = Counter()  # requests per path in this window
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeXApi:
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeXApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- data -------------------------------------------------------------------------------

    def posts_between(self, start: int, end: int) -> list[dict[str, Any]]:
        """Every post search returns created in [start, end) epoch seconds, newest first."""
        return [p for p in self.counted_between(start, end) if not self._withheld(p)]

    def counted_between(self, start: int, end: int) -> list[dict[str, Any]]:
        """Every post the counts count in [start, end): those search returns and the withheld."""
        posts = []
        for bucket in range(start // 900, (end - 1) // 900 + 1):
            posts.extend(p for p in self._bucket(bucket) if start <= p["_ts"] < end)
        posts.sort(key=lambda p: p["_ts"], reverse=True)
        return posts

    def _withheld(self, post: dict[str, Any]) -> bool:
        return bool(self.withheld) and _digest(self.seed, "withheld", post["id"]) % 1000 < (
            self.withheld * 1000
        )

    def _bucket(self, bucket: int) -> list[dict[str, Any]]:
        rng = random.Random(_digest(self.seed, "bucket", bucket))
        if rng.random() < self.empty_share:
            return []
        posts = []
        for i in range(rng.randint(self.min_posts, self.max_posts)):
            ts = bucket * 900 + rng.random() * 900
            ms = int(ts * 1000)
            author = rng.randrange(self.authors)
            snowflake = ((ms - SNOWFLAKE_EPOCH_MS) << 22) | (bucket % 4096) << 10 | i
            post: dict[str, Any] = {
                "id": str(snowflake if self.snowflake_ids else bucket % 1000 * 1000 + i),
                "text": rng.choice(_TEXTS),
                "created_at": _iso(ts),
                "author_id": str(10_000 + author),
                "lang": "en",
                "conversation_id": str(1000 + i),
                "public_metrics": {"retweet_count": i % 5, "reply_count": 0, "like_count": i},
                "edit_history_tweet_ids": [],
                "_ts": ts,
            }
            post["edit_history_tweet_ids"] = [post["id"]]
            post.update(_ENTITIES[post["text"]])
            if i % 9 == 0:
                post["referenced_tweets"] = [{"type": "quoted", "id": str(42 + i)}]
            posts.append(post)
        return posts

    def user(self, author_id: str) -> dict[str, Any]:
        n = int(author_id) - 10_000
        return {
            "id": author_id,
            "username": f"user{n}",
            "name": f"User {n}",
            "verified": n % 17 == 0,
            **({"location": "Berlin"} if n % 3 == 0 else {}),
        }

    # -- request handling -------------------------------------------------------------------

    def handle(self, path: str, query: dict[str, str], auth: str | None) -> tuple[Any, ...]:
        """(action, status, body, headers): action is 'answer', 'hang' or 'drop'."""
        now = time.time()
        with self._lock:
            s = self.stats
            s.requests += 1
            s.first = s.first if s.first is not None else now
            s.last = now
            start = int(now // self.period * self.period)
            if start != self._window_start:
                self._window_start = start
                self._window_count.clear()
            self._window_count[path] += 1
            s.paths[path] += 1
            if path in PAGE_MAX:
                s.per_window[start] += 1
            over = self._window_count[path] > self.limit
            if over:
                s.violations += 1
            headers = {
                "x-rate-limit-limit": str(self.limit),
                "x-rate-limit-remaining": str(max(0, self.limit - self._window_count[path])),
                "x-rate-limit-reset": str(start + self.period),
            }
            failure = None
            if not over and self.failure_rate and self._rng.random() < self.failure_rate:
                # Kinds take turns, so even a short run meets each of them.
                failure = self.failure_kinds[sum(s.injected.values()) % len(self.failure_kinds)]
                s.injected[failure] += 1
        if path not in QUERY_MAX:
            return self._problem(404, "Not Found Error", "no such endpoint", headers)
        if auth != f"Bearer {self.token}":
            return self._problem(401, "Unauthorized", "Unauthorized", headers)
        if self.forbidden or (self.counts_forbidden and path in COUNTS):
            return self._problem(
                403,
                "Client Forbidden",
                "This request must be made using an approved developer account that is "
                "enrolled in the requested endpoint.",
                headers,
                reason="client-not-enrolled",
                type="https://api.twitter.com/2/problems/client-forbidden",
            )
        if over or failure == "429":
            return self._problem(429, "Too Many Requests", "Too Many Requests", headers)
        if failure == "503":
            return self._problem(503, "Service Unavailable", "Service Unavailable", headers)
        if failure in ("timeout", "drop"):
            return (failure, 0, b"", {})
        if path in COUNTS:
            return self._counts(path, query, headers)
        return self._search(path, query, headers)

    def _invalid(self, invalid: tuple[str, str], q: dict[str, str], headers: dict[str, str]) -> Any:
        return self._problem(
            400,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
            headers,
            errors=[{"parameters": {invalid[0]: [q.get(invalid[0], "")]}, "message": invalid[1]}],
            type="https://api.twitter.com/2/problems/invalid-request",
        )

    def _counts(self, path: str, q: dict[str, str], headers: dict[str, str]) -> tuple[Any, ...]:
        now = int(time.time())
        invalid = _check_count_params(path, q, now)
        if invalid:
            return self._invalid(invalid, q, headers)
        with self._lock:
            self.stats.granularity[q.get("granularity", "hour")] += 1
        recent = path.endswith("/recent")
        end = _epoch(q["end_time"]) if "end_time" in q else now - 30
        days = 7 if recent else 30  # the API's default range
        start = _epoch(q["start_time"]) if "start_time" in q else end - days * 86400
        step = GRANULARITY[q.get("granularity", "hour")]
        first, last = start, end
        token = q.get("next_token")
        if not recent:
            offset = 0 if token is None else _offset(token, start, end)
            if offset is None:
                return self._invalid(
                    ("next_token", "The `next_token` query parameter value is invalid"),
                    q,
                    headers,
                )
            first = start + offset
            last = min(end, first + self.counts_page)
        posts = self.counted_between(first, last)
        ids = {name: int(q[name]) for name in ("since_id", "until_id") if name in q}
        times = sorted(
            p["_ts"]
            for p in posts
            if int(p["id"]) > ids.get("since_id", -1)
            and int(p["id"]) < ids.get("until_id", 1 << 64)
        )
        data = []
        edge = first
        while edge < last:
            stop = min(last, (edge // step + 1) * step)
            count = bisect.bisect_left(times, stop) - bisect.bisect_left(times, edge)
            data.append({"end": _iso(stop), "start": _iso(edge), "tweet_count": count})
            edge = stop
        meta: dict[str, Any] = {"total_tweet_count": len(times)}
        if last < end:
            meta["next_token"] = _token(start, end, last - start)
        return self._answer({"data": data, "meta": meta}, headers)

    def _search(self, path: str, q: dict[str, str], headers: dict[str, str]) -> tuple[Any, ...]:
        invalid = _check_params(path, q)
        if invalid:
            return self._invalid(invalid, q, headers)
        start, end = _epoch(q["start_time"]), _epoch(q["end_time"])
        if start // 900 * 900 in self.errors_only:
            return self._answer({"errors": [self._suspended()]}, headers)
        size = int(q.get("max_results", "10"))
        posts = self.posts_between(start, end)
        token = q.get("next_token")
        empty_first = bool(posts) and start // 900 % self.empty_first_every == 0
        if token is None and empty_first:
            # The real API may hand back an empty page that still points to more results.
            body = {"meta": {"result_count": 0, "next_token": _token(start, end, 0)}}
            return self._answer(body, headers)
        offset = 0 if token is None else _offset(token, start, end)
        if offset is None:
            return self._problem(
                400,
                "Invalid Request",
                "The `next_token` query parameter value is invalid",
                headers,
            )
        chunk = posts[offset : offset + size]
        meta: dict[str, Any] = {"result_count": len(chunk)}
        body: dict[str, Any] = {}
        fields = set(q["tweet.fields"].split(","))
        hidden = {"_ts", *(_ENTITY_FIELDS - fields)}
        if chunk and self.post_fields is not None:
            body["data"] = [{k: p[k] for k in self.post_fields if k in p} for p in chunk]
        elif chunk:
            body["data"] = [{k: v for k, v in p.items() if k not in hidden} for p in chunk]
            authors = dict.fromkeys(p["author_id"] for p in chunk)
            body["includes"] = {"users": [self.user(a) for a in authors]}
            meta["newest_id"], meta["oldest_id"] = chunk[0]["id"], chunk[-1]["id"]
            quoted = [p for p in chunk if "referenced_tweets" in p and self.post_fields is None]
            if quoted:
                # Referenced posts that are deleted come back as partial errors beside data.
                ref = quoted[0]["referenced_tweets"][0]["id"]
                body["errors"] = [
                    {
                        "value": ref,
                        "detail": f"Could not find tweet with referenced_tweets.id: [{ref}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "referenced_tweets.id",
                        "resource_id": ref,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ]
        if offset + size < len(posts):
            meta["next_token"] = _token(start, end, offset + size)
        body["meta"] = meta
        return self._answer(body, headers)

    def _suspended(self) -> dict[str, Any]:
        """A partial error as X words it for a suspended user."""
        name = self.suspended
        return {
            "parameter": "username",
            "resource_id": name,
            "value": name,
            "detail": f"User has been suspended: [{name}].",
            "title": "Forbidden",
            "resource_type": "user",
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }

    def _answer(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[Any, ...]:
        with self._lock:
            self.stats.served += 1
            self.stats.statuses[200] += 1
        return ("answer", 200, orjson.dumps(body), {**headers, "content-type": "application/json"})

    def _problem(
        self, status: int, title: str, detail: str, headers: dict[str, str], **extra: Any
    ) -> tuple[Any, ...]:
        with self._lock:
            self.stats.statuses[status] += 1
        body = {"title": title, "detail": detail, "type": "about:blank", "status": status, **extra}
        return (
            "answer",
            status,
            orjson.dumps(body),
            {**headers, "content-type": "application/problem+json"},
        )


class _Handler(BaseHTTPRequestHandler):
    api: FakeXApi
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        action, status, body, headers = self.api.handle(
            parts.path, query, self.headers.get("Authorization")
        )
        if self.api.latency:
            time.sleep(self.api.latency)
        if action in ("timeout", "drop"):
            if action == "timeout":
                time.sleep(self.api.hang)
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


_TEXTS = (
    "Loving the range on my new car, charging was quick too",
    "The charging network here is terrible, waited an hour",
    "New report on battery prices out today",
    "Great drive, awful app. Mixed feelings",
    "Is the winter range really that bad?",
)
_ENTITY_FIELDS = frozenset({"entities", "context_annotations"})
_EV_TOPIC = {
    "domain": {"id": "131", "name": "Unified Twitter Taxonomy"},
    "entity": {"id": "1004094582000000000", "name": "Electric vehicles"},
}
# What the API would find in each text: annotations, and the topic of every one.
_ENTITIES: dict[str, dict[str, Any]] = {
    text: {
        "entities": {
            "annotations": [
                {
                    "start": text.index(word),
                    "end": text.index(word) + len(word) - 1,
                    "probability": 0.9,
                    "type": kind,
                    "normalized_text": word,
                }
            ]
        },
        "context_annotations": [_EV_TOPIC],
    }
    for text, word, kind in zip(
        _TEXTS,
        ("charging", "charging network", "battery", "app", "winter range"),
        ("Product", "Product", "Product", "Product", "Other"),
        strict=True,
    )
}


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


def _iso(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _epoch(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def _token(start: int, end: int, offset: int) -> str:
    return f"b26v89c19zqg8o3f{start:x}x{end:x}x{offset:x}"


def _offset(token: str, start: int, end: int) -> int | None:
    try:
        s, e, o = token.removeprefix("b26v89c19zqg8o3f").split("x")
        if int(s, 16) == start and int(e, 16) == end:
            return int(o, 16)
    except ValueError:
        pass
    return None


def _check_params(path: str, q: dict[str, str]) -> tuple[str, str] | None:
    """The first invalid parameter and the API's message for it, or None."""
    query = q.get("query", "")
    if not query:
        return ("query", "The `query` query parameter can not be empty")
    if len(query) > QUERY_MAX[path]:
        return ("query", f"The `query` query parameter value is longer than {QUERY_MAX[path]}")
    for name in ("start_time", "end_time"):
        try:
            _epoch(q.get(name, ""))
        except ValueError:
            return (
                name,
                f"Invalid '{name}':'{q.get(name)}'. '{name}' must be YYYY-MM-DDTHH:mm:ssZ",
            )
    if _epoch(q["start_time"]) >= _epoch(q["end_time"]):
        return ("end_time", "Invalid 'end_time': must be after 'start_time'")
    if _epoch(q["end_time"]) > time.time() - 10:
        return ("end_time", "Invalid 'end_time': must be a minimum of 10 seconds prior")
    size = q.get("max_results", "10")
    top = PAGE_MAX[path]
    if "context_annotations" in q.get("tweet.fields", "").split(","):
        top = min(top, ENTITIES_PAGE_MAX)
    if not size.isdigit() or not 10 <= int(size) <= top:
        return (
            "max_results",
            f"The `max_results` query parameter value [{size}] is not between 10 and {top}",
        )
    for name in ("expansions", "tweet.fields", "user.fields"):
        if not q.get(name):
            return (name, f"The `{name}` query parameter is required by this fake")
    return None


def _check_count_params(path: str, q: dict[str, str], now: int) -> tuple[str, str] | None:
    """The first invalid parameter of a counts request and the API's message for it, or None."""
    query = q.get("query", "")
    if not query:
        return ("query", "The `query` query parameter can not be empty")
    if len(query) > QUERY_MAX[path]:
        return ("query", f"The `query` query parameter value is longer than {QUERY_MAX[path]}")
    for name in ("start_time", "end_time"):
        if name in q:
            try:
                _epoch(q[name])
            except ValueError:
                return (
                    name,
                    f"Invalid '{name}':'{q[name]}'. '{name}' must be YYYY-MM-DDTHH:mm:ssZ",
                )
    granularity = q.get("granularity", "hour")
    if granularity not in GRANULARITY:
        return (
            "granularity",
            f"The `granularity` query parameter value [{granularity}] is not one of "
            "[minute,hour,day]",
        )
    for name in ("since_id", "until_id"):
        if name in q and not q[name].isdigit():
            return (name, f"The `{name}` query parameter value [{q[name]}] is not valid")
    end = _epoch(q["end_time"]) if "end_time" in q else now - 30
    if end > now - 10:
        return ("end_time", "Invalid 'end_time': must be a minimum of 10 seconds prior")
    if "start_time" in q:
        start = _epoch(q["start_time"])
        if start >= end:
            return ("end_time", "Invalid 'end_time': must be after 'start_time'")
        if path.endswith("/recent") and start < now - 7 * 86400:
            return (
                "start_time",
                "Invalid 'start_time': must be on or after the last 7 days",
            )
    return None
