"""Empty windows cost nothing but a marker: no staging file, stream record or sentiment file for
a window the source had nothing for, and the same warehouse as when every window was staged."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from tests.conftest import make_config
from tweetsense import layout
from tweetsense.pipeline import Pipeline, run_all
from tweetsense.pipeline import ingest as ingest_module
from tweetsense.pipeline.batch import batch
from tweetsense.pipeline.consume import consume
from tweetsense.pipeline.ingest import ingest
from tweetsense.pipeline.load import load
from tweetsense.pipeline.manifest import manifest_key
from tweetsense.pipeline.status import DONE, status
from tweetsense.sources.replay import ReplaySource
from tweetsense.timeutil import format_utc, parse_utc

START = parse_utc("2024-03-01T00:00:00Z")
WINDOWS = 24  # six hours of 15-minute windows
POSTS = {
    "1763000000000000001": ("2024-03-01T00:05:00Z", "heat pumps are lovely"),
    "1763000000000000002": ("2024-03-01T03:40:00Z", "heat pumps are awful"),
}
# Counted posts per window: a volume for one window with posts and one without.
COUNTED = {"2024-03-01T00:00:00Z": 7, "2024-03-01T02:00:00Z": 5}


def _post(tid: str, created: str, text: str) -> dict[str, Any]:
    return {"id": tid, "created_at": created.replace("Z", ".000Z"), "author_id": "9", "text": text}


def _archive(path: Path, posts: dict[str, tuple[str, str]]) -> Path:
    lines = [orjson.dumps(_post(tid, at, text)) for tid, (at, text) in posts.items()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _counts(path: Path) -> Path:
    rows = [
        f"{at},{format_utc(parse_utc(at) + timedelta(minutes=15))},{n}\n"
        for at, n in COUNTED.items()
    ]
    path.write_text("start,end,minute_count\n" + "".join(rows), encoding="utf-8")
    return path


def _pipeline(tmp_path: Path, archive: Path, *, counts: bool = False) -> Pipeline:
    env = {
        "source__type": "replay",
        "source__path": str(archive),
        "search__start_time": format_utc(START),
        "search__end_time": format_utc(START + timedelta(minutes=15 * WINDOWS)),
        "sentiment__workers": "1",
    }
    if counts:
        env["source__counts_path"] = str(_counts(tmp_path / "counts.csv"))
    return Pipeline(make_config(tmp_path, **env))


def _warehouse(tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    try:
        return {
            "sentiment": con.execute(
                "SELECT * EXCLUDE (time_window), epoch(time_window)::BIGINT AS t "
                "FROM sentiment ORDER BY t"
            ).fetchall(),
            "sentiment_by_analyzer": con.execute(
                "SELECT * FROM sentiment_by_analyzer ORDER BY ALL"
            ).fetchall(),
            "tweet": con.execute("SELECT * FROM tweet ORDER BY tweet_id").fetchall(),
        }
    finally:
        con.close()


def _counts_by_window(tmp_path: Path) -> dict[datetime, tuple[int, int | None]]:
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT time_window, count_tweets, volume FROM sentiment").fetchall()
    finally:
        con.close()
    return {t.astimezone(START.tzinfo): (n, v) for t, n, v in rows}


def _files(p: Pipeline, prefix: str) -> set[str]:
    """The window files under ``prefix`` (not the markers beside them)."""
    return {k for k in p.keys(prefix) if layout.window_start_from_key(k)}


def _refetch(p: Pipeline) -> None:
    """Every stage in turn, fetching every window again."""
    ingest(p, refetch=True)
    consume(p)
    batch(p)
    load(p)


def _expected(posts: dict[str, tuple[str, str]]) -> dict[datetime, int]:
    """Every window of the search, with the posts created in it (computed without the job)."""
    expected = {START + timedelta(minutes=15 * i): 0 for i in range(WINDOWS)}
    for at, _ in posts.values():
        t = parse_utc(at)
        expected[t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)] += 1
    return expected


def test_a_sparse_replay_stages_only_the_windows_with_posts(tmp_path: Path) -> None:
    with _pipeline(tmp_path, _archive(tmp_path / "a.jsonl", POSTS)) as p:
        report = run_all(p)
        staged = _files(p, layout.STAGING)
        scored = _files(p, layout.SENTIMENT)
        manifest = orjson.loads(p.store.get(manifest_key(p.slug)))
        state = status(p)

    assert len(staged) == 2 and len(scored) == 2  # no file for the 22 empty windows
    assert report.consume.records == 2  # and no stream record
    assert len(manifest["windows"]) == 2
    assert len(manifest["empty"]) == WINDOWS - 2
    assert set(manifest["empty"].values()) == {None}  # not counted
    counts = state.counts()
    assert all(counts[stage] == {DONE: WINDOWS} for stage in counts), counts
    assert report.batch.windows_in == WINDOWS
    assert report.batch.ledger.fetched == 2 and report.batch.ledger.balanced
    found = _counts_by_window(tmp_path)
    assert {t: n for t, (n, _) in found.items()} == _expected(POSTS)


def test_a_replay_fetches_only_the_windows_its_index_has_posts_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[str] = []
    fetch = ReplaySource.fetch_window

    def counted(self: ReplaySource, query: str, window: Any, max_posts: int | None) -> Any:
        fetched.append(window.id)
        return fetch(self, query, window, max_posts)

    monkeypatch.setattr(ReplaySource, "fetch_window", counted)
    with _pipeline(tmp_path, _archive(tmp_path / "a.jsonl", POSTS)) as p:
        report = run_all(p)
    assert sorted(fetched) == ["20240301T0000Z", "20240301T0330Z"]
    assert report.ingest.fetched == WINDOWS and report.ingest.tweets == 2


def test_the_warehouse_equals_a_run_that_staged_every_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sparse, full = tmp_path / "sparse", tmp_path / "full"
    for folder in (sparse, full):
        folder.mkdir()
    with _pipeline(sparse, _archive(sparse / "a.jsonl", POSTS), counts=True) as p:
        run_all(p)
    # As earlier versions did: a staging file, a record and a sentiment file per empty window.
    monkeypatch.setattr(ingest_module, "_is_empty", lambda pages: False)
    monkeypatch.setattr(ReplaySource, "known_empty", lambda self, query, windows: set())
    with _pipeline(full, _archive(full / "a.jsonl", POSTS), counts=True) as p:
        run_all(p)
        assert len(_files(p, layout.STAGING)) == WINDOWS
    monkeypatch.undo()

    assert _warehouse(sparse) == _warehouse(full)
    found = _counts_by_window(sparse)
    # The counted volume of a window without posts reaches `sentiment` too.
    assert found[parse_utc("2024-03-01T02:00:00Z")] == (0, 5)
    assert found[START] == (1, 7)


def test_a_rerun_changes_nothing_and_a_refetch_finds_a_new_post(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "a.jsonl", POSTS)
    with _pipeline(tmp_path, archive) as p:
        run_all(p)
        before = _warehouse(tmp_path)
        again = run_all(p)
        assert (again.ingest.fetched, again.ingest.skipped) == (0, WINDOWS)
        assert again.consume.records == 0
        assert _warehouse(tmp_path) == before

    late = "1763000000000000003"
    more = {**POSTS, late: ("2024-03-01T05:10:00Z", "heat pumps again")}
    _archive(archive, more)
    with _pipeline(tmp_path, archive) as p:
        _refetch(p)
        manifest = orjson.loads(p.store.get(manifest_key(p.slug)))
        staged = _files(p, layout.STAGING)

    assert "20240301T0500Z" in manifest["windows"] and "20240301T0500Z" not in manifest["empty"]
    assert len(staged) == 3 and len(manifest["empty"]) == WINDOWS - 3
    found = _counts_by_window(tmp_path)
    assert {t: n for t, (n, _) in found.items()} == _expected(more)


def test_a_refetch_that_finds_a_window_empty_removes_its_files(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "a.jsonl", POSTS)
    with _pipeline(tmp_path, archive) as p:
        run_all(p)
    first = dict(list(POSTS.items())[:1])
    _archive(archive, first)
    with _pipeline(tmp_path, archive) as p:
        _refetch(p)
        assert len(_files(p, layout.STAGING)) == 1 and len(_files(p, layout.SENTIMENT)) == 1

    found = _counts_by_window(tmp_path)
    assert {t: n for t, (n, _) in found.items()} == _expected(first)


def test_a_search_without_any_post_has_every_window_at_zero(tmp_path: Path) -> None:
    quiet = {"1763000000000000009": ("2024-02-01T00:00:00Z", "long before the search")}
    with _pipeline(tmp_path, _archive(tmp_path / "a.jsonl", quiet), counts=True) as p:
        report = run_all(p)
        assert not _files(p, layout.STAGING)

    assert report.batch.result.tweets == 0 and report.batch.windows_in == WINDOWS
    found = _counts_by_window(tmp_path)
    assert {t: n for t, (n, _) in found.items()} == _expected({})
    assert found[parse_utc("2024-03-01T02:00:00Z")] == (0, 5)
    assert _warehouse(tmp_path)["sentiment_by_analyzer"]  # the analyzer's rows, all at zero


def test_an_empty_marker_not_saved_before_a_crash_is_fetched_again(tmp_path: Path) -> None:
    with _pipeline(tmp_path, _archive(tmp_path / "a.jsonl", POSTS)) as p:
        ingest(p)
        doc = orjson.loads(p.store.get(manifest_key(p.slug)))
        doc.pop("empty")
        p.store.put(manifest_key(p.slug), orjson.dumps(doc))
        again = ingest(p)

    # The staged windows are not scored yet: published again, not fetched.
    assert (again.fetched, again.republished) == (WINDOWS - 2, 2)


def test_spikes_over_a_mostly_flat_series_are_those_of_the_plain_medians() -> None:
    import numpy as np

    from tweetsense.batch.spikes import spike_rows

    rng = np.random.default_rng(7)
    values: list[float | None] = [
        float(rng.integers(0, 4)) if rng.random() < 0.05 else 0.0 for _ in range(2000)
    ]
    values[100:140] = [None] * 40
    expected, history = [], []
    for i, x in enumerate(values):
        if x is None:
            continue
        base = np.asarray(history[-24:], dtype=np.float64)
        if len(base) >= 8:
            median = float(np.median(base))
            scale = max(1.4826 * float(np.median(np.abs(base - median))), 0.5)
            score = (x - median) / scale
            if abs(score) >= 3.0:
                expected.append((i, x, median, score, "up" if score > 0 else "down"))
        history.append(x)
    found = spike_rows(values, baseline=24, min_baseline=8, threshold=3.0, floor=0.5)
    assert found == expected and found
