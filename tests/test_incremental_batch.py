"""An incremental batch, fed windows in any order and refetched windows, gives the outputs and
warehouse a full recompute gives, on DuckDB and on Spark; and recomputes only what changed."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.test_spark_parity as parity
from tests.conftest import make_config
from tests.test_batch_job import SLUG, USERS, W, tweet
from tests.test_ledger_property import _page_post, post
from tweetsense import columnar, layout
from tweetsense.contracts import SentimentDoc, StagingDoc, WindowRecord
from tweetsense.pipeline import Pipeline
from tweetsense.pipeline.batch import MANIFEST, batch, outputs_for
from tweetsense.pipeline.batch_outputs import ORDER
from tweetsense.pipeline.load import load
from tweetsense.timeutil import Window, format_utc

spark = parity.spark  # the module's Spark session fixture
LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
TABLES = (
    "tweet",
    "sentiment",
    "tweet_score",
    "sentiment_by_analyzer",
    "driver",
    "analyzer_agreement",
    "sentiment_spike",
)


def pipeline(folder: Path, **backends: Any) -> Pipeline:
    config = make_config(
        folder,
        search__query="ev",
        search__start_time=format_utc(W[0].start),
        search__end_time=format_utc(W[-1].end),
        insight__driver_min_count="1",
    )
    p = Pipeline(config)
    if backends:
        from tweetsense import registry

        for stage, (name, options) in backends.items():
            config = registry.with_backend(config, stage, name, **options)
        p = Pipeline(config)
    return p


def put_window(p: Pipeline, window: Window, pages: list[dict], labels: list[str]) -> None:
    """A window's staging and sentiment files, as ingest and consume write them."""
    skey = layout.staging_key(SLUG, window)
    doc = StagingDoc("ev", window, "test", pages, None)
    columnar.put_staging(p.store, skey, doc)
    ids = [str(t["id"]) for page in pages for t in page.get("data", ())]
    rows = [
        {
            "tweet_id": tid,
            "label": labels[i % len(labels)],
            "positive": 0.1 + 0.05 * (i % 5),
            "negative": 0.2,
            "neutral": 0.3,
            "mixed": 0.05 * (i % 3),
        }
        for i, tid in enumerate(ids)
    ]
    digest = WindowRecord("ev", SLUG, window, skey, doc.tweet_texts()).digest()
    sdoc = SentimentDoc("ev", window, "fast", skey, digest, rows)
    columnar.put_sentiment(p.store, layout.sentiment_key(SLUG, window), sdoc)


def outputs(p: Pipeline) -> dict[str, list[tuple]]:
    out = outputs_for(SLUG)
    con = duckdb.connect()
    try:
        return {
            name: _rows(con, f"FROM read_parquet('{p.store.uri(getattr(out, name))}')")
            for name in ORDER
        }
    finally:
        con.close()


def warehouse(p: Pipeline) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(p.context.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return {t: _rows(con, f'FROM "{t}"') for t in TABLES}
    finally:
        con.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    rows = con.execute(sql).fetchall()
    return sorted(
        (tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows), key=repr
    )


def recompute(p: Pipeline, folder: Path, **backends: Any) -> tuple[dict, dict]:
    """The outputs and a fresh warehouse of a batch that recomputes everything."""
    shutil.copytree(p.context.data_dir, folder / "data", ignore=shutil.ignore_patterns("*.duckdb"))
    full = pipeline(folder, **backends)
    full.store.delete(layout.output_key(SLUG, MANIFEST))
    batch(full)
    load(full)
    try:
        return outputs(full), warehouse(full)
    finally:
        full.close()


def manifest(p: Pipeline) -> dict:
    return orjson.loads(p.store.get(layout.output_key(SLUG, MANIFEST)))


def arrive(p: Pipeline, steps: list[list[tuple[int, list[dict], list[str]]]]) -> list[int]:
    """Each step writes its windows' files, then batches and loads; the windows each batch
    recomputed."""
    recomputed = []
    for step in steps:
        for index, pages, labels in step:
            put_window(p, W[index], pages, labels)
        batch(p)
        load(p)
        recomputed.append(manifest(p)["recomputed"])
    return recomputed


page_of_posts = st.lists(post, max_size=5).map(
    lambda posts: (
        {
            "data": [{**_page_post(p), "author_id": f"u{i % 2 + 1}"} for i, p in enumerate(posts)],
            # Users that change between windows: the latest copy of each is the one shown.
            "includes": {"users": [USERS["u1"], {**USERS["u2"], "name": f"Bo {len(posts)}"}]},
        }
        if posts
        else {"meta": {}}
    )
)
arrival = st.tuples(
    st.integers(0, len(W) - 1),
    st.lists(page_of_posts, min_size=1, max_size=2),
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=3),
)
steps = st.lists(st.lists(arrival, min_size=1, max_size=2), min_size=2, max_size=5)


def check(steps_drawn: list, **backends: Any) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        p = pipeline(folder / "incremental", **backends)
        try:
            arrive(p, steps_drawn)
            got = outputs(p), warehouse(p)
        finally:
            p.close()
        expected = recompute(p, folder / "full", **backends)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert got[0] == expected[0]
    assert got[1] == expected[1]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps_drawn=steps)
def test_incremental_equals_full_recompute_on_duckdb(steps_drawn: list) -> None:
    check(steps_drawn)


def test_incremental_equals_full_recompute_on_spark(spark: Any) -> None:
    # Windows out of order, a post that moves to a later file, an edit and a refetch.
    steps_fixed = [
        [(2, [{"data": [tweet("1", 31, "Tesla wins", "u1"), tweet("2", 33, "bad", "u2")],
               "includes": {"users": list(USERS.values())}}], ["POSITIVE", "NEGATIVE"])],
        [(0, [{"data": [tweet("3", 1, "EV day", "u1")]}], ["NEUTRAL"])],
        [(3, [{"data": [tweet("1", 46, "Tesla wins again", "u1"),
                        tweet("4", 47, "fixed", "u2", edit_history_tweet_ids=["2", "4"])],
               "includes": {"users": [{**USERS["u2"], "name": "Bob"}]}}], ["MIXED"])],
        [(0, [{"data": [tweet("3", 2, "EV day!", "u1"), tweet("5", 3, "more", "u2")]}],
          ["POSITIVE"])],
    ]  # fmt: skip
    check(steps_fixed, batch=("spark", {"shuffle_partitions": 3}))


def test_a_new_window_recomputes_only_itself(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    posts = [
        [{"data": [tweet(f"{i}{j}", 15 * i + j, f"post {j}", "u1") for j in range(3)],
          "includes": {"users": [USERS["u1"]]}}]
        for i in range(len(W))
    ]  # fmt: skip
    recomputed = arrive(
        p,
        [
            [(0, posts[0], ["POSITIVE"]), (1, posts[1], ["NEGATIVE"])],
            [(2, posts[2], ["NEUTRAL"])],
            [(3, posts[3], ["MIXED"])],
            [],  # nothing new: nothing recomputed
        ],
    )
    assert recomputed == [2, 1, 1, 0]
    delta = manifest(p)["delta"]
    assert delta["windows"] == [] and delta["base"] == manifest(p)["generation"] - 1
    # Older states are deleted: only the last one is ever read.
    root = layout.output_key(SLUG, "_state/")
    states = {k.removeprefix(root).split("/")[0] for k in p.store.list(root.rstrip("/"))}
    assert states == {str(manifest(p)["generation"])}
    p.close()


def test_a_batch_that_stopped_half_way_is_followed_by_a_full_one(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    page = [{"data": [tweet("1", 1, "hi", "u1")], "includes": {"users": [USERS["u1"]]}}]
    arrive(p, [[(0, page, ["POSITIVE"])]])
    p.store.delete(layout.output_key(SLUG, MANIFEST))  # as a crash before the manifest leaves it
    arrive(p, [[(1, page, ["NEGATIVE"])]])
    assert manifest(p)["delta"] is None and manifest(p)["recomputed"] == 2
    p.close()


def test_a_state_of_an_older_format_is_followed_by_a_full_batch(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    page = [{"data": [tweet("1", 1, "hi", "u1")], "includes": {"users": [USERS["u1"]]}}]
    arrive(p, [[(0, page, ["POSITIVE"])]])
    # A manifest as an earlier version writes it: its state's tables lack columns read now.
    older = {k: v for k, v in manifest(p).items() if k != "state_format"}
    p.store.put(layout.output_key(SLUG, MANIFEST), orjson.dumps(older))
    arrive(p, [[(1, page, ["NEGATIVE"])]])
    assert manifest(p)["delta"] is None and manifest(p)["recomputed"] == 2
    p.close()


def test_every_duckdb_connection_of_a_batch_is_under_the_engine_limits(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The state, the merge and the delta of an incremental batch spill where the engine does
    and hold no more memory than it may: one cap bounds the whole batch."""
    spill = tmp_path / "spill"
    limits = {"memory_limit": "300MB", "temp_directory": str(spill), "threads": 1}
    p = pipeline(tmp_path / "data", batch=("duckdb", limits))
    opened: list[dict] = []
    connect = duckdb.connect

    def recorded(*args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        opened.append(kwargs.get("config") or {})
        return connect(*args, **kwargs)

    for index, label in ((0, "POSITIVE"), (1, "NEGATIVE")):
        page = {"data": [tweet(f"{index}", 15 * index + 1, "hi", "u1")]}
        put_window(p, W[index], [{**page, "includes": {"users": [USERS["u1"]]}}], [label])
        with monkeypatch.context() as m:
            m.setattr(duckdb, "connect", recorded)
            batch(p)
    assert manifest(p)["recomputed"] == 1  # the second batch merged: every step ran
    assert len(opened) >= 5
    for config in opened:
        assert config.get("memory_limit") == "300MB"
        assert config.get("temp_directory") == str(spill)
        assert config.get("threads") == 1
    p.close()
