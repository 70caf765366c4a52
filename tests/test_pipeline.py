"""The whole pipeline on the embedded backends: stages, resume, idempotence, crash safety."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import make_config
from tweetsense import layout
from tweetsense.errors import ConfigError, StageError
from tweetsense.pipeline import Pipeline, run_all
from tweetsense.pipeline.batch import batch
from tweetsense.pipeline.budget import BudgetReached
from tweetsense.pipeline.consume import consume
from tweetsense.pipeline.ingest import ingest
from tweetsense.pipeline.load import load
from tweetsense.pipeline.status import status

SMALL = {
    "search__end_time": "2024-03-01T06:00:00Z",
    "search__max_per_window": "30",
    "sentiment__workers": "1",
}


def snapshot(db: Path) -> tuple[list[tuple], tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        windows = con.execute(
            "SELECT query, time_window, count_tweets, avg_positive, avg_negative, avg_neutral, "
            "avg_mixed, perc_tweet_positive, perc_tweet_negative, perc_tweet_neutral, "
            "perc_tweet_mixed FROM sentiment ORDER BY query, time_window"
        ).fetchall()
        tweets = con.execute(
            "SELECT count(*), count(DISTINCT (query, tweet_id)), sum(positive), "
            "sum(hash(tweet_id, text, label, username)) FROM tweet"
        ).fetchone()
    finally:
        con.close()
    return windows, tweets


def assert_same(a: tuple[list[tuple], tuple], b: tuple[list[tuple], tuple]) -> None:
    assert len(a[0]) == len(b[0])
    for ra, rb in zip(a[0], b[0], strict=True):
        for x, y in zip(ra, rb, strict=True):
            if isinstance(x, float):
                assert math.isclose(x, y, abs_tol=1e-9)
            else:
                assert x == y
    assert a[1][:2] == b[1][:2] and a[1][3] == b[1][3]
    assert math.isclose(a[1][2], b[1][2], rel_tol=1e-12)


def test_stages_one_by_one_then_rerun_changes_nothing(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, **SMALL))
    with pytest.raises(StageError, match="run `tweetsense ingest` first"):
        batch(p)
    report = ingest(p)
    assert (report.fetched, report.tweets, report.failed) == (24, 24 * 30, [])
    assert status(p).counts()["consume"]["pending"] == 24
    with pytest.raises(StageError, match="24 of 24 staged windows have no sentiment file"):
        batch(p)
    with pytest.raises(StageError, match="run `tweetsense batch` first"):
        load(p)
    assert consume(p).scored_windows == 24
    result = batch(p).result
    assert result.windows == 24 and 0 < result.tweets <= 720
    loaded = load(p)
    assert (loaded.tweets, loaded.windows) == (result.tweets, 24)
    counts = status(p).counts()
    assert all(counts[s]["done"] == 24 for s in ("ingest", "consume", "batch", "load"))
    first = snapshot(tmp_path / "data" / "warehouse.duckdb")

    p2 = Pipeline(make_config(tmp_path, **SMALL))
    again = run_all(p2)
    assert again.ingest.skipped == 24 and again.ingest.fetched == 0
    assert again.consume.scored_windows == 0
    assert_same(first, snapshot(tmp_path / "data" / "warehouse.duckdb"))


def test_lost_publish_is_republished_and_duplicates_are_skipped(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, **SMALL))
    first = ingest(p)
    # The same windows published twice (as after a crash between staging and checkpoint).
    again = ingest(p)
    assert again.republished == 24
    assert (again.tweets, again.republished_tweets) == (0, first.tweets)
    assert again.published_tweets == first.published_tweets == first.tweets
    report = consume(p)
    assert report.scored_windows == 24 and report.skipped_windows == 24


def test_changed_window_content_is_scored_again(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, **SMALL))
    run_all(p)
    key = layout.sentiment_key(p.slug, p.windows[0])
    before = p.store.get(key)
    p.store.delete(key)
    p2 = Pipeline(make_config(tmp_path, **SMALL))
    r = run_all(p2)
    assert r.ingest.republished == 1 and r.consume.scored_windows == 1
    assert p2.store.get(key) == before


def test_source_budget_holds_for_any_source_and_the_cli_overrides_it(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, source__max_posts="100", **SMALL))
    with pytest.raises(BudgetReached) as info:
        ingest(p)
    first = info.value.report
    assert first.stopped == "budget" and 0 < first.used.posts <= 100
    assert first.fetched + first.left == 24
    rest = ingest(p, max_posts=10_000)
    assert rest.stopped is None and rest.fetched == first.left
    free = Pipeline(make_config(tmp_path / "free", source__max_cost="5", **SMALL))
    with pytest.raises(ConfigError, match=r"^max_cost: the synthetic source has no prices"):
        ingest(free)


def test_poison_record_goes_to_dead_letter_without_blocking(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, **SMALL))
    ingest(p)
    p.stream.publish([("bad/key", b"{not json")])
    report = consume(p)
    assert report.dead_letters == 1 and report.scored_windows == 24
    dead = list(p.store.list("errors/consume/dead-letter"))
    assert len(dead) == 1 and b"malformed JSON" in p.store.get(dead[0])


class _Bar:
    """The consume bar as the CLI would draw it; sets ``stop`` once ``stop_after`` windows are
    done, as Ctrl-C would."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.total: int | None = None
        self.done = 0
        self.stop = threading.Event()
        self._stop_after = stop_after

    def start(self, stage: str, total: int | None, unit: str = "windows") -> None:
        self.total, self.done = total, 0

    def advance(self, windows: int = 1, tweets: int = 0) -> None:
        self.done += windows
        assert self.total is not None and self.done <= self.total
        if self._stop_after is not None and self.done >= self._stop_after:
            self.stop.set()

    def finish(self) -> None:
        pass


def test_rerun_after_an_interrupted_consume_counts_every_window_once(tmp_path: Path) -> None:
    p = Pipeline(make_config(tmp_path, **SMALL, stream__poll_batch="4"))
    ingest(p)
    p.progress = bar = _Bar(stop_after=8)
    first = consume(p, stop=bar.stop)
    assert 8 <= first.scored_windows < 24
    assert (bar.total, bar.done) == (24, first.scored_windows)

    # The rerun publishes the windows not scored yet again, next to their first records.
    p2 = Pipeline(make_config(tmp_path, **SMALL, stream__poll_batch="4"))
    assert ingest(p2).republished == 24 - first.scored_windows
    p2.progress = bar = _Bar()
    again = consume(p2)
    assert again.scored_windows == 24 - first.scored_windows
    assert (bar.total, bar.done) == (24, 24)


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tweetsense.cli.app", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_sigkill_during_consume_then_rerun_equals_uninterrupted_run(tmp_path: Path) -> None:
    env = {"TWEETSENSE_SENTIMENT__WORKERS": "1"}
    clean = _cli("run", "--demo", "--data-dir", "clean", cwd=tmp_path, env=env)
    assert clean.wait(timeout=300) == 0, clean.stderr.read()

    crashed = tmp_path / "crashed"
    proc = _cli("run", "--demo", "--data-dir", "crashed", cwd=tmp_path, env=env)
    sentiment_dir = crashed / "sentiment"
    deadline = time.monotonic() + 120
    scored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        scored = sum(1 for _ in sentiment_dir.rglob("*.json")) if sentiment_dir.exists() else 0
        if scored >= 40:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 40 <= scored < 384, "the kill must land during consume"
    assert not (crashed / "warehouse.duckdb").exists()

    rerun = _cli("run", "--demo", "--data-dir", "crashed", cwd=tmp_path, env=env)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "posts (unique)" in out
    assert_same(
        snapshot(tmp_path / "clean" / "warehouse.duckdb"), snapshot(crashed / "warehouse.duckdb")
    )
    # No temp files left behind by the killed writer are visible as windows.
    assert sum(1 for _ in sentiment_dir.rglob("*.json")) == 384


def test_until_drained_waits_for_ingest_to_complete(tmp_path: Path) -> None:
    import threading

    from tweetsense.pipeline.markers import mark_ingest_complete

    p = Pipeline(make_config(tmp_path, **SMALL))
    ingest(p)
    result: dict[str, object] = {}
    worker = threading.Thread(
        target=lambda: result.update(r=consume(p, until_drained=True, poll_timeout=0.05))
    )
    worker.start()
    worker.join(timeout=3)
    assert worker.is_alive(), "the consumer stopped before ingestion was complete"
    mark_ingest_complete(p)
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert result["r"].scored_windows == 24  # type: ignore[attr-defined]


def test_default_transformer_end_to_end_in_worker_processes(tmp_path: Path) -> None:
    """The shipped transformer through consume's process pool, twice: the same stored scores."""
    env = {
        "search__end_time": "2024-03-01T01:00:00Z",
        "search__max_per_window": "25",
        "sentiment__type": "default",
        "sentiment__workers": "2",
        "sentiment__batch_size": "7",  # several chunks per window, split across the workers
    }
    first = Pipeline(make_config(tmp_path / "a", **env))
    report = run_all(first)
    assert report.consume.scored_windows == 4
    doc = first.store.get(layout.sentiment_key(first.slug, first.windows[0]))
    assert b'"analyzer":"default"' in doc.replace(b" ", b"")
    con = duckdb.connect(str(tmp_path / "a" / "data" / "warehouse.duckdb"), read_only=True)
    labels = dict(con.execute("SELECT label, count(*) FROM tweet GROUP BY label").fetchall())
    con.close()
    assert labels.get("POSITIVE", 0) > 0 and labels.get("NEGATIVE", 0) > 0

    # Scores do not depend on which posts were scored together.
    env["sentiment__workers"], env["sentiment__batch_size"] = "1", "2000"
    second = Pipeline(make_config(tmp_path / "b", **env))
    run_all(second)
    assert_same(
        snapshot(tmp_path / "a" / "data" / "warehouse.duckdb"),
        snapshot(tmp_path / "b" / "data" / "warehouse.duckdb"),
    )


def test_pipeline_open_is_the_library_entry_point(tmp_path: Path) -> None:
    warehouse = tmp_path / "elsewhere.duckdb"
    with Pipeline.open(
        demo=True, data_dir=tmp_path, backends={"warehouse": ("duckdb", {"path": str(warehouse)})}
    ) as p:
        assert p.config.data_dir == tmp_path and p.query == "electric vehicles"
        assert p.config.warehouse.options()["path"] == str(warehouse)
        p.warehouse.check()
    assert "warehouse" in p.__dict__  # built, then closed by the with block
    with pytest.raises(ConfigError, match="--demo and --config exclude each other"):
        Pipeline.open(tmp_path / "x.yaml", demo=True)


@pytest.mark.parametrize("cpu_bound", [True, False])
def test_ingest_fetches_a_source_that_computes_its_pages_on_one_thread_on_a_local_store(
    request: pytest.FixtureRequest, tmp_path: Path, store, cpu_bound: bool
) -> None:
    p = Pipeline(
        make_config(tmp_path, source__concurrency="4", search__end_time="2024-03-01T04:00:00Z")
    )
    p.store = store
    source = p.source
    fetch, threads = source.fetch_window, set()

    def noting_the_thread(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.add(threading.get_ident())
        time.sleep(0.02)  # long enough for the other threads to take windows too
        return fetch(*args, **kwargs)

    source.fetch_window = noting_the_thread
    source.cpu_bound = cpu_bound
    report = ingest(p)
    assert report.fetched == 16
    # A remote store's writes wait on the network: threads overlap them for any source.
    waits = not cpu_bound or request.node.callspec.params["store"] == "s3"
    assert (len(threads) > 1) if waits else (len(threads) == 1)
