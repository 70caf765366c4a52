"""A warehouse of schema version 1 (its DDL written out as it was) takes the outputs of schema
version 2: the new columns are added, the rows already there get values, version 2 is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from tests.contracts.test_warehouse_contract import _tweet, _window, _write
from tweetsense.config import BackendSection
from tweetsense.registry import Context, create
from tweetsense.warehouse.schema import SENTIMENT, TWEET

T0 = datetime(2024, 3, 1, tzinfo=UTC)
T1 = T0 + timedelta(minutes=15)

VERSION_1 = (
    """CREATE TABLE tweet (
  query TEXT NOT NULL, tweet_id TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
  time_window TIMESTAMPTZ NOT NULL, text TEXT, referenced_tweets TEXT, user_id TEXT,
  username TEXT, name TEXT, verified BOOLEAN, location TEXT, lang TEXT, conversation_id TEXT,
  label TEXT, positive DOUBLE PRECISION, negative DOUBLE PRECISION, neutral DOUBLE PRECISION,
  mixed DOUBLE PRECISION, analyzer TEXT,
  PRIMARY KEY (query, tweet_id))""",
    """CREATE TABLE sentiment (
  query TEXT NOT NULL, time_window TIMESTAMPTZ NOT NULL, count_tweets BIGINT NOT NULL,
  avg_positive DOUBLE PRECISION, avg_negative DOUBLE PRECISION, avg_neutral DOUBLE PRECISION,
  avg_mixed DOUBLE PRECISION, perc_tweet_positive DOUBLE PRECISION NOT NULL,
  perc_tweet_negative DOUBLE PRECISION NOT NULL, perc_tweet_neutral DOUBLE PRECISION NOT NULL,
  perc_tweet_mixed DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (query, time_window))""",
    """CREATE TABLE tweet_score (
  query TEXT NOT NULL, tweet_id TEXT NOT NULL, analyzer TEXT NOT NULL,
  time_window TIMESTAMPTZ NOT NULL, label TEXT NOT NULL, positive DOUBLE PRECISION,
  negative DOUBLE PRECISION, neutral DOUBLE PRECISION, mixed DOUBLE PRECISION,
  PRIMARY KEY (query, tweet_id, analyzer))""",
    """CREATE TABLE sentiment_by_analyzer (
  query TEXT NOT NULL, analyzer TEXT NOT NULL, time_window TIMESTAMPTZ NOT NULL,
  count_tweets BIGINT NOT NULL, avg_positive DOUBLE PRECISION, avg_negative DOUBLE PRECISION,
  avg_neutral DOUBLE PRECISION, avg_mixed DOUBLE PRECISION,
  perc_tweet_positive DOUBLE PRECISION NOT NULL, perc_tweet_negative DOUBLE PRECISION NOT NULL,
  perc_tweet_neutral DOUBLE PRECISION NOT NULL, perc_tweet_mixed DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (query, analyzer, time_window))""",
    """CREATE TABLE tweetsense_schema (
  version BIGINT NOT NULL, applied_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (version))""",
    "INSERT INTO tweetsense_schema VALUES (1, '2024-01-01T00:00:00Z')",
    # A window of an older load that the new outputs do not hold.
    """INSERT INTO tweet (query, tweet_id, created_at, time_window, text, label)
  VALUES ('old', '9', '2024-03-01T00:00:05Z', '2024-03-01T00:00:00Z', 'kept', 'NEGATIVE')""",
    """INSERT INTO sentiment VALUES ('old', '2024-03-01T00:00:00Z', 4, 0.1, 0.6, 0.2, 0.1,
  0.25, 0.5, 0.25, 0)""",
    # Its post scored by two analyzers, before the agreement roll-up existed.
    """INSERT INTO tweet_score (query, tweet_id, analyzer, time_window, label) VALUES
  ('old', '9', 'vader', '2024-03-01T00:00:00Z', 'POSITIVE'),
  ('old', '9', 'bert', '2024-03-01T00:00:00Z', 'NEGATIVE')""",
)


def _new_outputs(tmp_path: Path) -> dict[str, str]:
    tweets = [
        _tweet("ev", 1, T0, "POSITIVE", like_count=3, repost_count=1, engagement=4),
        _tweet("ev", 2, T0, "NEGATIVE", post_type="repost", repost_of="0001", terms="\nterm:x\n"),
    ]
    window = _window("ev", T0, ["POSITIVE", "NEGATIVE"])
    window.update(volume=120, count_reposts=1, engagement=4, weighted_net=0.5)
    return {
        TWEET.name: _write(tmp_path / "t.parquet", TWEET, tweets),
        SENTIMENT.name: _write(tmp_path / "w.parquet", SENTIMENT, [window]),
    }


def _check(rows: Any, tmp_path: Path) -> None:
    """``rows(sql)``: the warehouse's rows of ``sql`` as tuples."""
    tweets = rows(
        "SELECT query, tweet_id, post_type, repost_of, like_count, engagement, terms "
        "FROM tweet ORDER BY query, tweet_id"
    )
    assert tweets == [
        ("ev", "0001", "original", None, 3, 4, None),
        ("ev", "0002", "repost", "0001", None, 0, "\nterm:x\n"),
        ("old", "9", None, None, None, 0, None),
    ]
    windows = rows(
        "SELECT query, count_tweets, volume, count_reposts, count_opinions, "
        "perc_opinion_negative, engagement, weighted_net FROM sentiment ORDER BY query"
    )
    # The old window counts each post as an opinion: it was loaded before reposts were told.
    assert windows == [("ev", 2, 120, 1, 2, 0.5, 4, 0.5), ("old", 4, None, 0, 4, 0.5, 0, None)]
    assert [v for (v,) in rows("SELECT version FROM tweetsense_schema ORDER BY 1")] == [1, 2]
    assert rows("SELECT count(*) FROM driver") == [(0,)]
    # The roll-up of the scores already there, each pair of analyzers once.
    assert rows(
        "SELECT analyzer_a, analyzer_b, label_a, label_b, count FROM analyzer_agreement "
        "WHERE query = 'old' ORDER BY 1, 2"
    ) == [
        ("bert", "bert", "NEGATIVE", "NEGATIVE", 1),
        ("bert", "vader", "NEGATIVE", "POSITIVE", 1),
        ("vader", "vader", "POSITIVE", "POSITIVE", 1),
    ]


def test_duckdb_version_1_is_migrated(context: Context, tmp_path: Path) -> None:
    path = tmp_path / "v1.duckdb"
    with duckdb.connect(str(path)) as con:
        for statement in VERSION_1:
            con.execute(statement)
    w = create("warehouse", context, BackendSection(type="duckdb", path=str(path)))
    for _ in range(2):  # the second load finds version 2 and changes nothing more
        result = w.load("ev", _new_outputs(tmp_path))
        assert (result.tweets, result.windows) == (2, 1)

    def rows(sql: str) -> list[tuple]:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql).fetchall()

    _check(rows, tmp_path)
    assert [r["tweet_id"] for r in w.tweets("ev", T0)] == ["0001", "0002"]
    # Rebuilt without their primary keys, which DuckDB holds in memory for every row loaded;
    # their NOT NULL columns stay so.
    keyed = rows(
        "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
        "AND table_name <> 'tweetsense_schema'"
    )
    assert keyed == []
    with duckdb.connect(str(path)) as con, pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO tweet (query, tweet_id) VALUES ('ev', NULL)")


def test_postgres_version_1_is_migrated(
    context: Context, postgres_dsn: str, tmp_path: Path
) -> None:
    with psycopg.connect(postgres_dsn) as con:
        for statement in VERSION_1:
            con.execute(statement)
    w = create("warehouse", context, BackendSection(type="postgres", dsn=postgres_dsn))
    for _ in range(2):
        result = w.load("ev", _new_outputs(tmp_path))
        assert (result.tweets, result.windows) == (2, 1)

    def rows(sql: str) -> list[tuple]:
        with psycopg.connect(postgres_dsn) as con:
            return con.execute(sql).fetchall()

    _check(rows, tmp_path)
    indexes = [r for (r,) in rows("SELECT indexname FROM pg_indexes WHERE tablename = 'tweet'")]
    assert "tweet_query_engagement_idx" in indexes
    assert [r["tweet_id"] for r in w.tweets("ev", T0)] == ["0001", "0002"]
    w.close()


def test_a_current_warehouse_gets_no_alter(context: Context, tmp_path: Path) -> None:
    from tweetsense.warehouse.dialects import DUCKDB, catalog_sql

    path = tmp_path / "w.duckdb"
    w = create("warehouse", context, BackendSection(type="duckdb", path=str(path)))
    w.load("ev", _new_outputs(tmp_path))
    with duckdb.connect(str(path)) as con:
        assert DUCKDB.migration(con.execute(catalog_sql()).fetchall()) == []
