"""The columnar copies' keys and Parquet schemas.

A staging copy has one row per item of the window file, told apart by ``kind``: one ``window``
row (its ``volume``), a ``post`` row per post of the pages' ``data``, a ``user`` row per
``includes.users`` and an ``included`` row per ``includes.tweets``. ``position`` is the item's
place in the file (page number times a million plus its place in the page, both from 1), the
order "latest wins" goes by. Values keep the API's types: times stay text, so the engines parse
them as they always have. A post row also holds what ``columnar.posts`` finds from its values:
its type, its references as JSON text and its drivers.

A sentiment copy has one row per score (``position`` from 1) and a row at position 0 that
only names the analyzer, so a window with nothing to score still says who scored it.
"""

from __future__ import annotations

import pyarrow as pa

COLUMNAR = "columnar"

_TEXT = pa.string()
DRIVER = pa.struct([("kind", _TEXT), ("term", _TEXT)])

STAGING = pa.schema(
    [
        ("file_order", pa.int64()),  # the window's start, epoch seconds
        ("kind", _TEXT),
        ("position", pa.int64()),
        ("volume", pa.int64()),
        ("id", _TEXT),
        ("text", _TEXT),
        ("note_text", _TEXT),  # note_tweet.text
        ("created_at", _TEXT),
        ("author_id", _TEXT),
        ("lang", _TEXT),
        ("conversation_id", _TEXT),
        ("edit_history_tweet_ids", pa.list_(_TEXT)),
        ("like_count", pa.int64()),  # public_metrics.*
        ("retweet_count", pa.int64()),
        ("reply_count", pa.int64()),
        ("quote_count", pa.int64()),
        # Found from the post's values (``columnar.posts``).
        ("post_type", _TEXT),
        ("retweeted_id", _TEXT),
        ("referenced_json", _TEXT),  # referenced_tweets as JSON text
        ("drivers", pa.list_(DRIVER)),
        ("terms", _TEXT),
        ("username", _TEXT),  # users only
        ("name", _TEXT),
        ("verified", pa.bool_()),
        ("location", _TEXT),
    ]
)

SENTIMENT = pa.schema(
    [
        ("file_order", pa.int64()),
        ("analyzer", _TEXT),
        ("position", pa.int64()),
        ("tweet_id", _TEXT),
        ("label", _TEXT),
        ("positive", pa.float64()),
        ("negative", pa.float64()),
        ("neutral", pa.float64()),
        ("mixed", pa.float64()),
    ]
)

# The page object each post row's fields come from, and where in it: (column, path).
POST_FIELDS = (
    ("id", ("id",)),
    ("text", ("text",)),
    ("note_text", ("note_tweet", "text")),
    ("created_at", ("created_at",)),
    ("author_id", ("author_id",)),
    ("lang", ("lang",)),
    ("conversation_id", ("conversation_id",)),
    ("edit_history_tweet_ids", ("edit_history_tweet_ids",)),
    ("like_count", ("public_metrics", "like_count")),
    ("retweet_count", ("public_metrics", "retweet_count")),
    ("reply_count", ("public_metrics", "reply_count")),
    ("quote_count", ("public_metrics", "quote_count")),
)
USER_FIELDS = (
    ("id", ("id",)),
    ("username", ("username",)),
    ("name", ("name",)),
    ("verified", ("verified",)),
    ("location", ("location",)),
)
INCLUDED_FIELDS = (("id", ("id",)), ("text", ("text",)), ("note_text", ("note_tweet", "text")))


def copy_key(json_key: str) -> str:
    """The columnar copy of a window file: the same path under ``columnar/``, as Parquet."""
    return f"{COLUMNAR}/{json_key.removesuffix('.json')}.parquet"
