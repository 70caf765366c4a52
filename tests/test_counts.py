"""True volume: the X API counts endpoints against the fake server, and windows' sums."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers.fake_x_api import FakeXApi
from tests.test_source_x_api import TOKEN, pipeline, staged
from tweetsense.config import SearchConfig
from tweetsense.pipeline.ingest import ingest
from tweetsense.sources.x_api import XApiSource
from tweetsense.sources.x_counts import granularity, sum_buckets
from tweetsense.sources.x_ratelimit import _SHARED
from tweetsense.timeutil import Window, windows_between

RECENT = "/2/tweets/counts/recent"
ALL = "/2/tweets/counts/all"


@pytest.fixture
def fake() -> Iterator[Any]:
    servers: list[FakeXApi] = []

    def start(**kwargs: Any) -> FakeXApi:
        kwargs.setdefault("token", TOKEN)
        kwargs.setdefault("empty_share", 0.0)
        server = FakeXApi(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    _SHARED.clear()


def _span(window: Window) -> tuple[int, int]:
    return int(window.start.timestamp()), int(window.end.timestamp())


def test_volumes_are_counted_once_and_staged_beside_the_posts(tmp_path: Path, fake: Any) -> None:
    api = fake()
    p = pipeline(tmp_path, api, windows=4, per_window=20)
    report = ingest(p)
    assert report.fetched == 4 and report.counted == 4
    # One recent counts request for every window, in minute buckets summed per window.
    assert api.stats.paths[RECENT] == 1 and api.stats.granularity == {"minute": 1}
    for window, doc in staged(p).items():
        assert doc.volume == len(api.counted_between(*_span(window)))
        assert doc.tweet_count == min(20, doc.volume)
    # $0.005 for the counts request, beside the posts and authors read.
    assert report.used.counts == 1
    assert report.cost == pytest.approx(
        report.used.posts * 0.005 + report.used.users * 0.01 + 0.005
    )


def test_counts_on_and_off_stage_the_same_posts(tmp_path: Path, fake: Any) -> None:
    api = fake(withheld=0.2)
    on = pipeline(tmp_path / "on", api, windows=4, per_window=None)
    off = pipeline(tmp_path / "off", api, windows=4, per_window=None, counts=False)
    ingest(on)
    requests = api.stats.paths[RECENT]
    report = ingest(off)
    assert api.stats.paths[RECENT] == requests == 1  # counts off: not one counts request
    assert report.counted == 0 and report.used.counts == 0
    with_counts, without = staged(on), staged(off)
    assert with_counts.keys() == without.keys()
    for window, doc in with_counts.items():
        assert doc.tweet_texts() == without[window].tweet_texts()
        assert without[window].volume is None
        # Search leaves out the withheld posts the counts still count.
        assert doc.volume is not None and doc.volume >= doc.tweet_count
    assert sum(d.volume or 0 for d in with_counts.values()) > sum(
        d.tweet_count for d in with_counts.values()
    )


def test_full_archive_counts_follow_next_token(tmp_path: Path, fake: Any) -> None:
    api = fake(counts_page=1800)
    p = pipeline(tmp_path, api, windows=8, per_window=10, endpoint="all", min_interval=0)
    report = ingest(p)
    # Two hours answered half an hour a page: four pages, each billed $0.010.
    assert api.stats.paths[ALL] == 4 and report.used.counts == 4
    assert api.stats.statuses[400] == 0
    for window, doc in staged(p).items():
        assert doc.volume == len(api.counted_between(*_span(window)))


def test_hourly_windows_are_counted_in_hour_buckets(tmp_path: Path, fake: Any) -> None:
    api = fake()
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start, end = now - timedelta(hours=4), now - timedelta(hours=1)
    hourly = {"start_time": start, "end_time": end, "freq": "1h"}
    p = pipeline(tmp_path, api, per_window=10, search=hourly)
    ingest(p)
    assert api.stats.granularity == {"hour": 1}
    docs = staged(p)
    assert len(docs) == 3
    for window, doc in docs.items():
        assert doc.volume == len(api.counted_between(*_span(window)))


def test_a_429_waits_for_the_reset_then_counts(tmp_path: Path, fake: Any) -> None:
    api = fake(limit=3, period=4)
    # Another client spent this window's counts requests already.
    while time.time() % 4 > 1:
        time.sleep(0.05)  # so the three and the run's first request share a window
    for _ in range(3):  # refused at once (400), counted all the same
        httpx.get(
            api.url + RECENT,
            params={"query": "x", "granularity": "week"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    p = pipeline(tmp_path, api, windows=2, per_window=10)
    started = time.monotonic()
    report = ingest(p)
    assert api.stats.statuses[429] >= 1
    assert report.counted == 2 and report.used.counts == 1
    assert time.monotonic() - started < 12


def test_a_counts_error_loses_no_posts(
    tmp_path: Path, fake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    api = fake(counts_forbidden=True)
    p = pipeline(tmp_path, api, windows=3, per_window=10)
    with caplog.at_level(logging.WARNING):
        report = ingest(p)
    assert report.fetched == 3 and not report.failed and report.counted == 0
    assert all(doc.volume is None and doc.tweet_count for doc in staged(p).values())
    warning = next(r.getMessage() for r in caplog.records if "volumes not counted" in r.message)
    assert "403" in warning and "source.counts: false" in warning and "\n" not in warning
    assert TOKEN not in caplog.text


def test_the_estimate_counts_a_request_per_31_days() -> None:
    search = SearchConfig(
        query="ev", start_time="2024-01-01T00:00:00Z", end_time="2024-03-03T00:00:00Z"
    )
    days = len(list(windows_between(search.start_time, search.end_time, search.freq)))
    on = XApiSource.estimate(XApiSource.Settings(endpoint="all"), search, days)
    assert on.count_requests == 2 and on.count_cost == pytest.approx(0.02)
    off = XApiSource.estimate(XApiSource.Settings(endpoint="all", counts=False), search, days)
    assert off.count_requests == 0 and on.cost == pytest.approx(off.cost + 0.02)
    priced = XApiSource.Settings(endpoint="all", price_per_count_all=0.5)
    assert XApiSource.estimate(priced, search, 1).count_cost == pytest.approx(1.0)
    assert XApiSource.estimate(XApiSource.Settings(endpoint="all"), search, 0).count_requests == 0


def _minutes(start: datetime, minutes: int, count: int = 1) -> list[tuple[datetime, datetime, int]]:
    return [
        (start + timedelta(minutes=i), start + timedelta(minutes=i + 1), count)
        for i in range(minutes)
    ]


def test_minute_buckets_sum_into_quarter_hours_and_hours() -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    buckets = [(a, b, i) for i, (a, b, _) in enumerate(_minutes(start, 120))]
    quarters = list(windows_between(start, start + timedelta(hours=2), 900))
    assert sum_buckets(buckets, quarters) == {
        w.id: sum(range(15 * k, 15 * k + 15)) for k, w in enumerate(quarters)
    }
    hours = list(windows_between(start, start + timedelta(hours=2), 3600))
    assert sum_buckets(buckets, hours) == {
        hours[0].id: sum(range(60)),
        hours[1].id: sum(range(60, 120)),
    }
    assert granularity(900) == "minute" and granularity(7200) == "hour"
    assert granularity(86400) == "day"


def test_windows_not_covered_whole_are_left_out() -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    quarters = list(windows_between(start, start + timedelta(hours=1), 900))
    # An hourly bucket cannot be split into quarters; a gap leaves its window out too.
    assert sum_buckets([(start, start + timedelta(hours=1), 40)], quarters) == {}
    gap = _minutes(start, 14) + _minutes(start + timedelta(minutes=15), 15)
    assert sum_buckets(gap, quarters) == {quarters[1].id: 15}
    # The same bucket twice (overlapping files or pages) counts once.
    twice = _minutes(start, 15) + _minutes(start, 15)
    assert sum_buckets(twice, quarters) == {quarters[0].id: 15}
