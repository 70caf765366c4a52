"""The dashboard over a warehouse built by the demo pipeline: its JSON endpoints on DuckDB and
PostgreSQL, its security headers, and the page itself in Chromium; the read API of several
analyzers over a small warehouse whose agreement figures are worked out by hand."""

from __future__ import annotations

import csv
import io
import math
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from tests import dashboard_data as demo
from tests.servers import free_port, wait_for_port
from tweetsense.config import BackendSection
from tweetsense.dashboard.server import create_app
from tweetsense.registry import Context, create
from tweetsense.warehouse.dialects import agreement_from_scores_sql
from tweetsense.warehouse.reads import SqlReads
from tweetsense.warehouse.schema import SENTIMENT_BY_ANALYZER, TABLES


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> demo.DemoWarehouse:
    return demo.build(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="module")
def analysed(built: demo.DemoWarehouse) -> demo.DemoWarehouse:
    demo.add_contrarian(built.path)
    return built


@pytest.fixture(scope="module")
def server(analysed: demo.DemoWarehouse) -> Iterator[str]:
    """`tweetsense dashboard` itself, in a process of its own."""
    built = analysed
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
        ("/api/analyzers", {}, "query"),
        ("/api/summary", {"query": demo.QUERY, "analyzer": "vader"}, "analyzer"),
        ("/api/windows", {"query": demo.QUERY, "analyzer": "x" * 2000}, "analyzer"),
        (
            "/api/tweets",
            {"query": demo.QUERY, "window": "2024-03-01T02:00:00Z", "analyzer": "vader"},
            "analyzer",
        ),
        ("/api/agreement", {"query": demo.QUERY, "a": demo.PRIMARY}, "b"),
        ("/api/agreement", {"query": demo.QUERY, "a": "vader", "b": demo.PRIMARY}, "a"),
        (
            "/api/agreement",
            {"query": demo.QUERY, "a": demo.PRIMARY, "b": demo.CONTRARIAN, "start": "x"},
            "start",
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


def test_analyzers_of_the_demo(server: str) -> None:
    body = get(server, "/api/analyzers", query=demo.QUERY).json()
    assert body == {
        "query": demo.QUERY,
        "primary": demo.PRIMARY,
        "analyzers": [demo.PRIMARY, demo.CONTRARIAN],
    }
    none = get(server, "/api/analyzers", query="no such topic").json()
    assert none == {"query": "no such topic", "primary": None, "analyzers": []}


def test_every_panel_follows_the_analyzer(server: str, analysed: demo.DemoWarehouse) -> None:
    rng = {"start": "2024-03-01T01:00:00Z", "end": "2024-03-01T03:00:00Z"}
    start, end = datetime(2024, 3, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, 3, tzinfo=UTC)
    primary = get(server, "/api/summary", query=demo.QUERY, **rng).json()
    named = get(server, "/api/summary", query=demo.QUERY, analyzer=demo.PRIMARY, **rng).json()
    assert named == {**primary, "analyzer": demo.PRIMARY}  # the primary's tables, unchanged
    body = get(server, "/api/summary", query=demo.QUERY, analyzer=demo.CONTRARIAN, **rng).json()
    want = demo.swapped(demo.expected(analysed.path, start, end))
    assert body["analyzer"] == demo.CONTRARIAN
    assert body["tweets"] == want["tweets"] and body["windows"] == want["windows"] == 8
    for label in want["shares"]:
        assert body["shares"][label] == pytest.approx(want["shares"][label], abs=1e-6)
        assert body["averages"][label] == pytest.approx(want["averages"][label], abs=1e-6)
    assert body["shares"]["positive"] != primary["shares"]["positive"]

    win = get(server, "/api/windows", query=demo.QUERY, **rng).json()
    other = get(server, "/api/windows", query=demo.QUERY, analyzer=demo.CONTRARIAN, **rng).json()
    assert other["time"] == win["time"] and other["count_tweets"] == win["count_tweets"]
    assert other["avg_positive"] == win["avg_negative"]
    assert other["perc_tweet_negative"] == win["perc_tweet_positive"]

    window = "2024-03-01T03:00:00Z"
    mine = get(server, "/api/tweets", query=demo.QUERY, window=window).json()["tweets"]
    theirs = get(
        server, "/api/tweets", query=demo.QUERY, window=window, analyzer=demo.CONTRARIAN
    ).json()["tweets"]
    assert [t["tweet_id"] for t in theirs] == [t["tweet_id"] for t in mine]
    swap = {"POSITIVE": "NEGATIVE", "NEGATIVE": "POSITIVE"}
    assert [t["label"] for t in theirs] == [swap.get(t["label"], t["label"]) for t in mine]
    assert [t["positive"] for t in theirs] == [t["negative"] for t in mine]
    assert [t["text"] for t in theirs] == [t["text"] for t in mine]
    only = get(
        server,
        "/api/tweets",
        query=demo.QUERY,
        window=window,
        analyzer=demo.CONTRARIAN,
        label="positive",
    ).json()["tweets"]
    assert only and {t["label"] for t in only} == {"POSITIVE"}


def test_agreement_of_the_demo(server: str, analysed: demo.DemoWarehouse) -> None:
    pair = {"a": demo.PRIMARY, "b": demo.CONTRARIAN}
    body = get(server, "/api/agreement", query=demo.QUERY, **pair).json()
    want = demo.agreement(analysed.path, demo.PRIMARY, demo.CONTRARIAN)
    assert body["n"] == want["n"] > 3000
    assert body["agreement"] == pytest.approx(want["agreement"], abs=1e-6)
    assert body["kappa"] == pytest.approx(want["kappa"], abs=1e-6)
    assert body["windows"] == 32 and sum(body["window_n"]) == body["n"]
    same = get(server, "/api/agreement", query=demo.QUERY, a=demo.PRIMARY, b=demo.PRIMARY).json()
    assert same["agreement"] == same["kappa"] == 1.0


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


def test_same_answers_from_postgres(analysed: demo.DemoWarehouse, postgres_dsn: str) -> None:
    built = analysed
    context = Context(demo.make_config(built.data_dir.parent))
    pg = create("warehouse", context, BackendSection(type="postgres", dsn=postgres_dsn))
    duck = create("warehouse", context, BackendSection(type="duckdb", path=str(built.path)))
    try:
        pg.load(demo.QUERY, built.files)
        demo.add_contrarian(postgres_dsn)
        params = {
            "query": demo.QUERY,
            "start": "2024-03-01T01:00:00Z",
            "end": "2024-03-01T05:00:00Z",
        }
        pair = {"a": demo.PRIMARY, "b": demo.CONTRARIAN}
        with _Serving(pg) as pg_url, _Serving(duck) as duck_url:
            for path, extra in (
                ("/api/summary", {}),
                ("/api/windows", {}),
                ("/api/summary", {"analyzer": demo.CONTRARIAN}),
                ("/api/windows", {"analyzer": demo.CONTRARIAN}),
                ("/api/agreement", pair),
                ("/api/analyzers", {}),
            ):
                a, b = get(pg_url, path, **params, **extra), get(duck_url, path, **params, **extra)
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


# A warehouse of two analyzers, ``default`` (the primary) and ``bert``, on posts with known
# labels: windows W1 and W2 hold 5 posts each that both scored, 8 of the 10 with the same
# label; W3 one post both call positive; one more post of W1 only the primary scored.
W1 = datetime(2024, 3, 1, tzinfo=UTC)
W2, W3 = W1 + timedelta(minutes=15), W1 + timedelta(minutes=30)
SMALL = "kappa check"
BY_DEFAULT = ["P", "P", "P", "P", "N", "N", "N", "U", "U", "M", "P", "U"]
BY_BERT = ["P", "P", "P", "N", "N", "N", "U", "U", "U", "M", "P"]  # posts 4 and 7 differ
WINDOWS = [W1] * 5 + [W2] * 5 + [W3] + [W1]
FULL = {"P": "POSITIVE", "N": "NEGATIVE", "U": "NEUTRAL", "M": "MIXED"}


def _score_rows(analyzer: str, labels: list[str]) -> list[tuple[str, list]]:
    rows = []
    for i, (label, window) in enumerate(zip(labels, WINDOWS, strict=False)):
        scores = [1.0 if label == k else 0.0 for k in ("P", "N", "U", "M")]
        rows.append(
            (
                "INSERT INTO tweet_score VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [SMALL, f"{i + 1}", analyzer, window, FULL[label], *scores],
            )
        )
    return rows


def _tweet_rows(query: str, labels: list[str]) -> list[tuple[str, list]]:
    return [
        (
            "INSERT INTO tweet (query, tweet_id, created_at, time_window, text, label, positive, "
            "negative, neutral, mixed, analyzer, engagement) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            [
                query,
                f"{i + 1}",
                window + timedelta(seconds=i),
                window,
                f"post {i + 1}",
                FULL[label],
                *[1.0 if label == k else 0.0 for k in ("P", "N", "U", "M")],
                "default",
            ],
        )
        for i, (label, window) in enumerate(zip(labels, WINDOWS, strict=False))
    ]


def _by_window(table: str, analyzer: str | None) -> tuple[str, list]:
    shares = ", ".join(
        f"AVG(CASE WHEN label = '{label}' THEN 1.0 ELSE 0.0 END)"
        for label in ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
    )
    select = (
        "SELECT query, time_window, COUNT(*), AVG(positive), AVG(negative), AVG(neutral), "
        f"AVG(mixed), {shares} FROM tweet"
    )
    if analyzer is None:
        # Posts of no engagement and no reposts: the opinions are the posts.
        cols = ", ".join(c for c in SENTIMENT_BY_ANALYZER.column_names if c != "analyzer")
        opinions = ", ".join(
            f"perc_opinion_{x}" for x in ("positive", "negative", "neutral", "mixed")
        )
        select = select.replace(" FROM tweet", f", 0, COUNT(*), {shares}, 0 FROM tweet")
        into = f"{table} ({cols}, count_reposts, count_opinions, {opinions}, engagement)"
        return f"INSERT INTO {into} {select} GROUP BY query, time_window", []
    select = select.replace("SELECT query,", "SELECT query, analyzer,").replace(
        "FROM tweet", "FROM tweet_score WHERE analyzer = ?"
    )
    return f"INSERT INTO {table} {select} GROUP BY query, analyzer, time_window", [analyzer]


def _fresh(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[SqlReads, Path | str]:
    context = Context(demo.make_config(tmp_path))
    if request.param == "duckdb":
        target: Path | str = tmp_path / "warehouse.duckdb"
        section = BackendSection(type="duckdb", path=str(target))
    else:
        target = request.getfixturevalue("postgres_dsn")
        section = BackendSection(type="postgres", dsn=target)
    wh = create("warehouse", context, section)
    # The tables of a warehouse written before the analyses tables existed.
    demo.execute(target, [(demo.dialect(target).create_table(t), []) for t in TABLES])
    return wh, target


@pytest.fixture(params=["duckdb", "postgres"])
def old(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlReads]:
    wh, target = _fresh(request, tmp_path)
    demo.execute(target, [*_tweet_rows(SMALL, BY_DEFAULT), _by_window("sentiment", None)])
    yield wh
    wh.close()


@pytest.fixture(params=["duckdb", "postgres"])
def small(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlReads]:
    wh, target = _fresh(request, tmp_path)
    demo.execute(
        target,
        [
            *demo.analysis_tables(target),
            *_tweet_rows(SMALL, BY_DEFAULT),
            *_tweet_rows("lonely", ["P"]),  # posts, but no rows in the analyses tables
            *_score_rows("default", BY_DEFAULT),
            *_score_rows("bert", BY_BERT),
            (agreement_from_scores_sql(), []),
            _by_window("sentiment", None),
            _by_window("sentiment_by_analyzer", "default"),
            _by_window("sentiment_by_analyzer", "bert"),
        ],
    )
    yield wh
    wh.close()


def test_analyzers_of_a_warehouse_without_the_analyses_tables(old: SqlReads) -> None:
    assert old.analyzers(SMALL) == ["default"]
    assert old.analyzers("no such topic") == []
    assert old.agreement(SMALL, "default", "default")["overall"]["n"] == 0
    assert old.summary(SMALL)["tweets"] == 12  # the primary's tables answer as before


def test_analyzers_primary_first(small: SqlReads) -> None:
    assert small.analyzers(SMALL) == ["default", "bert"]
    assert small.analyzers("lonely") == ["default"]
    assert small.primary_analyzer(SMALL) == "default"


def test_reads_per_analyzer(small: SqlReads) -> None:
    bert = small.summary(SMALL, W1, W3, analyzer="bert")
    assert (bert["windows"], bert["tweets"]) == (2, 10)
    assert bert["shares"] == pytest.approx(
        {"POSITIVE": 0.3, "NEGATIVE": 0.3, "NEUTRAL": 0.3, "MIXED": 0.1}
    )
    assert bert["averages"] == pytest.approx(bert["shares"])
    primary = small.summary(SMALL, W1, W3)
    assert primary["tweets"] == 11
    assert primary["shares"]["POSITIVE"] == pytest.approx(4 / 11)
    series = small.window_series(SMALL, analyzer="bert")
    assert series["count_tweets"] == [5, 5, 1]
    assert series["perc_tweet_negative"] == pytest.approx([0.4, 0.2, 0.0])
    assert [w["count_tweets"] for w in small.windows(SMALL, W1, W2, analyzer="bert")] == [5]
    posts = small.tweets(SMALL, W1, analyzer="bert")
    assert [p["tweet_id"] for p in posts] == ["1", "2", "3", "4", "5"]
    assert posts[3]["label"] == "NEGATIVE" and posts[3]["negative"] == 1.0
    assert posts[3]["text"] == "post 4" and posts[3]["analyzer"] == "bert"
    assert [p["tweet_id"] for p in small.tweets(SMALL, W1, label="NEGATIVE", analyzer="bert")] == [
        "4",
        "5",
    ]
    assert len(small.tweets(SMALL, W1)) == 6
    assert small.tweets(SMALL, W1)[3]["label"] == "POSITIVE"


def test_agreement_worked_by_hand(small: SqlReads) -> None:
    got = small.agreement(SMALL, "default", "bert", W1, W3)
    # 10 posts, 8 with the same label. Counts (default, bert): P 4, 3; N 3, 3; U 2, 3; M 1, 1:
    # pe = (4*3 + 3*3 + 2*3 + 1*1) / 100 = 0.28, kappa = (0.8 - 0.28) / (1 - 0.28).
    assert got["overall"]["n"] == 10
    assert got["overall"]["agreement"] == pytest.approx(0.8)
    assert got["overall"]["kappa"] == pytest.approx(0.52 / 0.72)
    by_hand = demo.kappa([FULL[x] for x in BY_DEFAULT[:10]], [FULL[x] for x in BY_BERT[:10]])
    assert got["overall"]["kappa"] == pytest.approx(by_hand["kappa"])
    series = got["series"]
    assert series["time"] == [int(W1.timestamp()), int(W2.timestamp())]
    assert series["n"] == [5, 5]
    assert series["agreement"] == pytest.approx([0.8, 0.8])
    # W1: P 4, 3; N 1, 2: pe = 14/25 = 0.56. W2: N 2, 1; U 2, 3; M 1, 1: pe = 9/25 = 0.36.
    assert series["kappa"] == pytest.approx([0.24 / 0.44, 0.44 / 0.64])
    # One post both call positive: chance agreement is 1, so kappa is undefined.
    last = small.agreement(SMALL, "default", "bert", W3)
    assert last["overall"] == {"n": 1, "agreement": 1.0, "kappa": None}
    assert last["series"]["kappa"] == [None]
    assert small.agreement(SMALL, "bert", "default", W1, W3)["overall"] == got["overall"]
    assert small.agreement(SMALL, "default", "bert", W1 - timedelta(days=1), W1)["overall"] == {
        "n": 0,
        "agreement": None,
        "kappa": None,
    }


def test_agreement_endpoint(small: SqlReads) -> None:
    with _Serving(small) as url:
        body = get(
            url, "/api/agreement", query=SMALL, a="default", b="bert", end="2024-03-01T00:30:00Z"
        ).json()
        assert body["n"] == 10 and body["agreement"] == 0.8
        assert body["kappa"] == pytest.approx(0.52 / 0.72, abs=1e-6)
        assert body["window_n"] == [5, 5] and body["window_agreement"] == [0.8, 0.8]
        assert body["window_kappa"] == [round(0.24 / 0.44, 4), round(0.44 / 0.64, 4)]
        single: dict[str, Any] = get(
            url, "/api/agreement", query=SMALL, a="default", b="bert", start="2024-03-01T00:30:00Z"
        ).json()
        assert single["kappa"] is None and single["window_kappa"] == [None]
        bad = get(url, "/api/agreement", query="lonely", a="default", b="bert")
        assert bad.status_code == 400
        assert bad.json()["error"].startswith("b: 'bert' has no results for this query")


# The insight endpoints over a small warehouse whose posts, windows, drivers and spikes are
# known (tests/dashboard_data.py), on DuckDB and PostgreSQL, each answer checked against SQL
# on the warehouse.
OTHER = "other topic"


@pytest.fixture(params=["duckdb", "postgres"])
def insight(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[TestClient, Path | str]]:
    wh, target = _fresh(request, tmp_path)
    demo.add_insight(target)
    demo.add_insight(target, OTHER, recall=False)
    with TestClient(create_app(wh, reposts="once")) as client:
        yield client, target
    wh.close()


def _at(i: int) -> str:
    return demo.insight_window(i).isoformat().replace("+00:00", "Z")


def test_windows_roll_up_in_sql(insight: tuple[TestClient, Path | str]) -> None:
    client, target = insight
    native = client.get("/api/windows", params={"query": demo.INSIGHT}).json()
    assert native["bucket"] == "15m" and native["windows"] == demo.INSIGHT_WINDOWS
    assert native["volume"][0] is None and native["volume"][6] == 560
    assert native["count_opinions"] == [9] * 8 and native["count_reposts"] == [3] * 8
    assert native["net"][5] == round(1 / 12 - 9 / 12, 4)
    auto = client.get("/api/windows", params={"query": demo.INSIGHT, "bucket": "auto"}).json()
    assert auto == {**native, "bucket": "15m"}
    hourly = client.get("/api/windows", params={"query": demo.INSIGHT, "bucket": "1h"}).json()
    want = demo.fetch(
        target,
        "SELECT CAST(FLOOR(EXTRACT(EPOCH FROM time_window) / 3600) AS BIGINT) * 3600 AS t, "
        "SUM(count_tweets), SUM(volume), SUM(engagement), "
        "SUM(perc_tweet_negative * count_tweets) / SUM(count_tweets), "
        "SUM(perc_opinion_positive * count_opinions) / SUM(count_opinions), "
        "SUM(weighted_net * (count_tweets + engagement)) / SUM(count_tweets + engagement), "
        "SUM(avg_mixed * count_tweets) / SUM(count_tweets) "
        "FROM sentiment WHERE query = ? GROUP BY 1 ORDER BY 1",
        [demo.INSIGHT],
    )
    assert hourly["bucket_seconds"] == 3600 and hourly["windows"] == len(want) == 2
    assert hourly["time"] == [int(r[0]) for r in want]
    assert hourly["count_tweets"] == [int(r[1]) for r in want]
    assert hourly["volume"] == [int(r[2]) for r in want]
    assert hourly["engagement"] == [int(r[3]) for r in want]
    for key, col in (
        ("perc_tweet_negative", 4),
        ("perc_opinion_positive", 5),
        ("weighted_net", 6),
        ("avg_mixed", 7),
    ):
        assert hourly[key] == pytest.approx([float(r[col]) for r in want], abs=1e-4)
    daily = client.get(
        "/api/windows", params={"query": demo.INSIGHT, "bucket": "1d", "from": _at(2)}
    ).json()
    assert daily["time"] == [int(demo.INSIGHT_START.timestamp())]
    assert daily["count_tweets"] == [6 * demo.POSTS_PER_WINDOW]


def test_summary_volume_and_previous_period(insight: tuple[TestClient, Path | str]) -> None:
    client, target = insight
    body = client.get(
        "/api/summary", params={"query": demo.INSIGHT, "start": _at(4), "end": _at(8)}
    ).json()
    rows = demo.fetch(
        target,
        "SELECT time_window >= ? AS now, SUM(volume), SUM(engagement), SUM(count_opinions), "
        "SUM(perc_tweet_negative * count_tweets) / SUM(count_tweets), "
        "SUM(perc_tweet_positive * count_tweets) / SUM(count_tweets) "
        "FROM sentiment WHERE query = ? GROUP BY 1",
        [demo.insight_window(4), demo.INSIGHT],
    )
    now, then = (next(r for r in rows if r[0] is flag) for flag in (True, False))
    assert body["volume"] == int(now[1]) == 150 + 560 + 170 + 140
    assert body["engagement"] == int(now[2]) and body["opinions"] == int(now[3])
    assert body["shares"]["negative"] == pytest.approx(float(now[4]), abs=1e-6)
    assert body["net"] == pytest.approx(float(now[5]) - float(now[4]), abs=1e-6)
    assert body["estimated"]["negative"] == pytest.approx(float(now[4]) * body["volume"], abs=0.1)
    prev = body["previous"]
    assert (prev["start"], prev["end"]) == ("2024-03-01T00:00:00.000Z", "2024-03-01T01:00:00.000Z")
    assert prev["volume"] == int(then[1]) and prev["windows"] == 4
    assert body["deltas"]["volume"] == body["volume"] - prev["volume"]
    assert body["deltas"]["shares"]["negative"] == pytest.approx(
        float(now[4]) - float(then[4]), abs=1e-5
    )
    # Window 0 was not counted: no volume, and nothing to estimate from.
    first = client.get("/api/summary", params={"query": demo.INSIGHT, "end": _at(1)}).json()
    assert first["volume"] is None and first["estimated"] is None
    assert first["previous"] is None and first["deltas"] is None and first["tweets"] == 12


def _fightin_words(target: Path | str, label: str, start: int, end: int) -> dict[str, float]:
    """Monroe, Colaresi & Quinn's z-score of every term of the range's posts of ``label``
    (at least 3 of them) against the rest of the query, recomputed from ``driver``."""
    rows = demo.fetch(
        target,
        "SELECT kind || ':' || term, SUM(CASE WHEN label = ? AND time_window >= ? "
        "AND time_window < ? THEN count ELSE 0 END), SUM(count) FROM driver WHERE query = ? "
        "GROUP BY 1",
        [label, demo.insight_window(start), demo.insight_window(end), demo.INSIGHT],
    )
    y_i = {k: int(a) for k, a, _ in rows}
    prior = {k: int(b) for k, _, b in rows}
    n_i, a0 = sum(y_i.values()), sum(prior.values())
    n_j = a0 - n_i
    out = {}
    for k, y in y_i.items():
        a, y_j = prior[k], prior[k] - y
        if y < 3:
            continue
        delta = math.log((y + a) / (n_i + a0 - y - a)) - math.log((y_j + a) / (n_j + a0 - y_j - a))
        z = delta / math.sqrt(1 / (y + a) + 1 / (y_j + a))
        if z > 0:
            out[k] = z
    return out


def test_drivers_of_the_dip(insight: tuple[TestClient, Path | str]) -> None:
    client, target = insight
    rng = {"query": demo.INSIGHT, "start": _at(5), "end": _at(7)}
    body = client.get("/api/drivers", params=rng).json()
    assert body["label"] == "negative" and body["min_count"] == 3
    got = {f"{d['kind']}:{d['term']}": d["score"] for d in body["drivers"]}
    want = _fightin_words(target, "NEGATIVE", 5, 7)
    assert got == pytest.approx({k: round(v, 3) for k, v in want.items()}, abs=1e-3)
    assert {f"{d['kind']}:{d['term']}" for d in body["drivers"][:3]} == set(demo.RECALL)
    recall = next(d for d in body["drivers"] if d["term"] == "recall")
    assert (recall["count"], recall["rest"]) == (16, 0)
    scores = [d["score"] for d in body["drivers"]]
    assert scores == sorted(scores, reverse=True)

    positive = client.get("/api/drivers", params={**rng, "label": "positive"}).json()
    assert positive["drivers"] == []  # two positive posts in the dip: under the minimum count
    calm = {"query": demo.INSIGHT, "start": _at(0), "end": _at(4), "label": "positive"}
    top = client.get("/api/drivers", params=calm).json()["drivers"]
    assert {d["term"] for d in top[:2]} == {"range", "@maker"}
    tags = client.get("/api/drivers", params={**rng, "kind": "entity", "limit": "1"}).json()
    assert [d["term"] for d in tags["drivers"]] == ["Acme"]
    none = client.get("/api/drivers", params={**rng, "min_count": "17"}).json()
    assert none["drivers"] == []


def test_spikes_with_their_drivers(insight: tuple[TestClient, Path | str]) -> None:
    client, _ = insight
    body = client.get("/api/spikes", params={"query": demo.INSIGHT}).json()
    down, volume = body["spikes"]
    assert (down["time_window"], down["metric"], down["direction"]) == (
        "2024-03-01T01:15:00.000Z",
        "net_sentiment",
        "down",
    )
    assert down["label"] == "negative" and down["score"] == -5.2 and down["baseline"] == 0.1
    assert {f"{d['kind']}:{d['term']}" for d in down["drivers"]} == set(demo.RECALL)
    assert volume["metric"] == "volume" and volume["label"] is None
    assert {d["term"] for d in volume["drivers"]} == {"recall", "Acme", "news.example"}
    later = client.get("/api/spikes", params={"query": demo.INSIGHT, "start": _at(6)}).json()
    assert [s["metric"] for s in later["spikes"]] == ["volume"]
    assert client.get("/api/spikes", params={"query": OTHER}).json()["spikes"] == []


def test_posts_of_a_range(insight: tuple[TestClient, Path | str]) -> None:
    client, target = insight
    rng = {"query": demo.INSIGHT, "start": _at(4), "end": _at(8), "limit": "10"}
    top = client.get("/api/tweets", params={**rng, "sort": "engagement"}).json()["tweets"]
    want = demo.fetch(
        target,
        "SELECT tweet_id, engagement FROM tweet WHERE query = ? AND time_window >= ? "
        "AND time_window < ? ORDER BY engagement DESC, created_at, tweet_id LIMIT 10",
        [demo.INSIGHT, demo.insight_window(4), demo.insight_window(8)],
    )
    assert [(t["tweet_id"], t["engagement"]) for t in top] == [(r[0], r[1]) for r in want]
    first = top[0]
    assert first["url"] == f"https://x.com/i/web/status/{first['tweet_id']}"
    assert first["username"].startswith("user") and first["name"].startswith("User ")
    assert first["post_type"] in demo.POST_TYPES and first["like_count"] is not None

    scored = client.get(
        "/api/tweets", params={**rng, "sort": "score", "score_label": "positive"}
    ).json()["tweets"]
    assert {t["label"] for t in scored[:4]} == {"POSITIVE"}

    posts = demo.insight_posts()
    in_range = [p for p in posts if p["time_window"] >= demo.insight_window(4)]
    recall = {p["tweet_id"] for p in in_range if "\nterm:recall\n" in (p["terms"] or "")}
    by_term = client.get(
        "/api/tweets", params={**rng, "limit": "100", "driver": "term:recall"}
    ).json()["tweets"]
    assert {t["tweet_id"] for t in by_term} == recall and len(recall) == 16
    once = client.get(
        "/api/tweets", params={**rng, "limit": "100", "driver": "term:recall", "reposts": "once"}
    ).json()["tweets"]
    assert {t["tweet_id"] for t in once} == {
        p["tweet_id"] for p in in_range if p["tweet_id"] in recall and p["post_type"] != "repost"
    }
    replies = client.get(
        "/api/tweets", params={**rng, "limit": "100", "post_type": "reply", "label": "negative"}
    ).json()["tweets"]
    assert replies and {(t["post_type"], t["label"]) for t in replies} == {("reply", "NEGATIVE")}
    # A window still lists its posts oldest first, as before.
    window = client.get("/api/tweets", params={"query": demo.INSIGHT, "window": _at(2)}).json()
    assert window["window"] == "2024-03-01T00:30:00.000Z" and len(window["tweets"]) == 12
    times = [t["created_at"] for t in window["tweets"]]
    assert times == sorted(times)


def test_share_of_voice(insight: tuple[TestClient, Path | str]) -> None:
    client, target = insight
    body = client.get(
        "/api/share", params={"queries": f"{demo.INSIGHT},{OTHER}", "bucket": "1h"}
    ).json()
    repeated = client.get(
        "/api/share", params=[("queries", demo.INSIGHT), ("queries", OTHER), ("bucket", "1h")]
    ).json()
    assert body == repeated and body["queries"] == [demo.INSIGHT, OTHER]
    want = demo.fetch(
        target,
        "SELECT query, CAST(FLOOR(EXTRACT(EPOCH FROM time_window) / 3600) AS BIGINT) * 3600, "
        "SUM(COALESCE(volume, count_tweets)), "
        "SUM((perc_tweet_positive - perc_tweet_negative) * count_tweets) / SUM(count_tweets) "
        "FROM sentiment GROUP BY 1, 2 ORDER BY 2, 1",
        [],
    )
    assert body["time"] == sorted({int(r[1]) for r in want})
    for series in body["series"]:
        mine = [r for r in want if r[0] == series["query"]]
        assert series["volume"] == [int(r[2]) for r in mine]
        assert series["net"] == pytest.approx([float(r[3]) for r in mine], abs=1e-4)
    assert sum(s["share"] for s in body["series"]) == pytest.approx(1.0)
    assert body["series"][0]["net"][1] < body["series"][1]["net"][1]  # the dip is one topic's


@pytest.mark.parametrize(
    ("path", "params", "key"),
    [
        ("/api/summary", {"start": _at(4), "end": _at(8)}, None),
        ("/api/windows", {"bucket": "1h"}, "time"),
        ("/api/drivers", {"start": _at(5), "end": _at(7)}, "drivers"),
        ("/api/spikes", {}, "spikes"),
        ("/api/tweets", {"start": _at(5), "sort": "engagement"}, "tweets"),
        ("/api/share", {"queries": f"{demo.INSIGHT},{OTHER}"}, None),
    ],
)
def test_csv_of_each_panel(
    insight: tuple[TestClient, Path | str], path: str, params: dict[str, str], key: str | None
) -> None:
    client, _ = insight
    args = params if "queries" in params else {"query": demo.INSIGHT, **params}
    body = client.get(path, params=args).json()
    r = client.get(path, params={**args, "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    name = path.removeprefix("/api/")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="tweetsense-{name}-recall-check')
    assert disposition.endswith('.csv"')
    rows = list(csv.reader(io.StringIO(r.text)))
    if key is not None:
        assert len(rows) - 1 == len(body[key])
    if name == "summary":
        assert [r[0] for r in rows[1:]] == ["range", "previous", "change"]
        header = rows[0]
        assert rows[1][header.index("volume")] == str(body["volume"])
    if name == "share":
        assert len(rows) - 1 == 2 * len(body["time"])
    if name == "drivers":
        assert rows[0] == ["term", "kind", "count", "rest", "score"]
        assert rows[1][0] == body["drivers"][0]["term"]
    if name == "windows":
        assert rows[1][0] == "2024-03-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("path", "params", "setting"),
    [
        ("/api/windows", {"query": demo.INSIGHT, "bucket": "2h"}, "bucket"),
        ("/api/windows", {"query": demo.INSIGHT, "format": "xml"}, "format"),
        ("/api/queries", {"format": "csv"}, "format"),
        ("/api/summary", {"query": demo.INSIGHT, "from": "x"}, "from"),
        ("/api/summary", {"query": demo.INSIGHT, "from": _at(1), "start": _at(2)}, "from"),
        ("/api/drivers", {"query": demo.INSIGHT, "label": "happy"}, "label"),
        ("/api/drivers", {"query": demo.INSIGHT, "kind": "emoji"}, "kind"),
        ("/api/drivers", {"query": demo.INSIGHT, "min_count": "0"}, "min_count"),
        ("/api/drivers", {"query": demo.INSIGHT, "limit": "500"}, "limit"),
        ("/api/spikes", {}, "query"),
        ("/api/tweets", {"query": demo.INSIGHT, "start": _at(1), "sort": "likes"}, "sort"),
        ("/api/tweets", {"query": demo.INSIGHT, "start": _at(1), "post_type": "x"}, "post_type"),
        ("/api/tweets", {"query": demo.INSIGHT, "start": _at(1), "driver": "recall"}, "driver"),
        ("/api/tweets", {"query": demo.INSIGHT, "start": _at(1), "reposts": "x"}, "reposts"),
        (
            "/api/tweets",
            {"query": demo.INSIGHT, "score_label": "x", "start": _at(1)},
            "score_label",
        ),
        ("/api/tweets", {"query": demo.INSIGHT}, "window"),
        ("/api/share", {"queries": " , "}, "queries"),
        ("/api/share", {"queries": ",".join(f"q{i}" for i in range(11))}, "queries"),
    ],
)
def test_bad_insight_parameters_are_one_line_400s(
    insight: tuple[TestClient, Path | str], path: str, params: dict[str, str], setting: str
) -> None:
    client, _ = insight
    r = client.get(path, params=params)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error.startswith(f"{setting}: ")
    assert "\n" not in error and "Traceback" not in error


def test_config_serves_the_reposts_default(insight: tuple[TestClient, Path | str]) -> None:
    client, _ = insight
    assert client.get("/api/config").json() == {"reposts": "once"}


def test_insight_reads_of_a_warehouse_without_the_insight_tables(old: SqlReads) -> None:
    with TestClient(create_app(old)) as client:
        assert client.get("/api/drivers", params={"query": SMALL}).json()["drivers"] == []
        assert client.get("/api/spikes", params={"query": SMALL}).json()["spikes"] == []
        body = client.get("/api/summary", params={"query": SMALL}).json()
        assert body["tweets"] == 12 and body["volume"] is None
