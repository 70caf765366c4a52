"""Columnar copies: the stages write them beside their JSON, they hold what the JSON holds, and
the batch reads only them, deriving the copies a data directory of an earlier version lacks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from tests.conftest import make_config
from tweetsense import columnar, layout
from tweetsense.batch import duckdb_engine
from tweetsense.columnar import derive
from tweetsense.columnar.words import words
from tweetsense.config import BackendSection
from tweetsense.contracts import SentimentDoc, StagingDoc
from tweetsense.pipeline import Pipeline, run_all
from tweetsense.pipeline.batch import batch
from tweetsense.pipeline.load import load
from tweetsense.registry import Context, create
from tweetsense.timeutil import Window, format_utc, parse_utc

START = parse_utc("2024-03-01T00:00:00Z")
WINDOW = Window(START, START + timedelta(minutes=15))


def _post(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(1763000000000000000 + i),
        "text": f"post {i} about heat pumps",
        "created_at": "2024-03-01T00:01:00.000Z",
        "author_id": str(i % 3),
        "edit_history_tweet_ids": [str(1763000000000000000 + i)],
        **extra,
    }


PAGES: list[dict[str, Any]] = [
    {
        "data": [
            _post(1, lang="en", conversation_id="7", public_metrics={"like_count": 3}),
            _post(
                2,
                note_tweet={"text": "a long post " * 30},
                referenced_tweets=[{"type": "quoted", "id": "5"}],
                entities={
                    "hashtags": [{"start": 0, "end": 5, "tag": "Heat"}],
                    "urls": [
                        {"url": "https://t.co/x", "expanded_url": "https://www.example.org/a"}
                    ],
                    "annotations": [{"normalized_text": "Heat Pump", "probability": 0.9}],
                },
                context_annotations=[{"domain": {"id": "1"}, "entity": {"name": "Energy"}}],
            ),
            _post(3, referenced_tweets=[{"type": "retweeted", "id": "9"}], text="RT @a: cut"),
        ],
        "includes": {
            "users": [{"id": "1", "username": "ann", "name": "Ann", "verified": True}],
            "tweets": [{"id": "9", "text": "the original &amp; whole text"}],
        },
        "meta": {"result_count": 3},
    },
    {"data": [_post(4, created_at="not a time"), _post(5)], "meta": {"result_count": 2}},
    {"meta": {"result_count": 0}},
]


def _store(tmp_path: Path):
    context = Context(make_config(tmp_path))
    return create("storage", context, BackendSection(type="local"))


def _sorted(table: pa.Table) -> list[dict[str, Any]]:
    return table.sort_by([("file_order", "ascending"), ("position", "ascending")]).to_pylist()


@pytest.mark.parametrize("volume", [None, 42])
def test_a_staging_copy_holds_what_the_engines_read_from_its_json(
    tmp_path: Path, volume: int | None
) -> None:
    store = _store(tmp_path)
    doc = StagingDoc("heat pumps", WINDOW, "x_api", PAGES, volume)
    key = layout.staging_key("heat-pumps", WINDOW)
    columnar.put_staging(store, key, doc)
    written = pa.parquet.read_table(store.uri(columnar.copy_key(key)))
    assert written.schema.equals(columnar.STAGING)
    from_json = derive.staging_from_json(store, key)
    assert _sorted(written) == _sorted(from_json)
    rows = _sorted(written)
    kinds = [r["kind"] for r in rows]
    assert [kinds.count(k) for k in ("window", "post", "user", "included")] == [1, 5, 1, 1]
    assert rows[0]["volume"] == volume
    posts = [r for r in rows if r["kind"] == "post"]
    assert [r["position"] for r in posts] == [1_000_001, 1_000_002, 1_000_003, 2_000_001, 2_000_002]
    assert posts[1]["note_text"].startswith("a long post")
    assert posts[1]["terms"] == (
        "\ndomain:example.org\nentity:Energy\nentity:Heat Pump\nhashtag:#heat\nterm:long"
        "\nterm:post\n"
    )
    assert posts[1]["post_type"] == "quote"
    assert posts[1]["referenced_json"] == '[{"type":"quoted","id":"5"}]'
    # A repost is scored, and named, by its original's whole text.
    assert (posts[2]["post_type"], posts[2]["retweeted_id"]) == ("repost", "9")
    assert posts[2]["terms"] == "\nterm:original\nterm:text\nterm:whole\n"


def test_a_value_not_of_the_api_type_is_read_as_the_json_reader_reads_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pages = [{"data": [{**_post(1), "id": 1763000000000000001, "author_id": 5}]}]
    key = layout.staging_key("heat-pumps", WINDOW)
    columnar.put_staging(store, key, StagingDoc("heat pumps", WINDOW, "replay", pages))
    rows = _sorted(pa.parquet.read_table(store.uri(columnar.copy_key(key))))
    post = next(r for r in rows if r["kind"] == "post")
    assert (post["id"], post["author_id"]) == ("1763000000000000001", "5")


def test_a_sentiment_copy_names_its_analyzer_even_with_nothing_scored(tmp_path: Path) -> None:
    store = _store(tmp_path)
    scores = [
        {"tweet_id": "1", "label": "POSITIVE", "positive": 0.7, "negative": 0.1,
         "neutral": 0.1, "mixed": 0.1},
        {"tweet_id": "2", "label": "MIXED", "positive": 0.25, "negative": 0.25,
         "neutral": 0.25, "mixed": 0.25},
    ]  # fmt: skip
    for name, found in (("full", scores), ("none", [])):
        key = layout.sentiment_key("heat-pumps", WINDOW, name)
        doc = SentimentDoc("heat pumps", WINDOW, name, "k", "d", found)
        columnar.put_sentiment(store, key, doc)
        written = pa.parquet.read_table(store.uri(columnar.copy_key(key)))
        store.delete(columnar.copy_key(key))
        derive.derive(store, [key])
        derived = pa.parquet.read_table(store.uri(columnar.copy_key(key)))
        assert _sorted(written) == _sorted(derived)
        assert [r["position"] for r in _sorted(written)] == list(range(len(found) + 1))
        assert {r["analyzer"] for r in _sorted(written)} == {name}


def _warehouse(data: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The warehouse's tables; averages to 9 places, as parallel sums differ in the last bit."""
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return {
            name: [
                tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                for row in con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
            ]
            for name in ("tweet", "sentiment", "tweet_score", "driver", "sentiment_by_analyzer")
        }
    finally:
        con.close()


def test_the_batch_reads_only_copies_and_derives_the_missing_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "search__end_time": format_utc(START + timedelta(hours=3)),
        "search__start_time": format_utc(START),
        "search__max_per_window": "20",
    }
    p = Pipeline(make_config(tmp_path, **env))
    try:
        run_all(p)
        first = _warehouse(tmp_path / "data")
        json_keys = [
            k
            for top in (layout.STAGING, layout.SENTIMENT)
            for k in p.store.list(f"{top}/{p.slug}")
            if layout.window_start_from_key(k)
        ]
        assert json_keys and all(p.store.exists(columnar.copy_key(k)) for k in json_keys)

        # An earlier version's data directory: JSON only. The batch makes the copies.
        for key in json_keys:
            p.store.delete(columnar.copy_key(key))
        batch(p)
        load(p)
        assert _warehouse(tmp_path / "data") == first
        assert all(p.store.exists(columnar.copy_key(k)) for k in json_keys)

        # Many small files are read once, into a table, and many large ones through views:
        # same tables either way.
        monkeypatch.setattr(duckdb_engine, "MANY_FILES", 0)
        batch(p)
        load(p)
        assert _warehouse(tmp_path / "data") == first
        monkeypatch.setattr(duckdb_engine, "SMALL_FILE", 0)
        batch(p)
        load(p)
        assert _warehouse(tmp_path / "data") == first

        # A rerun over unchanged windows parses no JSON: unreadable JSON changes nothing.
        for key in json_keys:
            p.store.put(key, b"not json")
        batch(p)
        load(p)
        assert _warehouse(tmp_path / "data") == first
    finally:
        p.close()


def test_words_are_the_scored_texts_lowercase_words_without_links_tags_or_stopwords() -> None:
    text = "RT Heat PUMPS' are GREAT!!! https://x.co/a #heat @bob don't 2024 it\u2019s o'neill's"
    assert words(text) == ["heat", "pumps", "great", "o'neill's"]
    assert words("") == [] and words(None) == []
    assert words("pumps pumps PUMPS") == ["pumps"]
