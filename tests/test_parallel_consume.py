"""consume with several workers, bounded attempts per record, dead letters."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest

from tests.conftest import make_config, stream_options
from tests.poisoned_analyzer import PoisonedAnalyzer
from tweetsense import layout, registry
from tweetsense.contracts import WindowRecord
from tweetsense.pipeline import Pipeline
from tweetsense.pipeline.consume import consume
from tweetsense.pipeline.ingest import ingest

ONE_DAY = {
    "search__end_time": "2024-03-02T00:00:00Z",
    "search__max_per_window": "20",
    "sentiment__workers": "1",
}


def _pipeline(tmp_path: Path, request: pytest.FixtureRequest, backend: str, **env: str):
    env = {**ONE_DAY, **env, "stream__type": backend}
    for name, value in stream_options(request, backend).items():
        env[f"stream__{name}"] = (
            orjson.dumps(value).decode() if isinstance(value, dict) else str(value)
        )
    return Pipeline(make_config(tmp_path, **env))


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_two_workers_write_every_window_exactly_once(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    p = _pipeline(tmp_path, request, backend)
    ingest(p)
    report = consume(p, workers=2)
    # Scored counts add up across workers: a window scored by both would count twice.
    assert report.scored_windows == 96 and report.skipped_windows == 0
    assert report.dead_letters == 0 and report.failed == []
    assert len(p.keys(layout.SENTIMENT)) == 96
    assert p.stream.consumer("tweetsense-sentiment").lag() == 0
    # A second run finds nothing left to do.
    assert consume(p, workers=2).records == 0
    p.close()


class _CountingProgress:
    def __init__(self) -> None:
        self.windows = self.tweets = 0
        self.total: int | None = None
        self._lock = threading.Lock()

    def start(self, stage: str, total: int | None, unit: str = "windows") -> None:
        self.total = total

    def advance(self, windows: int = 1, tweets: int = 0) -> None:
        with self._lock:
            self.windows += windows
            self.tweets += tweets

    def finish(self) -> None:
        pass


def test_every_workers_progress_reaches_the_parent(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # 100 posts per window: enough work that the workers, not only this process, score some.
    p = _pipeline(tmp_path, request, "sqlite", search__max_per_window="100", stream__poll_batch="2")
    ingest(p)
    p.progress = progress = _CountingProgress()
    report = consume(p, workers=3)
    assert report.scored_windows == progress.windows == 96
    assert progress.tweets == report.tweets > 0
    assert report.busy_seconds is not None and report.busy_seconds > 0
    p.close()


def test_records_published_twice_advance_the_bar_once_per_window(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    p = _pipeline(tmp_path, request, "sqlite", stream__poll_batch="4")
    ingest(p)
    assert ingest(p).republished == 96  # every window's record is in the stream twice
    p.progress = progress = _CountingProgress()
    consume(p, workers=2)
    assert progress.total == progress.windows == 96
    p.close()


@pytest.fixture
def poisoned():
    registry.register("sentiment", "poisoned", "tests.poisoned_analyzer:PoisonedAnalyzer")
    PoisonedAnalyzer.poisoned_calls = 0
    yield
    registry._REGISTRY["sentiment"].pop("poisoned")


def test_record_failing_scoring_is_dead_lettered_after_max_attempts(
    tmp_path: Path, poisoned: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tweetsense.pipeline.consumer_loop.RETRY_BACKOFF", 0.01)
    p = Pipeline(
        make_config(tmp_path, **ONE_DAY, sentiment__type="poisoned", stream__max_attempts="4")
    )
    ingest(p)
    bad = WindowRecord(p.query, p.slug, p.windows[0], "staging/x.json", [("1", "POISON pill")])
    p.stream.publish([("poison/key", bad.encode())])
    report = consume(p)
    assert report.dead_letters == 1 and report.failed == [p.windows[0].id]
    # 96 windows scored (the poisoned copy of window 0 did not block or replace the good one).
    assert report.scored_windows == 96
    assert PoisonedAnalyzer.poisoned_calls == 4  # the batch, then the record alone 3 times
    [dead] = list(p.store.list("errors/consume/dead-letter"))
    letter = orjson.loads(p.store.get(dead))
    assert letter["attempts"] == 4 and "scoring failed 4 times" in letter["error"]
    assert "cannot read this text" in letter["error"]
    assert consume(p).records == 0  # committed: it never comes back


def test_record_that_keeps_killing_its_consumer_is_dead_lettered(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, **ONE_DAY, stream__max_attempts="2"))
    record = WindowRecord(p.query, p.slug, p.windows[0], "staging/x.json", [("1", "fine")])
    p.stream.publish([("crashy/key", record.encode())])
    for _ in range(2):  # two consumers take it and end without committing
        c = p.stream.consumer("tweetsense-sentiment")
        assert len(c.poll(10)) == 1
        c.close()
    report = consume(p)
    assert report.dead_letters == 1 and report.scored_windows == 0
    [dead] = list(p.store.list("errors/consume/dead-letter"))
    assert "delivered 3 times" in orjson.loads(p.store.get(dead))["error"]
