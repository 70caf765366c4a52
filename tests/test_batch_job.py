"""The batch job on hand-made windows whose right answer is known."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import copy_uris
from tweetsense import layout
from tweetsense.batch import duckdb_engine
from tweetsense.batch.base import BatchInputs
from tweetsense.config import BackendSection
from tweetsense.contracts import SentimentDoc, StagingDoc, WindowRecord
from tweetsense.pipeline.batch import outputs_for
from tweetsense.registry import create
from tweetsense.timeutil import Window, format_utc

T0 = datetime(2024, 3, 1, tzinfo=UTC)
W = [Window(T0 + timedelta(minutes=15 * i), T0 + timedelta(minutes=15 * (i + 1))) for i in range(4)]
SLUG = layout.query_slug("ev")


def tweet(tid: str, minute: float, text: str, author: str, **extra) -> dict:
    at = T0 + timedelta(minutes=minute)
    return {
        "id": tid,
        "text": text,
        "created_at": format_utc(at),
        "author_id": author,
        "lang": "en",
        **extra,
    }


USERS = {
    "u1": {"id": "u1", "username": "ana", "name": "Ana", "verified": True, "location": "Oslo"},
    "u2": {"id": "u2", "username": "bo", "name": "Bo", "verified": False},
}


def scores(*rows: tuple[str, str, float, float, float, float]) -> list[dict]:
    return [
        dict(zip(("tweet_id", "label", "positive", "negative", "neutral", "mixed"), r, strict=True))
        for r in rows
    ]


def stage(
    store, window: Window, pages: list[dict], score_rows: list[dict], volume: int | None = None
) -> None:
    skey = layout.staging_key(SLUG, window)
    doc = StagingDoc("ev", window, "test", pages, volume)
    store.put(skey, doc.encode())
    digest = WindowRecord("ev", SLUG, window, skey, doc.tweet_texts()).digest()
    sdoc = SentimentDoc("ev", window, "test", skey, digest, score_rows)
    store.put(layout.sentiment_key(SLUG, window), sdoc.encode())


def run_job(context, store) -> tuple[list[dict], list[dict]]:
    engine = create("batch", context, BackendSection(type="duckdb"))
    windows = [w for w in W if store.exists(layout.staging_key(SLUG, w))]
    inputs = BatchInputs(
        "ev",
        SLUG,
        900,
        copy_uris(store, [layout.staging_key(SLUG, w) for w in windows]),
        copy_uris(store, [layout.sentiment_key(SLUG, w) for w in windows]),
        [int(w.start.timestamp()) for w in windows],
    )
    outputs = outputs_for(SLUG)
    engine.run(inputs, outputs, store)
    # Through the store, so an s3 store's objects are read from its own endpoint.
    tweets = pq.read_table(pa.BufferReader(store.get(outputs.tweets_parquet))).to_pylist()
    windows = pq.read_table(pa.BufferReader(store.get(outputs.windows_parquet))).to_pylist()
    assert store.exists(outputs.tweets_csv) and store.exists(outputs.windows_csv)
    return tweets, windows


@pytest.mark.usefixtures("kathmandu")
def test_merge_dedup_join_and_aggregate(context, store) -> None:
    # Window 0: two pages; users listed in another order than the posts that reference them.
    stage(
        store,
        W[0],
        [
            {
                "data": [tweet("1", 1, "love it 😍", "u2"), tweet("2", 2, "hate it", "u1")],
                "includes": {"users": [USERS["u1"], USERS["u2"]]},
                "meta": {"result_count": 2},
            },
            {
                "data": [
                    tweet(
                        "3",
                        14.99,
                        "RT @ana: hate it",
                        "u9",
                        referenced_tweets=[{"type": "retweeted", "id": "2"}],
                    )
                ],
                "meta": {"result_count": 1},
            },
        ],
        scores(
            ("1", "POSITIVE", 0.9, 0.0, 0.1, 0.0),
            ("2", "NEGATIVE", 0.0, 0.8, 0.2, 0.0),
            ("3", "NEGATIVE", 0.1, 0.7, 0.2, 0.0),
        ),
    )
    # Window 1 is empty: it still gets a row, with zero counts and zero percentages.
    stage(store, W[1], [{"meta": {"result_count": 0}}], [])
    # Window 2 re-delivers post 1 (latest wins: its new score) and has no NEUTRAL at all.
    stage(
        store,
        W[2],
        [
            {
                "data": [
                    tweet("1", 1, "love it 😍", "u2"),
                    tweet("4", 31, "mixed &amp;lt; feelings &amp; Q&amp;A &lt;3", "u1"),
                ],
                "includes": {"users": [USERS["u2"], USERS["u1"]]},
                "meta": {"result_count": 2},
            },
        ],
        scores(("1", "MIXED", 0.3, 0.3, 0.0, 0.4), ("4", "POSITIVE", 0.6, 0.1, 0.3, 0.0)),
    )

    tweets, windows = run_job(context, store)

    assert [t["tweet_id"] for t in tweets] == ["1", "2", "3", "4"]
    by_id = {t["tweet_id"]: t for t in tweets}
    assert by_id["1"]["label"] == "MIXED"  # the later window's score won
    assert by_id["1"]["username"] == "bo" and by_id["2"]["username"] == "ana"
    assert by_id["2"]["location"] == "Oslo" and by_id["1"]["location"] is None
    assert by_id["3"]["user_id"] == "u9" and by_id["3"]["username"] is None
    assert by_id["3"]["text"] == "RT @ana: hate it"  # its original is not in includes.tweets
    assert '"retweeted"' in by_id["3"]["referenced_tweets"]
    assert by_id["1"]["text"] == "love it 😍"
    assert by_id["1"]["created_at"] == T0 + timedelta(minutes=1)
    assert by_id["4"]["time_window"] == W[2].start
    assert by_id["4"]["text"] == "mixed &lt; feelings & Q&A <3"  # the API's escapes undone
    assert by_id["1"]["analyzer"] == "test" and by_id["1"]["query"] == "ev"

    assert [w["time_window"] for w in windows] == [W[0].start, W[1].start, W[2].start]
    w0, w1, w2 = windows
    # Window 0 holds tweets 1 (re-scored MIXED, created at minute 1), 2 and 3.
    assert w0["count_tweets"] == 3
    assert math.isclose(w0["avg_positive"], (0.3 + 0.0 + 0.1) / 3, abs_tol=1e-12)
    assert math.isclose(w0["avg_mixed"], 0.4 / 3, abs_tol=1e-12)
    assert math.isclose(w0["perc_tweet_negative"], 2 / 3, abs_tol=1e-12)
    assert math.isclose(w0["perc_tweet_mixed"], 1 / 3, abs_tol=1e-12)
    assert w0["perc_tweet_neutral"] == 0.0 and w0["perc_tweet_positive"] == 0.0
    assert w1["count_tweets"] == 0 and w1["perc_tweet_positive"] == 0.0
    assert w1["avg_positive"] is None
    assert w2["count_tweets"] == 1 and w2["perc_tweet_positive"] == 1.0
    for w in windows:
        assert all(
            w[f"perc_tweet_{k}"] is not None for k in ("positive", "negative", "neutral", "mixed")
        )


def test_rerun_gives_identical_outputs(context, store) -> None:
    stage(
        store,
        W[0],
        [{"data": [tweet("1", 3, "ok", "u1")], "includes": {"users": [USERS["u1"]]}}],
        scores(("1", "NEUTRAL", 0.1, 0.1, 0.8, 0.0)),
    )
    assert run_job(context, store) == run_job(context, store)


def test_csv_times_are_iso_utc(context, store) -> None:
    stage(
        store,
        W[0],
        [{"data": [tweet("1", 3, 'comma, "quote"\nnewline', "u1")]}],
        scores(("1", "NEUTRAL", 0.1, 0.1, 0.8, 0.0)),
    )
    run_job(context, store)
    text = store.get(outputs_for(SLUG).windows_csv).decode()
    assert "2024-03-01T00:00:00.000Z" in text
    tweets_csv = store.get(outputs_for(SLUG).tweets_csv).decode()
    assert '"comma, ""quote""\nnewline"' in tweets_csv


def test_posts_written_in_runs_of_windows_equal_one_sort(context, store, monkeypatch) -> None:
    # In each file: posts out of time order, two at the same time (ordered by id); the last
    # file re-delivers a post of the first window.
    # Words shared within and across windows, under two labels: drivers.
    for i, w in enumerate(W):
        posts = [
            tweet(f"{i}{j}", 15 * i + (7 - j) % 5, f"post {j} battery", "u1") for j in range(5)
        ]
        posts.append(tweet(f"{i}x", 15 * i + 2, "same time as post 0", "u2"))
        posts += [tweet("00", 2, "post 0 battery", "u1")] if i == 3 else []
        label = ("POSITIVE", "NEGATIVE")
        labels = [(p["id"], label[k % 2], 1.0, 0.0, 0.0, 0.0) for k, p in enumerate(posts)]
        stage(store, w, [{"data": posts, "includes": {"users": [USERS["u1"]]}}], scores(*labels))

    def drivers() -> list[dict]:
        data = store.get(outputs_for(SLUG).drivers_parquet)
        return pq.read_table(pa.BufferReader(data)).to_pylist()

    whole = run_job(context, store), drivers()
    monkeypatch.setattr(duckdb_engine, "RUN_BYTES_PER_POST", 10**15)  # a run per window
    in_runs = run_job(context, store), drivers()
    assert in_runs == whole
    (posts, _), found = in_runs
    assert {(d["label"], d["term"]) for d in found} >= {
        ("POSITIVE", "battery"),
        ("NEGATIVE", "battery"),
    }
    order = [(t["created_at"], t["tweet_id"]) for t in posts]
    assert order == sorted(order) and len(order) == 4 * 6
    assert [t["tweet_id"] for t in posts[:4]] == ["02", "01", "00", "0x"]
    assert posts[2]["username"] == "ana" and posts[3]["username"] is None
