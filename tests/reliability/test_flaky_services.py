"""The X API, the stream and the analyzer each fail a seeded 20% of calls; the run still
stores every window exactly once, with every retry bounded and logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.reliability import flaky
from tests.reliability.crash import compare
from tests.servers.fake_x_api import FakeXApi
from tweetsense import layout
from tweetsense.config import build_config
from tweetsense.pipeline import Pipeline, run_all
from tweetsense.pipeline import ingest as ingest_stage
from tweetsense.pipeline.manifest import Manifest
from tweetsense.retry import ATTEMPTS
from tweetsense.secrets import Secrets
from tweetsense.sources.x_ratelimit import _SHARED

TOKEN = "AAAA-flaky-bearer-51d0c3"
WINDOWS = 16


@pytest.fixture
def api() -> Iterator[FakeXApi]:
    server = FakeXApi(token=TOKEN, failure_rate=0.2, limit=200, period=2, hang=0.6, seed=5)
    server.start()
    yield server
    server.stop()
    _SHARED.clear()


def _pipeline(data: Path, api: FakeXApi, start: datetime, *, flaky_backends: bool) -> Pipeline:
    config = build_config(
        {
            "data_dir": str(data),
            "search": {
                "query": "heat pumps",
                "start_time": start,
                "end_time": start + timedelta(minutes=15 * WINDOWS),
                "max_per_window": None,
            },
            "source": {
                "type": "x_api",
                "base_url": api.url,
                "page_size": 50,
                "timeout": 0.4,
                "backoff": 0.01,
                "max_backoff": 0.05,
                "rate_margin": 0.02,
            },
            "stream": (
                {"type": "flaky_sqlite", "seed": 3, "max_attempts": 6, "poll_batch": 1}
                if flaky_backends
                else {"type": "sqlite"}
            ),
            "sentiment": (
                {"type": "flaky_vader", "seed": 4, "workers": 1, "batch_size": 200}
                if flaky_backends
                else {"type": "vader", "workers": 1, "batch_size": 200}
            ),
        },
        environ={},
    )
    return Pipeline(config, Secrets(environ={"X_BEARER_TOKEN": TOKEN}))


def _tables(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "tweet": con.execute("SELECT * FROM tweet ORDER BY tweet_id").fetchall(),
            "sentiment": con.execute("SELECT * FROM sentiment ORDER BY time_window").fetchall(),
        }
    finally:
        con.close()


@pytest.mark.slow
def test_twenty_percent_faults_everywhere_store_every_window_once(
    tmp_path: Path, api: FakeXApi, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches: many stream calls, so the 20% of them that fail are many too.
    monkeypatch.setattr(ingest_stage, "PUBLISH_BATCH", 1)
    flaky.register()
    flaky.INJECTED.clear()
    now = datetime.now(UTC)
    start = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0) - timedelta(
        minutes=15 * WINDOWS + 60
    )
    caplog.set_level(logging.INFO, logger="tweetsense")
    p = _pipeline(tmp_path / "flaky", api, start, flaky_backends=True)
    try:
        report = run_all(p)
    finally:
        p.close()
    assert report.ingest.failed == [] and report.consume.failed == []
    assert report.consume.dead_letters == 0
    assert report.load.windows == WINDOWS

    # Faults of every kind were injected, in every service.
    assert sum(api.stats.injected.values()) > 0
    assert {k.split("-")[0] for k in flaky.INJECTED} == {"publish", "poll", "commit", "analyze"}
    assert flaky.INJECTED["publish-partial"] + flaky.INJECTED["analyze-partial"] > 0

    # Every window stored exactly once: one staging and one sentiment file each (none for a
    # window the API had no posts for), no duplicate row.
    sentiment = list(p.store.list(f"{layout.SENTIMENT}/{p.slug}"))
    empty = Manifest.load(p.store, p.slug, p.query).empty
    assert len(sentiment) == len(set(sentiment)) == WINDOWS - len(empty)
    flaky_tables = _tables(tmp_path / "flaky" / "warehouse.duckdb")
    ids = [row[1] for row in flaky_tables["tweet"]]
    assert len(ids) == len(set(ids)) > 0

    # Same numbers as a run on services that never fail.
    api.failure_rate = 0.0
    clean = _pipeline(tmp_path / "clean", api, start, flaky_backends=False)
    try:
        run_all(clean)
    finally:
        clean.close()
    assert compare(_tables(tmp_path / "clean" / "warehouse.duckdb"), flaky_tables) == []

    # Retries are logged one line each, and bounded.
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert retries, "stream faults were retried with a log line"
    assert all(f"of {ATTEMPTS}" in line for line in retries)
    assert all(f"attempt {ATTEMPTS} of" not in line for line in retries)
    assert all("\n" not in line for line in retries)


def test_retries_stop_after_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from tweetsense import retry
    from tweetsense.errors import BackendUnavailableError, BadInputError

    monkeypatch.setattr(retry, "BACKOFF", 0.0)
    calls: list[Any] = []

    def down() -> None:
        calls.append(1)
        raise BackendUnavailableError("stream: 503")

    with pytest.raises(BackendUnavailableError):
        retry.with_retries("publishing", down)
    assert len(calls) == ATTEMPTS

    def bad() -> None:
        calls.append(2)
        raise BadInputError("record 3: field id is missing")

    with pytest.raises(BadInputError):
        retry.with_retries("publishing", bad)
    assert calls.count(2) == 1  # a terminal error is never retried


def test_backoff_doubles_up_to_its_cap_and_jitters_in_the_upper_half() -> None:
    from tweetsense.retry import backoff_delay

    assert [backoff_delay(n, 0.5, 3.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    waits = [backoff_delay(3, 0.5, 3.0, jitter=True) for _ in range(200)]
    assert all(1.0 <= w <= 2.0 for w in waits) and len(set(waits)) > 1
