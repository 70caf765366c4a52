"""The batch job as one Ibis expression, so DuckDB and Spark run the very same logic.

Inputs are flat tables an engine reads from the files (see ``INPUT_SCHEMAS``); every one carries
``file_order`` (the epoch seconds of the window file it came from) and ``position`` (its place in
that file) so "latest wins" is a deterministic order. Choices that keep engines identical:
buckets are ``epoch_seconds // freq`` (Ibis ``bucket()`` fails on PySpark), deduplication is
``row_number()`` (not ``distinct(on=...)``), and every connection runs in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
from ibis import _

from tweetsense.contracts import LABELS
from tweetsense.warehouse.schema import SENTIMENT, TWEET

INPUT_SCHEMAS: dict[str, dict[str, str]] = {
    "tweets": {
        "tweet_id": "string",
        "created_at": "timestamp('UTC')",
        "text": "string",
        "author_id": "string",
        "lang": "string",
        "conversation_id": "string",
        "referenced_tweets": "string",
        "file_order": "int64",
        "position": "int64",
    },
    "users": {
        "user_id": "string",
        "username": "string",
        "name": "string",
        "verified": "boolean",
        "location": "string",
        "file_order": "int64",
        "position": "int64",
    },
    "scores": {
        "tweet_id": "string",
        "label": "string",
        "positive": "float64",
        "negative": "float64",
        "neutral": "float64",
        "mixed": "float64",
        "analyzer": "string",
        "file_order": "int64",
        "position": "int64",
    },
    "windows": {"window_epoch": "int64"},
}


@dataclass(frozen=True)
class JobOutputs:
    tweets: ibis.Table
    windows: ibis.Table


def latest(table: ibis.Table, key: str) -> ibis.Table:
    """One row per ``key``: the one from the latest window file, last in that file."""
    order = [ibis.desc(table.file_order), ibis.desc(table.position)]
    ranked = table.mutate(_rank=ibis.row_number().over(group_by=table[key], order_by=order))
    return ranked.filter(ranked._rank == 0).drop("_rank", "file_order", "position")


def _window_start(epoch: ibis.Value) -> ibis.Value:
    return epoch.as_timestamp("s").cast(dt.Timestamp(timezone="UTC"))


def build(
    tweets: ibis.Table,
    users: ibis.Table,
    scores: ibis.Table,
    windows: ibis.Table,
    *,
    query: str,
    freq_seconds: int,
) -> JobOutputs:
    t = latest(tweets, "tweet_id")
    u = latest(users, "user_id")
    s = latest(scores, "tweet_id").rename(score_tweet_id="tweet_id")

    joined = t.left_join(u, t.author_id == u.user_id).inner_join(s, _.tweet_id == s.score_tweet_id)
    # Tweets keep their author's id even when the author is unknown (no user object returned).
    tweet_rows = joined.mutate(
        query=ibis.literal(query),
        user_id=_.author_id,
        window_epoch=(_.created_at.epoch_seconds() // freq_seconds) * freq_seconds,
    )
    # Only posts inside the staged windows count: a replayed file may hold more than the range.
    tweet_rows = tweet_rows.semi_join(windows, "window_epoch")
    tweet_rows = tweet_rows.mutate(time_window=_window_start(tweet_rows.window_epoch))

    # Per label, e.g. POSITIVE in column ``positive``: the mean score and the share of posts.
    cols = {label: label.lower() for label in LABELS}
    per_window = tweet_rows.group_by("window_epoch").aggregate(
        count_tweets=_.count(),
        **{f"avg_{col}": _[col].mean() for col in cols.values()},
        **{
            f"perc_tweet_{col}": (_.label == label).cast("float64").mean()
            for label, col in cols.items()
        },
    )
    # Every staged window gets a row, an empty one included, so a time series has no holes.
    spine = windows.select(spine_epoch=windows.window_epoch).distinct()
    full = spine.left_join(per_window, spine.spine_epoch == per_window.window_epoch)
    # Averages of an empty window stay null (no posts to average); counts and shares are 0.
    values = {
        "query": ibis.literal(query),
        "time_window": _window_start(full.spine_epoch),
        "count_tweets": full.count_tweets.fill_null(0),
        **{f"avg_{col}": full[f"avg_{col}"] for col in cols.values()},
        **{f"perc_tweet_{col}": full[f"perc_tweet_{col}"].fill_null(0.0) for col in cols.values()},
    }
    window_rows = full.select(**{name: values[name] for name in SENTIMENT.column_names})
    window_rows = window_rows.order_by("time_window")

    tweets_out = tweet_rows.select(*TWEET.column_names).order_by("created_at", "tweet_id")
    return JobOutputs(tweets=tweets_out, windows=window_rows)
