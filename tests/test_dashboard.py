"""The dashboard over a warehouse built by the demo pipeline: its JSON endpoints on DuckDB and
PostgreSQL, its security headers, and the page itself in Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests import dashboard_data as demo
from tests.servers import free_port, wait_for_port
from tweetsense.config import BackendSection
from tweetsense.dashboard.server import create_app
from tweetsense.registry import Context, create


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> demo.DemoWarehouse:
    return demo.build(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="module")
def server(built: demo.DemoWarehouse) -> Iterator[str]:
    """`tweetsense dashboard` itself, in a process of its own."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEETSENSE_")}
    cmd = [sys.executable, "-m", "tweetsense.cli.app", "dashboard", "--demo"]
    cmd += ["--data-dir", str(built.data_dir), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=30)
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/api/queries").json() == {"queries": [demo.QUERY]}
        # The server holds no lock between requests: a writer can open the file now.
        demo.insert_xss_tweet(built.path)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def get(url: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{url}{path}", params=params, timeout=10)


def test_summary_matches_the_warehouse(server: str, built: demo.DemoWarehouse) -> None:
    body = get(server, "/api/summary", query=demo.QUERY).json()
    want = demo.expected(built.path)
    assert body["windows"] == want["windows"] == 32
    assert body["tweets"] == want["tweets"] > 3000
    for label in want["shares"]:
        assert body["shares"][label] == pytest.approx(want["shares"][label], abs=1e-6)
        assert body["averages"][label] == pytest.approx(want["averages"][label], abs=1e-6)
    assert body["first_window"] == "2024-03-01T00:00:00.000Z"
    assert body["last_window"] == "2024-03-01T07:45:00.000Z"


def test_summary_and_windows_follow_the_range(server: str, built: demo.DemoWarehouse) -> None:
    start, end = datetime(2024, 3, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, 3, tzinfo=UTC)
    rng = {"start": "2024-03-01T01:00:00Z", "end": "2024-03-01T03:00:00Z"}
    summary = get(server, "/api/summary", query=demo.QUERY, **rng).json()
    assert summary["tweets"] == demo.expected(built.path, start, end)["tweets"]
    win = get(server, "/api/windows", query=demo.QUERY, **rng).json()
    assert win["windows"] == 8
    assert win["time"] == [int(start.timestamp()) + 900 * i for i in range(8)]
    assert sum(win["count_tweets"]) == summary["tweets"]
    for key in ("avg_positive", "avg_negative", "avg_neutral", "avg_mixed", "perc_tweet_mixed"):
        assert len(win[key]) == 8
        assert all(0 <= v <= 1 for v in win[key])


def test_tweets_of_a_window(server: str) -> None:
    body = get(server, "/api/tweets", query=demo.QUERY, window="2024-03-01T02:00:00Z").json()
    tweets = body["tweets"]
    assert body["window"] == "2024-03-01T02:00:00.000Z"
    assert len(tweets) == 20
    assert tweets[0]["text"] == demo.XSS  # served as data, verbatim
    assert all(t["created_at"].startswith("2024-03-01T02:") for t in tweets)
    assert all(t["label"] in {"POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"} for t in tweets)
    limited = get(server, "/api/tweets", query=demo.QUERY, window="2024-03-01T03:00:00Z", limit="3")
    assert len(limited.json()["tweets"]) == 3
    neg = get(
        server, "/api/tweets", query=demo.QUERY, window="2024-03-01T03:00:00Z", label="negative"
    )
    assert {t["label"] for t in neg.json()["tweets"]} == {"NEGATIVE"}


@pytest.mark.parametrize(
    ("path", "params", "setting"),
    [
        ("/api/summary", {}, "query"),
        ("/api/summary", {"query": demo.QUERY, "start": "yesterday"}, "start"),
        ("/api/windows", {"query": demo.QUERY, "end": "2024-13-01"}, "end"),
        (
            "/api/windows",
            {"query": demo.QUERY, "start": "2024-03-02T00:00:00Z", "end": "2024-03-01T00:00:00Z"},
            "start",
        ),
        ("/api/tweets", {"query": demo.QUERY}, "window"),
        (
            "/api/tweets",
            {"query": demo.QUERY, "window": "2024-03-01T02:00:00Z", "limit": "0"},
            "limit",
        ),
        (
            "/api/tweets",
            {"query": demo.QUERY, "window": "2024-03-01T02:00:00Z", "limit": "x"},
            "limit",
        ),
        (
            "/api/tweets",
            {"query": demo.QUERY, "window": "2024-03-01T02:00:00Z", "label": "happy"},
            "label",
        ),
    ],
)
def test_bad_parameters_are_one_line_400s(
    server: str, path: str, params: dict[str, str], setting: str
) -> None:
    r = get(server, path, **params)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error.startswith(f"{setting}: ")
    assert "\n" not in error and "Traceback" not in error


def test_security_headers(server: str) -> None:
    for path in ("/", "/api/queries", "/static/dashboard.js"):
        r = get(server, path)
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "default-src 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    assert get(server, "/api/queries").headers["cache-control"] == "no-store"
    page = get(server, "/").text
    assert "<script>" not in page and " on" not in page.replace(" one", "")


def test_unknown_query_reads_as_empty(server: str) -> None:
    body = get(server, "/api/summary", query="no such topic").json()
    assert body["tweets"] == 0 and body["windows"] == 0
    assert get(server, "/api/windows", query="no such topic").json()["time"] == []


class _Serving:
    """A dashboard app on a free port in a thread of this process."""

    def __init__(self, wh) -> None:  # type: ignore[no-untyped-def]
        self.port = free_port()
        config = uvicorn.Config(create_app(wh), host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_for_port(self.port)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_same_answers_from_postgres(built: demo.DemoWarehouse, postgres_dsn: str) -> None:
    context = Context(demo.make_config(built.data_dir.parent))
    pg = create("warehouse", context, BackendSection(type="postgres", dsn=postgres_dsn))
    duck = create("warehouse", context, BackendSection(type="duckdb", path=str(built.path)))
    try:
        pg.load(demo.QUERY, built.tweets_uri, built.windows_uri)
        params = {
            "query": demo.QUERY,
            "start": "2024-03-01T01:00:00Z",
            "end": "2024-03-01T05:00:00Z",
        }
        with _Serving(pg) as pg_url, _Serving(duck) as duck_url:
            for path in ("/api/summary", "/api/windows"):
                a, b = get(pg_url, path, **params), get(duck_url, path, **params)
                assert a.status_code == b.status_code == 200
                assert a.json() == b.json()
            assert get(pg_url, "/api/queries").json() == {"queries": [demo.QUERY]}
            tw = get(pg_url, "/api/tweets", query=demo.QUERY, window="2024-03-01T04:00:00Z")
            assert len(tw.json()["tweets"]) == 20
    finally:
        pg.close()


def test_dashboard_without_config_is_a_one_line_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEETSENSE_")}
    r = subprocess.run(
        [sys.executable, "-m", "tweetsense.cli.app", "dashboard"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "no config" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
