"""The x_api source and the ingest stage against a fake X API v2 server on 127.0.0.1."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tests.servers.fake_x_api import FakeXApi
from tweetsense import layout
from tweetsense.cli.app import app
from tweetsense.config import build_config
from tweetsense.contracts import StagingDoc
from tweetsense.errors import ConfigError, TerminalError
from tweetsense.pipeline.budget import BudgetReached
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.ingest import ingest
from tweetsense.pipeline.manifest import Manifest, manifest_key
from tweetsense.secrets import Secrets
from tweetsense.sources.api_errors import ApiErrors
from tweetsense.sources.x_ratelimit import _SHARED
from tweetsense.timeutil import Window

TOKEN = "AAAA-test-bearer-7f3c9e1d5b"
FAST = {"rate_margin": 0.02, "backoff": 0.01, "max_backoff": 0.05, "timeout": 0.5}


def recent_range(windows: int) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    end = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0) - timedelta(hours=1)
    return end - timedelta(minutes=15 * windows), end


@pytest.fixture
def fake() -> Iterator[Any]:
    servers: list[FakeXApi] = []

    def start(**kwargs: Any) -> FakeXApi:
        kwargs.setdefault("token", TOKEN)
        server = FakeXApi(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    _SHARED.clear()  # each fake is a new app: its limits start afresh


def pipeline(
    tmp_path: Path,
    api: FakeXApi,
    *,
    windows: int = 4,
    per_window: int | None = 100,
    concurrency: int = 4,
    token: str = TOKEN,
    search: dict[str, Any] | None = None,
    **source: Any,
) -> Pipeline:
    start, end = recent_range(windows)
    config = build_config(
        {
            "data_dir": str(tmp_path / "data"),
            "search": {
                "query": "electric vehicles",
                "start_time": start,
                "end_time": end,
                "max_per_window": per_window,
                **(search or {}),
            },
            "source": {
                "type": "x_api",
                "base_url": api.url,
                "concurrency": concurrency,
                **FAST,
                **source,
            },
        },
        environ={},
    )
    return Pipeline(config, Secrets(environ={"X_BEARER_TOKEN": token}))


def staged(p: Pipeline) -> dict[Window, StagingDoc]:
    docs = {}
    for window in p.windows:
        key = layout.staging_key(p.slug, window)
        if p.store.exists(key):
            docs[window] = StagingDoc.decode(p.store.get(key))
    return docs


def published(p: Pipeline) -> list[str]:
    consumer = p.stream.consumer("test")
    keys = []
    while batch := consumer.poll(1000):
        keys.extend(m.key for m in batch)
        consumer.commit(batch)
    return keys


def test_pages_follow_next_token_and_join_authors(tmp_path: Path, fake: Any) -> None:
    # Every window with posts opens with an empty page carrying a next_token: which windows the
    # default mix gives one depends on the clock, and some hours it gave none.
    api = fake(empty_first_every=1)
    p = pipeline(tmp_path, api, windows=6, per_window=None, page_size=10)
    report = ingest(p)
    docs = staged(p)
    assert report.fetched == 6 and not report.failed
    assert api.stats.statuses[400] == 0
    multi_page = 0
    for window, doc in docs.items():
        start, end = int(window.start.timestamp()), int(window.end.timestamp())
        expected = [post["id"] for post in api.posts_between(start, end)]
        assert [post_id for post_id, _ in doc.tweet_texts()] == expected
        multi_page += len(doc.pages) > 2
        for page in doc.pages:
            users = {u["id"]: u for u in (page.get("includes") or {}).get("users", [])}
            for post in page.get("data") or []:
                assert users[post["author_id"]]["username"].startswith("user")
    assert multi_page >= 3
    # Windows without posts are staged as a page with no data; errors beside data are kept.
    pages = [page for doc in docs.values() for page in doc.pages]
    assert any("data" not in page and page["meta"].get("next_token") for page in pages)
    assert any(page.get("errors") and page.get("data") for page in pages)


SUSPENDED = "User has been suspended: [gatewaypundit]."


def test_errors_only_page_and_errors_beside_data_are_counted(
    tmp_path: Path, fake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    start, _ = recent_range(4)
    api = fake(empty_share=0.0, errors_only=frozenset({int(start.timestamp())}))
    p = pipeline(tmp_path, api, windows=4, per_window=None)
    with caplog.at_level(logging.WARNING, logger="tweetsense"):
        report = ingest(p)
    assert report.fetched == 4 and not report.failed
    found = report.api_errors
    assert found.only_errors == 1 and found.beside_data >= 3  # each window quotes a lost post
    assert found.details[0] == SUSPENDED
    lost = "Could not find tweet with referenced_tweets.id: ["
    assert any(d.startswith(lost) for d in found.details)
    # The window that held only errors is staged as the API answered, with no posts.
    docs = staged(p)
    first = docs[p.windows[0]]
    assert first.tweet_count == 0 and first.pages[0]["errors"][0]["detail"] == SUSPENDED
    # Staging keeps every page whole: the staged windows give the same figures again.
    again = ApiErrors.of_pages(page for doc in docs.values() for page in doc.pages)
    assert (again.only_errors, again.beside_data) == (found.only_errors, found.beside_data)
    # One warning per window, with the API's own words.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4
    assert f"window {p.windows[0].id}: the API sent 1 page with only errors" in warnings[0]
    assert SUSPENDED in warnings[0]


def test_cap_and_even_sampling(tmp_path: Path, fake: Any) -> None:
    api = fake(empty_share=0.0, min_posts=100)
    newest = pipeline(tmp_path / "a", api, windows=3, per_window=25)
    ingest(newest)
    sampled = pipeline(tmp_path / "b", api, windows=3, per_window=25, sample=5)
    ingest(sampled)
    for window, doc in staged(sampled).items():
        full = api.posts_between(int(window.start.timestamp()), int(window.end.timestamp()))
        times = [
            datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))
            for page in doc.pages
            for post in page.get("data") or []
        ]
        assert len(times) == min(25, len(full))
        # Five posts from each 3-minute fifth of the window, not 25 from its last minutes.
        fifths = {int((t - window.start).total_seconds() // 180) for t in times}
        assert fifths == {0, 1, 2, 3, 4}
    for window, doc in staged(newest).items():
        full = api.posts_between(int(window.start.timestamp()), int(window.end.timestamp()))
        assert [i for i, _ in doc.tweet_texts()] == [p["id"] for p in full[:25]]


def test_cap_below_the_smallest_page_is_cut_with_its_authors(tmp_path: Path, fake: Any) -> None:
    # Windows of at least a page's 10 posts: the windows are the last hours', whatever they hold.
    api = fake(empty_share=0.0, min_posts=10)
    p = pipeline(tmp_path, api, windows=2, per_window=7)
    ingest(p)
    for doc in staged(p).values():
        data = [post for page in doc.pages for post in page.get("data") or []]
        assert len(data) == 7
        authors = {post["author_id"] for post in data}
        users = {u["id"] for page in doc.pages for u in page.get("includes", {}).get("users", [])}
        assert users == authors
        assert sum(page["meta"]["result_count"] for page in doc.pages) == 7


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end": timedelta(hours=2)}, "search.end_time: .* is in the future"),
        ({"start": -timedelta(days=8)}, "older than the 7 days .* source.endpoint: all"),
        ({"query": "x" * 600}, "search.query: 600 characters, .* at most 512"),
        ({"end_at": timedelta(seconds=-5)}, "later than the API allows"),
    ],
)
def test_search_is_checked_before_any_request(
    tmp_path: Path, fake: Any, change: dict[str, Any], message: str
) -> None:
    api = fake()
    start, end = recent_range(4)
    search = {
        "query": change.get("query", "ev"),
        "start_time": start + change.get("start", timedelta()),
        "end_time": end + change.get("end", timedelta()),
    }
    if "end_at" in change:
        search["end_time"] = datetime.now(UTC) + change["end_at"]
    config = build_config(
        {
            "data_dir": str(tmp_path),
            "search": search,
            "source": {"type": "x_api", "base_url": api.url},
        },
        environ={},
    )
    p = Pipeline(config, Secrets(environ={"X_BEARER_TOKEN": TOKEN}))
    with pytest.raises(ConfigError, match=message) as info:
        ingest(p)
    assert "\n" not in str(info.value)
    assert api.stats.requests == 0


def test_missing_token_is_a_one_line_error(tmp_path: Path, fake: Any) -> None:
    api = fake()
    p = pipeline(tmp_path, api, token="")
    with pytest.raises(ConfigError, match="x_api source needs the secret X_BEARER_TOKEN"):
        ingest(p)
    assert api.stats.requests == 0


@pytest.mark.parametrize(
    ("forbidden", "token", "expected"),
    [
        (False, "wrong-token", r"401 Unauthorized.*X_BEARER_TOKEN was rejected"),
        (True, TOKEN, r"403 Client Forbidden.*reason: client-not-enrolled.*attach it to a project"),
    ],
)
def test_401_and_403_stop_the_run(
    tmp_path: Path, fake: Any, forbidden: bool, token: str, expected: str
) -> None:
    api = fake(forbidden=forbidden)
    p = pipeline(tmp_path, api, windows=40, token=token)
    with pytest.raises(ConfigError, match=expected):
        ingest(p)
    # The run stops at once instead of trying the other 39 windows.
    assert api.stats.requests <= 4
    assert not staged(p)


def test_invalid_request_is_terminal(tmp_path: Path, fake: Any) -> None:
    api = fake()
    p = pipeline(
        tmp_path, api, windows=2, per_window=None, endpoint="all", page_size=500, entities=False
    )
    # The fake's recent endpoint refuses max_results=500, as X does: a 400 with a fix to make.
    p.source.client.path = "/2/tweets/search/recent"
    with pytest.raises(TerminalError, match=r"400 Invalid Request.*max_results.*fix search"):
        ingest(p)


def test_429_503_timeouts_and_drops_are_retried(tmp_path: Path, fake: Any) -> None:
    api = fake(failure_rate=0.35, limit=45, period=2, hang=0.8, seed=3)
    p = pipeline(tmp_path, api, windows=12, per_window=None, page_size=50)
    report = ingest(p)
    assert not report.failed and report.fetched == 12
    assert set(api.stats.injected) == {"429", "503", "timeout", "drop"}
    assert api.stats.violations == 0
    for window, doc in staged(p).items():
        full = api.posts_between(int(window.start.timestamp()), int(window.end.timestamp()))
        assert len(doc.tweet_texts()) == len(full)


def test_bearer_token_never_leaks(
    tmp_path: Path, fake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = fake(failure_rate=0.3, limit=45, period=2, hang=0.8)
    p = pipeline(tmp_path / "ok", api, windows=6)
    ingest(p)
    p.close()
    # A server that echoes the token in its error must not get it into the message either.
    echo = fake(token="something-else")
    original = echo._problem

    def echoing(status: int, title: str, detail: str, headers: dict, **extra: Any) -> Any:
        return original(status, title, f"{detail} for Bearer {TOKEN}", headers, **extra)

    echo._problem = echoing  # type: ignore[method-assign]
    bad = pipeline(tmp_path / "bad", echo, windows=2)
    with pytest.raises(ConfigError) as info:
        ingest(bad)
    assert "401" in str(info.value) and TOKEN not in str(info.value)
    assert TOKEN not in caplog.text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("counts", [True, False])
def test_dry_run_prints_figures_without_requests(tmp_path: Path, fake: Any, counts: bool) -> None:
    api = fake()
    config = tmp_path / "tweetsense.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "search: {query: electric vehicles, start_time: 2024-03-01T00:00:00Z, "
        "end_time: 2024-03-08T00:00:00Z}\n"
        f"source: {{type: x_api, endpoint: all, base_url: '{api.url}', counts: {counts}}}\n"
    )
    result = CliRunner().invoke(app, ["ingest", "--config", str(config), "--dry-run"], env={})
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "windows: 672 (672 to fetch" in out
    assert "posts: at most 67,200 (100 per window)" in out
    assert "$336.00" in out and "$672.00" in out
    if counts:
        # The 7 days fit one full-archive counts answer (31 days), at $0.010 a request.
        assert "requests: at most 672 + 1 counts request (the windows' true volume)" in out
        assert "estimated cost: at most $1,008.01" in out
        assert "1 counts request x $0.01 = $0.01)" in out
    else:
        assert "requests: at most 672 posts: at most" in out and "counts" not in out
        assert "estimated cost: at most $1,008.00" in out
    # 672 requests at 300 per 15 minutes and 1 per second: two windows waited.
    assert "minimum time under the rate limit: 30min" in out
    assert api.stats.requests == 0


def test_dry_run_recent_search_older_than_7_days_suggests_all(tmp_path: Path) -> None:
    config = tmp_path / "tweetsense.yaml"
    config.write_text(
        "search: {query: ev, start_time: 2024-03-01T00:00:00Z, end_time: 2024-03-08T00:00:00Z}\n"
        "source: {type: x_api}\n"
    )
    result = CliRunner().invoke(app, ["ingest", "--config", str(config), "--dry-run"], env={})
    assert result.exit_code == 2
    assert "source.endpoint: all" in result.output


def test_budget_stops_cleanly_and_a_rerun_resumes(tmp_path: Path, fake: Any) -> None:
    api = fake(empty_share=0.0)
    p = pipeline(tmp_path, api, windows=8, per_window=50, concurrency=3)
    with pytest.raises(BudgetReached, match=r"budget reached after \d+ windows") as info:
        ingest(p, max_posts=170)
    first = info.value.report
    # Stopped only when the next window's worst case (50 posts) no longer fitted.
    assert first.used.posts <= 170 < first.used.posts + 50
    assert first.left == 8 - first.fetched and first.fetched >= 3
    assert len(staged(p)) == first.fetched
    manifest = orjson.loads(p.store.get(manifest_key(p.slug)))
    assert len(manifest["windows"]) == first.fetched
    # $0.005 a post and $0.010 an author: a 50-post window costs at most $0.75.
    with pytest.raises(BudgetReached) as info:
        ingest(pipeline(tmp_path, api, windows=8, per_window=50), max_cost=1.6)
    second = info.value.report
    assert second.cost is not None and second.cost <= 1.6 < second.cost + 0.75
    assert second.fetched >= 2
    third = ingest(pipeline(tmp_path, api, windows=8, per_window=50))
    assert third.stopped is None and not third.failed
    # Every window fetched exactly once over the three runs.
    assert first.fetched + second.fetched + third.fetched == 8
    assert len(staged(p)) == 8


def test_failed_and_partial_windows_are_redone(tmp_path: Path, fake: Any) -> None:
    api = fake(failure_rate=0.5, failure_kinds=("503",), seed=11)
    p = pipeline(tmp_path, api, windows=10, per_window=None, page_size=10, max_retries=0)
    first = ingest(p)
    assert first.failed and first.fetched < 10
    failed = {w for w, _ in first.failed}
    assert all(p.store.exists(layout.error_key("ingest", p.slug, w)) for w in failed)
    api.failure_rate = 0.0
    second = ingest(pipeline(tmp_path, api, windows=10, per_window=None, page_size=10))
    assert not second.failed and second.fetched == len(failed)
    for window, doc in staged(p).items():
        full = api.posts_between(int(window.start.timestamp()), int(window.end.timestamp()))
        assert [i for i, _ in doc.tweet_texts()] == [post["id"] for post in full]
        assert not p.store.exists(layout.error_key("ingest", p.slug, window))


def test_staged_window_missing_from_manifest_is_taken_in(tmp_path: Path, fake: Any) -> None:
    api = fake()
    p = pipeline(tmp_path, api, windows=4)
    ingest(p)
    n = len(staged(p))  # a window the API had no posts for has no file, only a manifest entry
    assert n > 0
    p.store.delete(manifest_key(p.slug))  # as if the run died before writing the manifest
    report = ingest(pipeline(tmp_path, api, windows=4))
    # The staged windows are taken in without a request; only the empty ones are asked again.
    assert report.adopted == n and report.fetched == 4 - n
    assert len(orjson.loads(p.store.get(manifest_key(p.slug)))["windows"]) == n


def test_shared_limiter_keeps_under_the_limit(tmp_path: Path, fake: Any) -> None:
    api = fake(limit=6, period=1, empty_share=0.0)
    p = pipeline(tmp_path, api, windows=24, concurrency=6)
    started = time.monotonic()
    report = ingest(p)
    assert report.fetched == 24
    assert api.stats.violations == 0
    assert max(api.stats.per_window.values()) <= 6
    assert time.monotonic() - started >= (api.stats.requests - 1) // 6 - 1


def test_twenty_percent_failures_store_every_window_exactly_once(tmp_path: Path, fake: Any) -> None:
    api = fake(failure_rate=0.2, limit=45, period=2, hang=0.8, seed=5)
    p = pipeline(tmp_path, api, windows=40, per_window=None)
    report = ingest(p)
    assert not report.failed and report.fetched == 40
    assert api.stats.violations == 0
    assert sum(api.stats.injected.values()) > 0
    keys = published(p)
    # A window without posts is marked empty in the manifest: no staging file, no record.
    with_posts = 40 - len(Manifest.load(p.store, p.slug, p.query).empty)
    assert len(keys) == len(set(keys)) == with_posts
    assert len(staged(p)) == with_posts
    requests = api.stats.requests
    again = ingest(pipeline(tmp_path, api, windows=40, per_window=None))
    assert again.fetched == 0 and api.stats.requests == requests


def test_ingest_line_prints_api_error_details_literally(tmp_path: Path, fake: Any) -> None:
    # Rich would read "[gatewaypundit]" as markup and ":100:" as an emoji code.
    start, end = recent_range(2)
    api = fake(empty_share=0.0, errors_only=frozenset({int(start.timestamp())}))
    original = api._suspended
    detail = f"{SUSPENDED} :100: [bold]not bold[/bold]"
    api._suspended = lambda: {**original(), "detail": detail}  # type: ignore[method-assign]
    config = tmp_path / "tweetsense.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"search: {{query: ev, start_time: '{start.isoformat()}', end_time: '{end.isoformat()}'}}\n"
        f"source: {{type: x_api, base_url: '{api.url}', timeout: 5}}\n"
    )
    result = CliRunner().invoke(
        app, ["ingest", "--config", str(config)], env={"X_BEARER_TOKEN": TOKEN, "COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("ingest: "))
    assert "2 windows fetched" in line
    assert "API errors: 1 page with only errors, " in line
    assert f"(first: {detail})" in line
    # The warning of the window says it too, as sent.
    assert detail in " ".join(result.output.split())
