"""A small warehouse built by the demo pipeline (8 hours of 15-minute windows) for the
dashboard and Grafana tests, plus SQL that recomputes what the panels must show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tests.conftest import make_config
from tweetsense.pipeline.batch import outputs_for
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.run import run_all

QUERY = "electric vehicles"
START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2024, 3, 1, 8, tzinfo=UTC)
XSS = "<img src=x onerror=alert(1)>"
XSS_WINDOW = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class DemoWarehouse:
    data_dir: Path
    path: Path
    tweets_uri: str
    windows_uri: str


def build(root: Path) -> DemoWarehouse:
    config = make_config(
        root, search__end_time=END.isoformat(), sentiment__workers="1", source__concurrency="2"
    )
    p = Pipeline(config)
    try:
        run_all(p)
        outputs = outputs_for(p.slug)
        uris = p.store.uri(outputs.tweets_parquet), p.store.uri(outputs.windows_parquet)
    finally:
        p.close()
    return DemoWarehouse(config.data_dir, config.data_dir / "warehouse.duckdb", *uris)


def insert_xss_tweet(path: Path) -> None:
    """A tweet whose text is markup, first of its window, written by a read-write connection."""
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "INSERT INTO tweet (query, tweet_id, created_at, time_window, text, username, label, "
            "positive, negative, neutral, mixed, analyzer) "
            "VALUES (?, '1', ?, ?, ?, 'mallory', 'NEUTRAL', 0.1, 0.1, 0.8, 0.0, 'default')",
            [QUERY, XSS_WINDOW, XSS_WINDOW, XSS],
        )
    finally:
        con.close()


def expected(path: Path, start: datetime | None = None, end: datetime | None = None) -> dict:
    """Totals over a range straight from the table, independent of the read API."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(
            "SELECT count(*), sum(count_tweets), "
            "sum(perc_tweet_positive * count_tweets) / sum(count_tweets), "
            "sum(perc_tweet_neutral * count_tweets) / sum(count_tweets), "
            "sum(perc_tweet_negative * count_tweets) / sum(count_tweets), "
            "sum(perc_tweet_mixed * count_tweets) / sum(count_tweets), "
            "sum(avg_positive * count_tweets) / sum(count_tweets), "
            "sum(avg_neutral * count_tweets) / sum(count_tweets), "
            "sum(avg_negative * count_tweets) / sum(count_tweets), "
            "sum(avg_mixed * count_tweets) / sum(count_tweets) "
            "FROM sentiment WHERE query = ? AND time_window >= ? AND time_window < ?",
            [QUERY, start or START, end or END],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    labels = ("positive", "neutral", "negative", "mixed")
    return {
        "windows": row[0],
        "tweets": int(row[1]),
        "shares": dict(zip(labels, row[2:6], strict=True)),
        "averages": dict(zip(labels, row[6:10], strict=True)),
    }
