"""`run` scores windows while ingest still fetches, with the results of the stages in turn."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from tests.conftest import make_config
from tests.test_pipeline import assert_same, snapshot
from tweetsense import layout
from tweetsense.cli.progress import RichProgress
from tweetsense.errors import BackendUnavailableError, ConfigError, StageError
from tweetsense.pipeline import Pipeline, RunReport, run_all
from tweetsense.pipeline.batch import batch
from tweetsense.pipeline.consume import consume
from tweetsense.pipeline.ingest import ingest
from tweetsense.pipeline.load import load
from tweetsense.pipeline.markers import mark_ingest_complete
from tweetsense.sources.base import Page
from tweetsense.timeutil import Window

HOURS = {
    "search__end_time": "2024-03-01T06:00:00Z",  # 24 windows
    "search__max_per_window": "30",
    "sentiment__workers": "1",
    "source__concurrency": "2",
}
WAIT = 60.0  # seconds; a bound for a loaded machine, never a pause of a passing test


@pytest.fixture(autouse=True)
def small_publish_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ingest publishes records in batches; small ones put records in the stream mid-ingest.
    monkeypatch.setattr("tweetsense.pipeline.ingest.PUBLISH_BATCH", 2)


def _before_fetch(p: Pipeline, hook: Callable[[Window], None]) -> None:
    """``p``'s source calls ``hook`` before it fetches each window; the hook may block or raise."""
    source = p.source
    real = source.fetch_window

    def fetch_window(query: str, window: Window, max_posts: int | None) -> list[Page]:
        hook(window)
        return real(query, window, max_posts)

    source.fetch_window = fetch_window  # type: ignore[method-assign]


def _run_in_thread(p: Pipeline) -> dict[str, object]:
    """run_all's report or exception, failing the test if it has not ended within WAIT."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["report"] = run_all(p)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(WAIT)
    assert not thread.is_alive(), "run_all did not end"
    return outcome


def _consumers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tweetsense-consume"]


def test_consume_scores_the_first_window_before_ingest_fetches_the_last(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, **HOURS))
    first_scored = layout.sentiment_key(p.slug, p.windows[0])
    last = p.windows[-1]
    seen: list[bool] = []

    def hook(window: Window) -> None:
        if window == last:
            deadline = time.monotonic() + WAIT
            while not p.store.exists(first_scored) and time.monotonic() < deadline:
                time.sleep(0.02)
            seen.append(p.store.exists(first_scored))

    _before_fetch(p, hook)
    report = run_all(p)
    assert seen == [True], "the first window was not scored while ingest was still running"
    assert report.consume.scored_windows == len(p.windows)
    assert set(report.seconds) == {"ingest", "consume", "batch", "load"}
    assert report.wall_seconds <= sum(report.seconds.values())
    p.close()


def test_overlapped_run_equals_the_stages_in_turn(tmp_path: Path) -> None:
    overlapped = Pipeline(make_config(tmp_path / "overlapped", **HOURS))
    report: RunReport = run_all(overlapped)
    assert report.consume.scored_windows == len(overlapped.windows)

    in_turn = Pipeline(make_config(tmp_path / "in_turn", **HOURS))
    ingest(in_turn)
    mark_ingest_complete(in_turn)
    consume(in_turn)
    batch(in_turn)
    load(in_turn)

    assert_same(
        snapshot(tmp_path / "overlapped" / "data" / "warehouse.duckdb"),
        snapshot(tmp_path / "in_turn" / "data" / "warehouse.duckdb"),
    )
    scored = [set(q.keys(layout.SENTIMENT)) for q in (overlapped, in_turn)]
    assert scored[0] == scored[1] and len(scored[0]) == len(overlapped.windows)
    for q in (overlapped, in_turn):
        q.close()


def test_failed_window_stops_the_consumer_and_raises_the_ingest_error(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, **HOURS))
    bad = p.windows[5]

    def hook(window: Window) -> None:
        if window == bad:
            raise BackendUnavailableError("the source is down")

    _before_fetch(p, hook)
    # Without a stop the consumer would wait for a completion marker that never comes.
    outcome = _run_in_thread(p)
    error = outcome.get("error")
    assert isinstance(error, StageError)
    assert str(error) == (
        "ingest: 1 windows failed (first 2024-03-01T01:15:00.000Z: the source is down); "
        "run again to retry them"
    )
    assert not _consumers()
    p.close()


def test_ingest_raising_stops_the_consumer_and_raises_the_same(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, **HOURS))

    def hook(window: Window) -> None:
        if window == p.windows[-1]:
            raise ConfigError("source.token: rejected; set a valid one")

    _before_fetch(p, hook)
    error = _run_in_thread(p).get("error")
    assert type(error) is ConfigError
    assert str(error) == "source.token: rejected; set a valid one"
    assert not _consumers()
    p.close()


def test_consumer_error_reaches_the_caller_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ConfigError("sentiment.endpoint: unreachable; check the URL")

    monkeypatch.setattr("tweetsense.pipeline.run.consume", broken)
    p = Pipeline(make_config(tmp_path, **HOURS))
    with pytest.raises(ConfigError, match=r"^sentiment\.endpoint: unreachable; check the URL$"):
        run_all(p)
    p.close()


def test_ingest_and_consume_each_draw_their_own_bar(tmp_path: Path) -> None:
    buffer = io.StringIO()
    p = Pipeline(make_config(tmp_path, **HOURS), progress=RichProgress(Console(file=buffer)))
    run_all(p)
    bars = {line.split()[0]: line for line in buffer.getvalue().splitlines() if line.strip()}
    n = len(p.windows)
    assert f"{n}/{n} windows" in bars["ingest"]
    assert f"{n}/{n} windows" in bars["consume"]
    p.close()


def test_ctrl_c_during_ingest_stops_the_consumer_after_whole_batches(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, **HOURS))
    first_scored = layout.sentiment_key(p.slug, p.windows[0])

    def hook(window: Window) -> None:
        if window == p.windows[-1]:
            deadline = time.monotonic() + WAIT
            while not p.store.exists(first_scored) and time.monotonic() < deadline:
                time.sleep(0.02)
            raise KeyboardInterrupt

    _before_fetch(p, hook)
    with pytest.raises(KeyboardInterrupt):
        run_all(p)
    assert not _consumers()
    assert not list(p.store.list(layout.ERRORS))  # nothing dead-lettered by a cut-short consumer
    p.close()
