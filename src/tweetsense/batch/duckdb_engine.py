"""The embedded batch engine: DuckDB reads the window files and runs the job in-process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tweetsense.batch import job
from tweetsense.batch.base import BatchInputs, BatchOutputs, BatchResult, Engine
from tweetsense.errors import BadInputError
from tweetsense.staging import filesystems
from tweetsense.staging.base import Store

if TYPE_CHECKING:
    import duckdb

    from tweetsense.registry import Context

_USER = "STRUCT(id VARCHAR, username VARCHAR, name VARCHAR, verified BOOLEAN, location VARCHAR)"
_NOTE = "note_tweet STRUCT(text VARCHAR)"
_METRICS = (
    "public_metrics STRUCT(like_count BIGINT, retweet_count BIGINT, reply_count BIGINT, "
    "quote_count BIGINT)"
)
_ENTITIES = (
    "entities STRUCT(annotations STRUCT(normalized_text VARCHAR)[], "
    "hashtags STRUCT(tag VARCHAR)[], "
    "mentions STRUCT(username VARCHAR)[], urls STRUCT(url VARCHAR, expanded_url VARCHAR)[]), "
    "context_annotations STRUCT(entity STRUCT(name VARCHAR))[]"
)
_TWEET = (
    f"STRUCT(id VARCHAR, text VARCHAR, {_NOTE}, created_at VARCHAR, author_id VARCHAR, "
    "lang VARCHAR, conversation_id VARCHAR, referenced_tweets STRUCT(type VARCHAR, id VARCHAR)[], "
    f"edit_history_tweet_ids VARCHAR[], {_METRICS}, {_ENTITIES})"
)
_INCLUDED = f"STRUCT(id VARCHAR, text VARCHAR, {_NOTE})"
_PAGE = f"STRUCT(data {_TWEET}[], includes STRUCT(users {_USER}[], tweets {_INCLUDED}[]))"
_SCORE = (
    "STRUCT(tweet_id VARCHAR, label VARCHAR, positive DOUBLE, negative DOUBLE, "
    "neutral DOUBLE, mixed DOUBLE)"
)
_STAGING_COLUMNS = f"{{window_start: 'VARCHAR', pages: '{_PAGE}[]'}}"
_VOLUME_COLUMNS = "{window_start: 'VARCHAR', volume: 'BIGINT'}"
_SENTIMENT_COLUMNS = f"{{window_start: 'VARCHAR', analyzer: 'VARCHAR', scores: '{_SCORE}[]'}}"
_ANALYZER_COLUMNS = "{analyzer: 'VARCHAR'}"
# ISO 8601 in UTC, as the X API writes times; CSV readers parse it without a zone table.
_CSV_TIME = "%Y-%m-%dT%H:%M:%S.%gZ"


def _read_json(param: str, columns: str) -> str:
    return (
        f"read_json({param}, format='unstructured', columns={columns}, "
        "maximum_object_size=$max_object_size)"
    )


def _scores_sql(table: str, param: str) -> str:
    """The scores of the sentiment files listed in ``param``, one row each."""
    return f"""
CREATE TABLE {table} AS
WITH f AS (
    SELECT epoch(CAST(window_start AS TIMESTAMPTZ))::BIGINT AS file_order, analyzer, scores
    FROM {_read_json(param, _SENTIMENT_COLUMNS)}
), s AS (
    SELECT file_order, analyzer, UNNEST(scores) AS sc, generate_subscripts(scores, 1) AS pos
    FROM f
)
SELECT sc.tweet_id AS tweet_id, sc.label AS label, sc.positive AS positive,
       sc.negative AS negative, sc.neutral AS neutral, sc.mixed AS mixed, analyzer,
       file_order, pos AS position
FROM s
"""


_PAGES = f"""
    SELECT epoch(CAST(window_start AS TIMESTAMPTZ))::BIGINT AS file_order,
           UNNEST(pages) AS page, generate_subscripts(pages, 1) AS page_no
    FROM {_read_json("$staging", _STAGING_COLUMNS)}
"""

# Tweets, users and included posts are read in passes over the files: materialising the nested
# pages once would hold every post as a nested struct in memory, several times the flat size.
_INPUTS_SQL = (
    "CREATE TABLE in_windows AS SELECT UNNEST($windows::BIGINT[]) AS window_epoch",
    f"""
CREATE TABLE in_tweets AS
WITH p AS ({_PAGES}), t AS (
    SELECT file_order, page_no, UNNEST(page.data) AS tw,
           generate_subscripts(page.data, 1) AS pos
    FROM p
)
SELECT tw.id AS tweet_id,
       TRY_CAST(tw.created_at AS TIMESTAMPTZ) AS created_at,
       tw.text AS text,
       tw.note_tweet.text AS note_text,
       list_filter(tw.referenced_tweets, lambda r: r.type = 'retweeted')[1].id AS retweeted_id,
       tw.author_id AS author_id,
       tw.lang AS lang,
       tw.conversation_id AS conversation_id,
       CAST(to_json(tw.referenced_tweets) AS VARCHAR) AS referenced_tweets,
       CASE WHEN len(list_filter(tw.referenced_tweets, lambda r: r.type = 'retweeted')) > 0
                THEN 'repost'
            WHEN len(list_filter(tw.referenced_tweets, lambda r: r.type = 'quoted')) > 0
                THEN 'quote'
            WHEN len(list_filter(tw.referenced_tweets, lambda r: r.type = 'replied_to')) > 0
                THEN 'reply'
            ELSE 'original' END AS post_type,
       tw.public_metrics.like_count AS like_count,
       tw.public_metrics.retweet_count AS repost_count,
       tw.public_metrics.reply_count AS reply_count,
       tw.public_metrics.quote_count AS quote_count,
       tw.edit_history_tweet_ids AS edit_history,
       tw.entities AS entities,
       tw.context_annotations AS context,
       file_order,
       page_no * 1000000 + pos AS position
FROM t
""",
    # The edit histories flattened from the post rows, without another pass over the files.
    """
CREATE TABLE in_versions AS
SELECT tweet_id, UNNEST(edit_history) AS version_id,
       generate_subscripts(edit_history, 1) AS version_no, file_order, position
FROM in_tweets
""",
    # What each post row names, flattened the same way.
    """
CREATE TABLE in_mentioned AS
WITH e AS (
    SELECT tweet_id, file_order, position, 'entity' AS kind,
           UNNEST(entities.annotations).normalized_text AS term
    FROM in_tweets
    UNION ALL
    SELECT tweet_id, file_order, position, 'entity', UNNEST(context).entity.name FROM in_tweets
    UNION ALL
    SELECT tweet_id, file_order, position, 'hashtag', UNNEST(entities.hashtags).tag
    FROM in_tweets
    UNION ALL
    SELECT tweet_id, file_order, position, 'mention', UNNEST(entities.mentions).username
    FROM in_tweets
    UNION ALL
    SELECT tweet_id, file_order, position, 'url',
           coalesce(UNNEST(entities.urls).expanded_url, UNNEST(entities.urls).url)
    FROM in_tweets
)
SELECT tweet_id, kind, term, file_order, position FROM e
""",
    "ALTER TABLE in_tweets DROP COLUMN edit_history",
    "ALTER TABLE in_tweets DROP COLUMN entities",
    "ALTER TABLE in_tweets DROP COLUMN context",
    f"""
CREATE TABLE in_users AS
WITH p AS ({_PAGES}), u AS (
    SELECT file_order, page_no, UNNEST(page.includes.users) AS us,
           generate_subscripts(page.includes.users, 1) AS pos
    FROM p
)
SELECT us.id AS user_id, us.username AS username, us.name AS name, us.verified AS verified,
       us.location AS location, file_order, page_no * 1000000 + pos AS position
FROM u
""",
    f"""
CREATE TABLE in_referenced AS
WITH p AS ({_PAGES}), r AS (
    SELECT file_order, page_no, UNNEST(page.includes.tweets) AS tw,
           generate_subscripts(page.includes.tweets, 1) AS pos
    FROM p
)
SELECT tw.id AS tweet_id, tw.text AS text, tw.note_tweet.text AS note_text, file_order,
       page_no * 1000000 + pos AS position
FROM r
""",
    # Only two fields of each file: the reader skips the pages' values without building them.
    f"""
CREATE TABLE in_volumes AS
SELECT epoch(CAST(window_start AS TIMESTAMPTZ))::BIGINT AS file_order, volume
FROM {_read_json("$staging", _VOLUME_COLUMNS)}
""",
    _scores_sql("in_scores", "$sentiment"),
    "CREATE TABLE in_analyzers AS SELECT DISTINCT analyzer FROM "
    + _read_json("$sentiment", _ANALYZER_COLUMNS),
)
# The other analyzers' files; DuckDB reads no empty list of files, so without any the table
# is made empty.
_ANALYSIS_SQL = (
    _scores_sql("in_analysis_scores", "$analysis"),
    "INSERT INTO in_analyzers SELECT DISTINCT analyzer FROM "
    + _read_json("$analysis", _ANALYZER_COLUMNS),
)
_NO_ANALYSIS_SQL = ("CREATE TABLE in_analysis_scores AS FROM in_scores LIMIT 0",)
# What the inputs say beside the files: the counted volumes of windows without a file, and the
# analyzers that count as having scored them.
_VOLUMES_SQL = (
    "INSERT INTO in_volumes SELECT UNNEST($volume_epochs::BIGINT[]), "
    "UNNEST($volume_counts::BIGINT[])"
)
_ANALYZERS_SQL = "INSERT INTO in_analyzers SELECT UNNEST($analyzers::VARCHAR[])"
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp('UTC')": "TIMESTAMPTZ",
}


def _no_files_sql() -> tuple[str, ...]:
    """The input tables, empty, for a batch of windows without files (DuckDB reads no empty
    list of files)."""
    tables = [
        f"CREATE TABLE in_{name} ("
        + ", ".join(f"{col} {_DUCKDB_TYPES[kind]}" for col, kind in columns.items())
        + ")"
        for name, columns in job.INPUT_SCHEMAS.items()
        if name not in ("windows", "analysis_scores")
    ]
    return (*tables, _INPUTS_SQL[0])


def _statements(inputs: BatchInputs) -> tuple[str, ...]:
    reads = _INPUTS_SQL if inputs.staging_uris else _no_files_sql()
    analysis = _ANALYSIS_SQL if inputs.analysis_uris else _NO_ANALYSIS_SQL
    extra = (_VOLUMES_SQL,) if inputs.volumes else ()
    extra += (_ANALYZERS_SQL,) if inputs.analyzers else ()
    return (*reads, *analysis, *extra)


class DuckDBEngine(Engine):
    name = "duckdb"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        threads: int | None = Field(default=None, ge=1)
        # A fixed cap keeps peak memory flat as inputs grow: DuckDB spills to temp_directory.
        memory_limit: str = "512MB"
        temp_directory: str | None = Field(default=None, description="default <data_dir>/.tmp")
        csv: bool = True

    def __init__(self, settings: DuckDBEngine.Settings, context: Context):
        self.settings = settings
        self.temp_directory = Path(settings.temp_directory or context.data_dir / ".tmp")

    def run(self, inputs: BatchInputs, outputs: BatchOutputs, store: Store) -> BatchResult:
        import duckdb
        import ibis

        self.temp_directory.mkdir(parents=True, exist_ok=True)
        # A file-backed scratch database lets DuckDB spill to disk, so memory stays bounded.
        scratch = self.temp_directory / f"batch-{os.getpid()}.duckdb"
        scratch.unlink(missing_ok=True)
        config: dict[str, str | int] = {"temp_directory": str(self.temp_directory)}
        if self.settings.threads:
            config["threads"] = self.settings.threads
        config["memory_limit"] = self.settings.memory_limit
        config["preserve_insertion_order"] = "false"  # outputs are ordered by ORDER BY anyway
        raw = duckdb.connect(str(scratch), config=config)
        filesystems.register(raw, store)  # s3:// and other remote store URIs
        # TimeZone needs the ICU extension, which loads with the connection, not before it.
        raw.execute("SET TimeZone = 'UTC'")
        try:
            try:
                params = {
                    "staging": inputs.staging_uris,
                    "sentiment": inputs.sentiment_uris,
                    "analysis": inputs.analysis_uris,
                    "max_object_size": _largest_file(inputs, store.filesystem()) + 1024,
                    "windows": inputs.window_starts,
                    "volume_epochs": [start for start, _ in inputs.volumes],
                    "volume_counts": [volume for _, volume in inputs.volumes],
                    "analyzers": inputs.analyzers,
                }
                for statement in _statements(inputs):
                    used = {k: v for k, v in params.items() if f"${k}" in statement}
                    raw.execute(statement, used or None)
            except duckdb.Error as exc:
                first = str(exc).strip().splitlines()[0]
                raise BadInputError(
                    f"batch: cannot read the window files ({first}); rerun ingest/consume "
                    "for the windows it names"
                ) from None
            con = ibis.duckdb.from_connection(raw)

            def keep(name: str, table: ibis.Table) -> ibis.Table:
                raw.execute(f"CREATE TABLE kept_{name} AS {con.compile(table)}")
                return con.table(f"kept_{name}")

            tables = job.build(
                {name: con.table(f"in_{name}") for name in job.INPUT_SCHEMAS},
                query=inputs.query,
                freq_seconds=inputs.freq_seconds,
                driver_min_count=inputs.driver_min_count,
                keep=keep,
            )
            tweets_sql = str(con.compile(tables.tweets))
            windows_sql = str(con.compile(tables.windows))
            labels = self._write(raw, tweets_sql, outputs.tweets_parquet, outputs.tweets_csv, store)
            n_windows = sum(
                self._write(
                    raw, windows_sql, outputs.windows_parquet, outputs.windows_csv, store
                ).values()
            )
            cursor = raw.execute(str(con.compile(tables.ledger)))
            names = [d[0] for d in cursor.description]
            ledger = [dict(zip(names, map(int, row), strict=True)) for row in cursor.fetchall()]
            for table, key in (
                (tables.scores, outputs.scores_parquet),
                (tables.by_analyzer, outputs.by_analyzer_parquet),
                (tables.drivers, outputs.drivers_parquet),
                (tables.agreement, outputs.agreement_parquet),
            ):
                self._write(raw, str(con.compile(table)), key, None, store)
        finally:
            raw.close()
            scratch.unlink(missing_ok=True)
            Path(f"{scratch}.wal").unlink(missing_ok=True)
        return BatchResult(sum(labels.values()), n_windows, labels, ledger)

    def _write(
        self,
        raw: duckdb.DuckDBPyConnection,
        sql: str,
        parquet_key: str,
        csv_key: str | None,
        store: Store,
    ) -> dict[str, int]:
        """Write one output; returns its row count per label (or under '' if it has none)."""
        with store.writing(parquet_key) as parquet:
            raw.execute(f"COPY ({sql}) TO '{_quote(parquet)}' (FORMAT parquet, COMPRESSION zstd)")
            source = f"read_parquet('{_quote(parquet)}')"
            if csv_key and self.settings.csv:
                with store.writing(csv_key) as csv:
                    raw.execute(
                        f"COPY (SELECT * FROM {source}) TO '{_quote(csv)}' "
                        f"(HEADER, DELIMITER ',', TIMESTAMPFORMAT '{_CSV_TIME}')"
                    )
            columns = [r[0] for r in raw.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
            group = "label" if "label" in columns else "''"
            rows = raw.execute(f"SELECT {group}, count(*) FROM {source} GROUP BY ALL").fetchall()
        return {str(k): int(v) for k, v in rows}


def _largest_file(inputs: BatchInputs, fs: Any = None) -> int:
    """DuckDB sizes its JSON read buffers by this, so a tight bound keeps memory small."""
    largest = 16 * 1024 * 1024
    for uri in (*inputs.staging_uris, *inputs.sentiment_uris, *inputs.analysis_uris):
        try:
            size = fs.size(uri) if fs is not None else os.stat(uri).st_size
            largest = max(largest, size)
        except OSError:
            return 512 * 1024 * 1024  # not a local file: assume a generous bound
    return largest


def _quote(path: str) -> str:
    return path.replace("'", "''")
