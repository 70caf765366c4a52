"""The batch job's insight columns on hand-made windows whose right answer is known: post types,
engagement, counted volume, reposts counted once, the engagement-weighted net sentiment."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.test_batch_job import SLUG, USERS, W, scores, stage, tweet
from tweetsense import layout
from tweetsense.batch.base import BatchInputs
from tweetsense.config import BackendSection
from tweetsense.pipeline.batch import outputs_for
from tweetsense.registry import create
from tweetsense.warehouse.schema import SENTIMENT_BY_ANALYZER


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
                    tweet("1", 1, "the launch is great", "u1", **metrics(10, 2, 1, 0)),
                    tweet(
                        "2", 2, "RT @ana: the launch", "u2", **refs(("retweeted", "1")), **metrics()
                    ),
                    tweet("3", 3, "RT @ana: the launch", "u2", **refs(("retweeted", "1"))),
                    tweet(
                        "4", 4, "no it is not", "u2", **refs(("replied_to", "1")), **metrics(like=1)
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


def run(context, store) -> dict[str, list[dict]]:
    engine = create("batch", context, BackendSection(type="duckdb"))
    windows = [w for w in W if store.exists(layout.staging_key(SLUG, w))]
    inputs = BatchInputs(
        "ev",
        SLUG,
        900,
        [store.uri(layout.staging_key(SLUG, w)) for w in windows],
        [store.uri(layout.sentiment_key(SLUG, w)) for w in windows],
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
    }


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_post_types_engagement_and_opinions(context, store) -> None:
    stage_story(store)
    out = run(context, store)

    cols = ("post_type", "repost_of", "like_count", "repost_count", "reply_count",
            "quote_count", "engagement", "terms")  # fmt: skip
    tweets = {t["tweet_id"]: tuple(t[c] for c in cols) for t in out["tweets"]}
    assert tweets == {
        "1": ("original", None, 10, 2, 1, 0, 13, None),
        "2": ("repost", "1", 0, 0, 0, 0, 0, None),
        "3": ("repost", "1", None, None, None, None, 0, None),
        "4": ("reply", None, 1, 0, 0, 0, 1, None),
        "5": ("quote", None, None, None, None, None, 0, None),
        "6": ("repost", "99", 0, 0, 2, 0, 2, None),
        "7": ("repost", "99", None, None, None, None, 0, None),
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
    assert w2["engagement"] == 2
    assert math.isclose(w2["weighted_net"], (3 * 0 + 1 * 1) / 4)
