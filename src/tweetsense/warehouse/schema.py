"""The warehouse tables, defined once; each warehouse renders them in its own dialect."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # portable type: text, timestamptz, double, bigint, boolean
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


TWEET = Table(
    "tweet",
    (
        Column("query", "text", False),
        Column("tweet_id", "text", False),
        Column("created_at", "timestamptz", False),
        Column("time_window", "timestamptz", False),
        Column("text", "text"),
        Column("referenced_tweets", "text"),
        Column("user_id", "text"),
        Column("username", "text"),
        Column("name", "text"),
        Column("verified", "boolean"),
        Column("location", "text"),
        Column("lang", "text"),
        Column("conversation_id", "text"),
        Column("label", "text"),
        Column("positive", "double"),
        Column("negative", "double"),
        Column("neutral", "double"),
        Column("mixed", "double"),
        Column("analyzer", "text"),
    ),
    key=("query", "tweet_id"),
)

SENTIMENT = Table(
    "sentiment",
    (
        Column("query", "text", False),
        Column("time_window", "timestamptz", False),
        Column("count_tweets", "bigint", False),
        Column("avg_positive", "double"),
        Column("avg_negative", "double"),
        Column("avg_neutral", "double"),
        Column("avg_mixed", "double"),
        Column("perc_tweet_positive", "double", False),
        Column("perc_tweet_negative", "double", False),
        Column("perc_tweet_neutral", "double", False),
        Column("perc_tweet_mixed", "double", False),
    ),
    key=("query", "time_window"),
)

# Every analyzer's results, the primary one's included: one row per post and analyzer, and one
# per window and analyzer (``sentiment``'s columns), so analyzers can be compared side by side.
TWEET_SCORE = Table(
    "tweet_score",
    (
        Column("query", "text", False),
        Column("tweet_id", "text", False),
        Column("analyzer", "text", False),
        Column("time_window", "timestamptz", False),
        Column("label", "text", False),
        Column("positive", "double"),
        Column("negative", "double"),
        Column("neutral", "double"),
        Column("mixed", "double"),
    ),
    key=("query", "tweet_id", "analyzer"),
)

SENTIMENT_BY_ANALYZER = Table(
    "sentiment_by_analyzer",
    (
        Column("query", "text", False),
        Column("analyzer", "text", False),
        *SENTIMENT.columns[1:],
    ),
    key=("query", "analyzer", "time_window"),
)

TABLES = (TWEET, SENTIMENT)
ANALYSIS_TABLES = (TWEET_SCORE, SENTIMENT_BY_ANALYZER)

# One row per schema version applied; a later column change adds a migration for version 2.
SCHEMA_TABLE = Table(
    "tweetsense_schema",
    (Column("version", "bigint", False), Column("applied_at", "timestamptz", False)),
    key=("version",),
)


@dataclass(frozen=True)
class Index:
    table: str
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.table}_{'_'.join(self.columns)}_idx"


# What the dashboard filters and sorts by, besides the primary keys (sentiment's key already
# serves (query, time_window) ranges).
INDEXES = (Index("tweet", ("query", "time_window")), Index("tweet", ("query", "created_at")))


def create_table_sql(table: Table, types: dict[str, str]) -> str:
    cols = [f'"{c.name}" {types[c.type]}{"" if c.nullable else " NOT NULL"}' for c in table.columns]
    cols.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in table.key) + ")")
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" (\n  ' + ",\n  ".join(cols) + "\n)"
