"""The warehouse tables, defined once; each warehouse renders them in its own dialect."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 2


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
        # Since schema version 2: what kind of post it is and how people engaged with it.
        Column("post_type", "text"),  # original, reply, quote or repost
        Column("repost_of", "text"),  # the id of the post a repost repeats
        Column("like_count", "bigint"),  # public_metrics; null when the page had none
        Column("repost_count", "bigint"),
        Column("reply_count", "bigint"),
        Column("quote_count", "bigint"),
        # likes + reposts + replies + quotes, 0 if none; 0 for a repost, whose public_metrics
        # are its original's.
        Column("engagement", "bigint", False),
        # The post's drivers (see ``DRIVER``), each as a line "<kind>:<term>", the text starting
        # and ending with a newline, so a driver's posts are those containing "\n<kind>:<term>\n".
        Column("terms", "text"),
    ),
    key=("query", "tweet_id"),
)

_WINDOW_AGGREGATES = (
    Column("count_tweets", "bigint", False),
    Column("avg_positive", "double"),
    Column("avg_negative", "double"),
    Column("avg_neutral", "double"),
    Column("avg_mixed", "double"),
    Column("perc_tweet_positive", "double", False),
    Column("perc_tweet_negative", "double", False),
    Column("perc_tweet_neutral", "double", False),
    Column("perc_tweet_mixed", "double", False),
)

SENTIMENT = Table(
    "sentiment",
    (
        Column("query", "text", False),
        Column("time_window", "timestamptz", False),
        *_WINDOW_AGGREGATES,
        # Since schema version 2.
        # Posts matching the query in the window by the X API's counts endpoint (null: not
        # counted); count_tweets is the sample read. Counts may not exactly match search.
        Column("volume", "bigint"),
        Column("count_reposts", "bigint", False),
        # Reposts counted once per original in the window ("opinions"), and their label shares.
        Column("count_opinions", "bigint", False),
        Column("perc_opinion_positive", "double", False),
        Column("perc_opinion_negative", "double", False),
        Column("perc_opinion_neutral", "double", False),
        Column("perc_opinion_mixed", "double", False),
        Column("engagement", "bigint", False),  # sum over the window's posts
        # sum(w * (positive? - negative?)) / sum(w) over the posts, w = 1 + engagement.
        Column("weighted_net", "double"),
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
        Column("time_window", "timestamptz", False),
        *_WINDOW_AGGREGATES,
    ),
    key=("query", "analyzer", "time_window"),
)

# How two analyzers label the same posts: per window, unordered analyzer pair and label pair,
# how many posts both scored get those labels (``analyzer_a <= analyzer_b``; a pair of one
# analyzer with itself counts its labels). A range's confusion matrix is these counts summed.
AGREEMENT = Table(
    "analyzer_agreement",
    (
        Column("query", "text", False),
        Column("time_window", "timestamptz", False),
        Column("analyzer_a", "text", False),
        Column("analyzer_b", "text", False),
        Column("label_a", "text", False),
        Column("label_b", "text", False),
        Column("count", "bigint", False),
    ),
    key=("query", "time_window", "analyzer_a", "analyzer_b", "label_a", "label_b"),
)

# What drives sentiment: per window, how many posts of each label mention a term. ``kind`` is
# entity (entities.annotations and context_annotations), term (a word of the text), hashtag,
# mention or domain (of a linked URL). A range's drivers are these counts summed over its windows.
DRIVER = Table(
    "driver",
    (
        Column("query", "text", False),
        Column("time_window", "timestamptz", False),
        Column("kind", "text", False),
        Column("term", "text", False),
        Column("label", "text", False),
        Column("count", "bigint", False),
    ),
    key=("query", "time_window", "kind", "term", "label"),
)

# Windows whose ``metric`` (volume, net_sentiment) departs from the rolling baseline of the
# windows before it: robust z-score ``score`` of ``value`` against the ``baseline`` median.
SENTIMENT_SPIKE = Table(
    "sentiment_spike",
    (
        Column("query", "text", False),
        Column("time_window", "timestamptz", False),
        Column("metric", "text", False),
        Column("value", "double", False),
        Column("baseline", "double", False),
        Column("score", "double", False),
        Column("direction", "text", False),  # up or down
    ),
    key=("query", "time_window", "metric"),
)

TABLES = (TWEET, SENTIMENT)
ANALYSIS_TABLES = (TWEET_SCORE, SENTIMENT_BY_ANALYZER, AGREEMENT)
INSIGHT_TABLES = (DRIVER, SENTIMENT_SPIKE)

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
INDEXES = (
    Index("tweet", ("query", "time_window")),
    Index("tweet", ("query", "created_at")),
    Index("tweet", ("query", "engagement")),
)


def create_table_sql(table: Table, types: dict[str, str], *, primary_key: bool = True) -> str:
    cols = [f'"{c.name}" {types[c.type]}{"" if c.nullable else " NOT NULL"}' for c in table.columns]
    if primary_key:
        cols.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in table.key) + ")")
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" (\n  ' + ",\n  ".join(cols) + "\n)"
