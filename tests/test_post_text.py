"""The text scored and stored is a post's whole text: a long post's note, a repost's original;
an edited post counts once, as its latest staged version."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import copy_uris
from tests.test_batch_job import SLUG, USERS, W, scores, stage, tweet
from tweetsense import layout
from tweetsense.batch.base import BatchInputs
from tweetsense.config import BackendSection
from tweetsense.contracts import StagingDoc
from tweetsense.pipeline import ledger
from tweetsense.pipeline.batch import outputs_for
from tweetsense.registry import create

LONG = "A long post. " * 30  # over 280 characters: `text` holds a cut-short copy
CUT = "RT @ana: the whole story is lo…"


def retweet(tid: str, minute: float, original: str) -> dict:
    refs = [{"type": "retweeted", "id": original}]
    return tweet(tid, minute, CUT, "u2", referenced_tweets=refs)


def edit(tid: str, minute: float, text: str, history: list[str]) -> dict:
    return tweet(tid, minute, text, "u1", edit_history_tweet_ids=history)


PAGES_0 = [
    {
        "data": [
            edit("10", 1, "frist draft", ["10", "11"]),
            edit("11", 3, "first draft", ["10", "11"]),  # the latest version of 10
            edit("20", 4, "only the old version is staged", ["20", "21"]),
            retweet("30", 5, "90"),
            tweet("40", 6, LONG[:270] + "…", "u1", note_tweet={"text": LONG}),
        ],
        "includes": {
            "users": [USERS["u1"]],
            "tweets": [{"id": "90", "text": "the whole story is long &amp; good"}],
        },
    },
    {
        "data": [
            retweet("31", 7, "91"),  # its original was not included: its own text stays
            retweet("50", 8, "92"),
            edit("60", 9, "fetched before it was edited", ["60"]),
        ],
        "includes": {
            "tweets": [
                {"id": "92", "text": LONG[:270] + "…", "note_tweet": {"text": LONG + "&lt;3"}},
                {"id": "91"},  # no text at all: the repost keeps its own
            ]
        },
    },
]
PAGES_1 = [
    # The edit of 60, staged a window later: its history names 60 as the earlier version.
    {"data": [edit("61", 16, "fetched after it was edited", ["60", "61"])]},
]
TEXTS_0 = [
    ("10", "frist draft"),
    ("11", "first draft"),
    ("20", "only the old version is staged"),
    ("30", "the whole story is long & good"),
    ("40", LONG),
    ("31", CUT),
    ("50", LONG + "<3"),
    ("60", "fetched before it was edited"),
]


def neutral(pairs: list[tuple[str, str]]) -> list[dict]:
    return scores(*((tid, "NEUTRAL", 0.1, 0.1, 0.8, 0.0) for tid, _ in pairs))


def test_scored_text_is_the_whole_text() -> None:
    assert StagingDoc("ev", W[0], "test", PAGES_0).tweet_texts() == TEXTS_0
    assert StagingDoc("ev", W[1], "test", PAGES_1).tweet_texts() == [
        ("61", "fetched after it was edited")
    ]


def test_later_included_copy_wins_and_other_references_keep_their_text() -> None:
    quote = tweet("1", 1, "look at this", "u1", referenced_tweets=[{"type": "quoted", "id": "9"}])
    included = {"tweets": [{"id": "9", "text": "a"}]}
    pages = [
        {"data": [retweet("2", 2, "9"), quote], "includes": included},
        {"includes": {"tweets": [{"id": 9, "text": "b"}]}},
    ]
    texts = StagingDoc("ev", W[0], "test", pages).tweet_texts()
    assert texts == [("2", "b"), ("1", "look at this")]


def test_batch_stores_the_scored_text_and_counts_an_edited_post_once(context, store) -> None:
    stage(store, W[0], PAGES_0, neutral(TEXTS_0))
    stage(store, W[1], PAGES_1, neutral([("61", "")]))
    outputs = outputs_for(SLUG)
    staged = W[:2]
    inputs = BatchInputs(
        "ev",
        SLUG,
        900,
        copy_uris(store, [layout.staging_key(SLUG, w) for w in staged]),
        copy_uris(store, [layout.sentiment_key(SLUG, w) for w in staged]),
        [int(w.start.timestamp()) for w in staged],
    )
    result = create("batch", context, BackendSection(type="duckdb")).run(inputs, outputs, store)
    tweets = pq.read_table(pa.BufferReader(store.get(outputs.tweets_parquet))).to_pylist()

    texts = {t["tweet_id"]: t["text"] for t in tweets}
    expected = dict(TEXTS_0) | {"61": "fetched after it was edited"}
    del expected["10"], expected["60"]  # earlier versions whose edit is staged
    assert texts == expected
    windows = pq.read_table(pa.BufferReader(store.get(outputs.windows_parquet))).to_pylist()
    assert [w["count_tweets"] for w in windows] == [6, 1]
    # A repost stays marked as one.
    assert '"retweeted"' in next(t for t in tweets if t["tweet_id"] == "30")["referenced_tweets"]

    w0, w1 = result.ledger
    assert (w0["fetched"], w0["placed"], w0["edited"]) == (8, 6, 2)
    assert (w1["fetched"], w1["placed"], w1["edited"]) == (1, 1, 0)
    book = ledger.build(result.ledger, {}, {}, 0)
    assert book.balanced and book.edited == 2 and book.lost == {}
    assert book.warning() is None
    assert "+ 2 earlier versions of edited posts +" in book.line()
