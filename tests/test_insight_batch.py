"""The batch job's insight columns on hand-made windows whose right answer is known: post types,
engagement, counted volume, reposts counted once, the engagement-weighted net sentiment."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import copy_uris
from tests.test_batch_job import SLUG, USERS, W, scores, stage, tweet
from tweetsense import layout
from tweetsense.batch import spikes
from tweetsense.batch.base import BatchInputs
from tweetsense.config import BackendSection, InsightSection
from tweetsense.pipeline.batch import outputs_for
from tweetsense.registry import create
from tweetsense.warehouse.dialects import arrow_schema
from tweetsense.warehouse.schema import (
    DRIVER,
    SENTIMENT,
    SENTIMENT_BY_ANALYZER,
    SENTIMENT_SPIKE,
    TWEET,
)


def metrics(like: int = 0, retweet: int = 0, reply: int = 0, quote: int = 0) -> dict:
    return {
        "public_metrics": {
            "like_count": like,
            "retweet_count": retweet,
            "reply_count": reply,
            "quote_count": quote,
            "bookmark_count": 99,  # neither counts as engagement
            "impression_count": 5000,
        }
    }


def refs(*pairs: tuple[str, str]) -> dict:
    return {"referenced_tweets": [{"type": t, "id": i} for t, i in pairs]}


def stage_story(store) -> None:
    # Window 0, counted at 500 posts: an original, two reposts of it, a reply and a quote that
    # also replies; post 3 has no public_metrics.
    stage(
        store,
        W[0],
        [
            {
                "data": [
                    tweet(
                        "1",
                        1,
                        "The launch is great https://t.co/abc123 #EV",
                        "u1",
                        **metrics(10, 2, 1, 0),
                        entities={
                            "hashtags": [{"start": 38, "end": 41, "tag": "EV"}],
                            "mentions": [{"username": "Ana", "id": "u1"}],
                            "urls": [
                                {
                                    "url": "https://t.co/abc123",
                                    "expanded_url": "https://WWW.Example.com/a?b=1",
                                }
                            ],
                            "annotations": [{"type": "Organization", "normalized_text": " Tesla "}],
                        },
                        context_annotations=[
                            {"domain": {"id": "47", "name": "Brand"}, "entity": {"name": "Tesla"}}
                        ],
                    ),
                    tweet(
                        "2", 2, "RT @ana: the launch", "u2", **refs(("retweeted", "1")), **metrics()
                    ),
                    tweet("3", 3, "RT @ana: the launch", "u2", **refs(("retweeted", "1"))),
                    tweet(
                        "4",
                        4,
                        "no it is not",
                        "u2",
                        **refs(("replied_to", "1")),
                        **metrics(like=1),
                        entities={
                            "hashtags": [{"tag": "ev"}],
                            "urls": [{"url": "http://News.example.org:8080/x"}],
                        },
                    ),
                    tweet("5", 5, "look", "u1", **refs(("replied_to", "4"), ("quoted", "1"))),
                ],
                "includes": {"users": [USERS["u1"], USERS["u2"]]},
            }
        ],
        scores(
            ("1", "POSITIVE", 0.9, 0.0, 0.1, 0.0),
            ("2", "POSITIVE", 0.9, 0.0, 0.1, 0.0),
            ("3", "NEGATIVE", 0.1, 0.8, 0.1, 0.0),
            ("4", "NEGATIVE", 0.0, 0.9, 0.1, 0.0),
            ("5", "NEUTRAL", 0.1, 0.1, 0.8, 0.0),
        ),
        volume=500,
    )
    # Window 1: empty and not counted.
    stage(store, W[1], [{"meta": {"result_count": 0}}], [])
    # Window 2, counted at 7: two reposts of an original the pages do not hold.
    stage(
        store,
        W[2],
        [
            {
                "data": [
                    tweet(
                        "6",
                        31,
                        "RT @x: old news",
                        "u1",
                        **refs(("retweeted", "99")),
                        **metrics(reply=2),
                    ),
                    tweet("7", 32, "RT @x: old news", "u2", **refs(("retweeted", "99"))),
                ]
            }
        ],
        scores(("6", "MIXED", 0.3, 0.3, 0.0, 0.4), ("7", "POSITIVE", 0.6, 0.1, 0.3, 0.0)),
        volume=7,
    )


def run(context, store) -> dict[str, Any]:
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

    def read(key: str) -> pa.Table:
        return pq.read_table(pa.BufferReader(store.get(key)))

    by_analyzer = read(outputs.by_analyzer_parquet)
    assert by_analyzer.column_names == SENTIMENT_BY_ANALYZER.column_names
    return {
        "tweets": read(outputs.tweets_parquet).to_pylist(),
        "windows": read(outputs.windows_parquet).to_pylist(),
        "drivers": read(outputs.drivers_parquet).to_pylist(),
        "outputs": outputs,
    }


# Every driver of post 1, sorted: its link's host without www, the annotation and the context
# entity (one, trimmed), the hashtag and mention lowercased, and its words but the stopwords,
# the link and the hashtag.
FIRST = "\ndomain:example.com\nentity:Tesla\nhashtag:#ev\nmention:@ana\nterm:great\nterm:launch\n"
W0_DRIVERS = [
    ("domain", "example.com", "POSITIVE", 1),
    ("domain", "news.example.org", "NEGATIVE", 1),
    ("entity", "Tesla", "POSITIVE", 1),
    ("hashtag", "#ev", "NEGATIVE", 1),
    ("hashtag", "#ev", "POSITIVE", 1),
    ("mention", "@ana", "POSITIVE", 1),
    # "launch" is in posts 1-3; "great" and "look" in one post each, below driver_min_count 2.
    ("term", "launch", "NEGATIVE", 1),
    ("term", "launch", "POSITIVE", 2),
]
W2_DRIVERS = [
    ("term", "news", "MIXED", 1),
    ("term", "news", "POSITIVE", 1),
    ("term", "old", "MIXED", 1),
    ("term", "old", "POSITIVE", 1),
]


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_drivers_per_window_kind_term_and_label(context, store) -> None:
    stage_story(store)
    drivers = run(context, store)["drivers"]
    assert {d["query"] for d in drivers} == {"ev"}
    assert [(d["time_window"], d["kind"], d["term"], d["label"], d["count"]) for d in drivers] == [
        *((W[0].start, *d) for d in W0_DRIVERS),
        *((W[2].start, *d) for d in W2_DRIVERS),
    ]


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_post_types_engagement_and_opinions(context, store) -> None:
    stage_story(store)
    out = run(context, store)

    cols = ("post_type", "repost_of", "like_count", "repost_count", "reply_count",
            "quote_count", "engagement", "terms")  # fmt: skip
    tweets = {t["tweet_id"]: tuple(t[c] for c in cols) for t in out["tweets"]}
    assert tweets == {
        "1": ("original", None, 10, 2, 1, 0, 13, FIRST),
        "2": ("repost", "1", 0, 0, 0, 0, 0, "\nterm:launch\n"),
        "3": ("repost", "1", None, None, None, None, 0, "\nterm:launch\n"),
        "4": ("reply", None, 1, 0, 0, 0, 1, "\ndomain:news.example.org\nhashtag:#ev\n"),
        "5": ("quote", None, None, None, None, None, 0, "\nterm:look\n"),
        # A repost's metrics are its original's: stored as sent, no engagement of its own.
        "6": ("repost", "99", 0, 0, 2, 0, 0, "\nterm:news\nterm:old\n"),
        "7": ("repost", "99", None, None, None, None, 0, "\nterm:news\nterm:old\n"),
    }

    w0, w1, w2 = out["windows"]
    assert (w0["count_tweets"], w0["volume"], w0["count_reposts"]) == (5, 500, 2)
    # Posts 1-3 are one opinion, post 1's (the first); 4 and 5 are one each.
    assert w0["count_opinions"] == 3
    shares = [w0[f"perc_opinion_{k}"] for k in ("positive", "negative", "neutral", "mixed")]
    assert shares == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0.0])
    assert w0["engagement"] == 14
    # Weights 1 + engagement: 14, 1, 1, 2, 1; net +14 +1 -1 -2 +0.
    assert math.isclose(w0["weighted_net"], 12 / 19)

    assert (w1["count_tweets"], w1["volume"], w1["count_reposts"], w1["count_opinions"]) == (
        0,
        None,
        0,
        0,
    )
    assert (w1["engagement"], w1["weighted_net"], w1["perc_opinion_positive"]) == (0, None, 0.0)

    assert (w2["count_tweets"], w2["volume"], w2["count_reposts"], w2["count_opinions"]) == (
        2,
        7,
        2,
        1,
    )
    assert w2["perc_opinion_mixed"] == 1.0 and w2["perc_opinion_positive"] == 0.0
    assert w2["engagement"] == 0
    assert math.isclose(w2["weighted_net"], (1 * 0 + 1 * 1) / 2)


def _rows(warehouse, table) -> list[dict]:
    names = ", ".join(f'"{c}"' for c in table.column_names)
    order = ", ".join(f'"{k}"' for k in table.key)
    return [
        dict(r) for r in warehouse._rows(f'SELECT {names} FROM "{table.name}" ORDER BY {order}', [])
    ]


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_insight_outputs_load_twice_without_duplicates(context, store, warehouse) -> None:
    stage_story(store)
    outputs = run(context, store)["outputs"]
    # A spike in every window with posts, so the table has rows to load.
    insight = InsightSection(spike_baseline=4, spike_min_baseline=3, spike_threshold=0.1)
    spikes.write(store, outputs.windows_parquet, outputs.spikes_parquet, insight)
    files = {
        TWEET.name: outputs.tweets_parquet,
        SENTIMENT.name: outputs.windows_parquet,
        DRIVER.name: outputs.drivers_parquet,
        SENTIMENT_SPIKE.name: outputs.spikes_parquet,
    }
    uris = {name: store.uri(key) for name, key in files.items()}
    first = warehouse.load("ev", uris)
    assert (first.tweets, first.windows, first.drivers) == (7, 3, 12)
    loaded = {t.name: _rows(warehouse, t) for t in (TWEET, SENTIMENT, DRIVER, SENTIMENT_SPIKE)}
    assert warehouse.load("ev", uris) == first
    assert {t.name: _rows(warehouse, t) for t in (TWEET, SENTIMENT, DRIVER, SENTIMENT_SPIKE)} == (
        loaded
    )
    terms = {r["tweet_id"]: r["terms"] for r in loaded[TWEET.name]}
    assert terms["1"] == FIRST
    assert [(r["kind"], r["term"], r["label"], r["count"]) for r in loaded[DRIVER.name]][:8] == (
        W0_DRIVERS
    )

    # A reload whose drivers changed replaces a window's rows: none of the old ones stay.
    only_w2 = [d for d in pq.read_table(uris[DRIVER.name]).to_pylist() if d["term"] == "news"]
    path = store.uri(outputs.drivers_parquet) + ".news.parquet"
    pq.write_table(pa.Table.from_pylist(only_w2, schema=arrow_schema(DRIVER)), path)
    again = warehouse.load("ev", {**uris, DRIVER.name: path})
    assert again.drivers == 2
    assert [r["term"] for r in _rows(warehouse, DRIVER)] == ["news", "news"]
