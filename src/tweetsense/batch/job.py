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

TWEET_COLUMNS = (
    "query", "tweet_id", "created_at", "time_window", "text", "referenced_tweets", "user_id",
    "username", "name", "verified", "location", "lang", "conversation_id", "label", "positive",
    "negative", "neutral", "mixed", "analyzer",
)  # fmt: skip
WINDOW_COLUMNS = (
    "query", "time_window", "count_tweets", "avg_positive", "avg_negative", "avg_neutral",
    "avg_mixed", "perc_tweet_positive", "perc_tweet_negative", "perc_tweet_neutral",
    "perc_tweet_mixed",
)  # fmt: skip


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

    per_window = tweet_rows.group_by("window_epoch").aggregate(
        count_tweets=_.count(),
        avg_positive=_.positive.mean(),
        avg_negative=_.negative.mean(),
        avg_neutral=_.neutral.mean(),
        avg_mixed=_.mixed.mean(),
        perc_tweet_positive=(_.label == "POSITIVE").cast("float64").mean(),
        perc_tweet_negative=(_.label == "NEGATIVE").cast("float64").mean(),
        perc_tweet_neutral=(_.label == "NEUTRAL").cast("float64").mean(),
        perc_tweet_mixed=(_.label == "MIXED").cast("float64").mean(),
    )
    # Every staged window gets a row, an empty one included, so a time series has no holes.
    spine = windows.select(spine_epoch=windows.window_epoch).distinct()
    full = spine.left_join(per_window, spine.spine_epoch == per_window.window_epoch)
    window_rows = full.select(
        query=ibis.literal(query),
        time_window=_window_start(full.spine_epoch),
        count_tweets=full.count_tweets.fill_null(0),
        avg_positive=full.avg_positive,
        avg_negative=full.avg_negative,
        avg_neutral=full.avg_neutral,
        avg_mixed=full.avg_mixed,
        perc_tweet_positive=full.perc_tweet_positive.fill_null(0.0),
        perc_tweet_negative=full.perc_tweet_negative.fill_null(0.0),
        perc_tweet_neutral=full.perc_tweet_neutral.fill_null(0.0),
        perc_tweet_mixed=full.perc_tweet_mixed.fill_null(0.0),
    ).order_by("time_window")

    tweets_out = tweet_rows.select(*TWEET_COLUMNS).order_by("created_at", "tweet_id")
    return JobOutputs(tweets=tweets_out, windows=window_rows)
