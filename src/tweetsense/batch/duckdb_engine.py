"""The embedded batch engine: DuckDB reads the window files and runs the job in-process."""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
from pydantic import BaseModel, ConfigDict, Field

from tweetsense.batch import job
from tweetsense.batch.base import BatchInputs, BatchOutputs, BatchResult, Engine, Scratch
from tweetsense.columnar.derive import unreadable
from tweetsense.columnar.schema import SENTIMENT, STAGING
from tweetsense.staging import filesystems
from tweetsense.staging.base import Store

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from tweetsense.registry import Context

# ISO 8601 in UTC, as the X API writes times; CSV readers parse it without a zone table.
_CSV_TIME = "%Y-%m-%dT%H:%M:%S.%gZ"


def _rows(param: str, kind: str) -> str:
    """The rows of one kind of the staging copies (``columnar.schema``)."""
    return f"{param} WHERE kind = '{kind}'"


def _scores_sql(table: str, param: str) -> str:
    """The scores of the sentiment copies listed in ``param``, one row each."""
    return f"""
CREATE VIEW {table} AS
SELECT tweet_id, label, positive, negative, neutral, mixed, analyzer, file_order, position
FROM {param} WHERE position > 0
"""


_INPUTS_SQL = (
    "CREATE TABLE in_windows AS SELECT UNNEST($windows::BIGINT[]) AS window_epoch",
    "CREATE TABLE in_affected AS SELECT UNNEST($affected::BIGINT[]) AS window_epoch",
    f"""
CREATE VIEW in_keys AS
SELECT id AS tweet_id, TRY_CAST(created_at AS TIMESTAMPTZ) AS created_at, author_id,
       retweeted_id, post_type, like_count, retweet_count AS repost_count, reply_count,
       quote_count, file_order, position
FROM {_rows("$keys", "post")}
""",
    f"""
CREATE VIEW in_tweets AS
SELECT id AS tweet_id,
       TRY_CAST(created_at AS TIMESTAMPTZ) AS created_at,
       text, note_text, retweeted_id, lang, conversation_id,
       referenced_json AS referenced_tweets, drivers, terms, file_order, position
FROM {_rows("$staging", "post")}
""",
    f"""
CREATE VIEW in_versions AS
-- A post's only version supersedes nothing (``job.superseded``): most posts are read no further.
SELECT id AS tweet_id, UNNEST(edit_history_tweet_ids) AS version_id,
       generate_subscripts(edit_history_tweet_ids, 1) AS version_no, file_order, position
FROM {_rows("$keys", "post")} AND len(edit_history_tweet_ids) > 1
""",
    f"""
CREATE VIEW in_users AS
SELECT id AS user_id, username, name, verified, location, file_order, position
FROM {_rows("$keys", "user")}
""",
    f"""
CREATE VIEW in_referenced AS
SELECT id AS tweet_id, text, note_text, file_order, position
FROM {_rows("$staging", "included")}
""",
    f"CREATE TABLE in_volumes AS SELECT file_order, volume FROM {_rows('$keys', 'window')}",
    _scores_sql("in_scores", "$sentiment"),
    "CREATE TABLE in_analyzers AS SELECT DISTINCT analyzer FROM $sentiment",
    # The other analyzers' files.
    _scores_sql("in_analysis_scores", "$analysis"),
    "INSERT INTO in_analyzers SELECT DISTINCT analyzer FROM $analysis",
)
# What the inputs say beside the files: the counted volumes of windows without a file, and the
# analyzers that count as having scored them.
_VOLUMES_SQL = (
    "INSERT INTO in_volumes SELECT UNNEST($volume_epochs::BIGINT[]), "
    "UNNEST($volume_counts::BIGINT[])"
)
_ANALYZERS_SQL = "INSERT INTO in_analyzers SELECT UNNEST($analyzers::VARCHAR[])"


def read_inputs(raw: duckdb.DuckDBPyConnection, inputs: BatchInputs) -> None:
    """Define the tables of ``job.INPUT_SCHEMAS`` on ``raw``, as ``in_<name>``."""
    import duckdb

    params = {
        "windows": inputs.window_starts,
        "affected": inputs.window_starts if inputs.affected is None else inputs.affected,
        "volume_epochs": [start for start, _ in inputs.volumes],
        "volume_counts": [volume for _, volume in inputs.volumes],
        "analyzers": inputs.analyzers,
    }
    try:
        staging = _relation(raw, "staging", inputs.staging_uris, STAGING)
        keys = (
            staging if inputs.key_uris is None else _relation(raw, "keys", inputs.key_uris, STAGING)
        )
        files = {
            "$staging": staging,
            "$keys": keys,
            "$sentiment": _relation(raw, "sentiment", inputs.sentiment_uris, SENTIMENT),
            "$analysis": _relation(raw, "analysis", inputs.analysis_uris, SENTIMENT),
        }
        for statement in _statements(inputs):
            # Views take no parameters: the lists of files are written into the SQL.
            for name, listed in files.items():
                statement = statement.replace(name, listed)
            used = {k: v for k, v in params.items() if f"${k}" in statement}
            raw.execute(statement, used or None)
    except duckdb.Error as exc:
        raise unreadable(exc) from None


def _statements(inputs: BatchInputs) -> tuple[str, ...]:
    extra = (_VOLUMES_SQL,) if inputs.volumes else ()
    extra += (_ANALYZERS_SQL,) if inputs.analyzers else ()
    if inputs.rows_uri:
        extra += (f"CREATE VIEW in_rows AS FROM read_parquet('{_quote(inputs.rows_uri)}')",)
    return (*_INPUTS_SQL, *extra)


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

    def scratch(self, data_dir: Path) -> Scratch:
        # One cap for the whole batch: the state and merge work under the engine's settings.
        s = self.settings
        return Scratch(self.temp_directory, s.memory_limit, s.threads)

    def run(self, inputs: BatchInputs, outputs: BatchOutputs, store: Store) -> BatchResult:
        import duckdb

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
        # The posts output reads the staging copies once per run of windows; they never change.
        raw.execute("SET parquet_metadata_cache = true")
        try:
            read_inputs(raw, inputs)
            con = ibis.duckdb.from_connection(raw)

            def keep(name: str, table: ibis.Table) -> ibis.Table:
                raw.execute(f"CREATE TABLE kept_{name} AS {con.compile(table)}")
                return con.table(f"kept_{name}")

            names = [*job.INPUT_SCHEMAS, *(["rows"] if inputs.rows_uri else [])]
            tables = job.build(
                {name: con.table(f"in_{name}") for name in names},
                query=inputs.query,
                freq_seconds=inputs.freq_seconds,
                driver_min_count=inputs.driver_min_count,
                keep=keep,
            )
            n_windows = sum(
                self._write(
                    raw,
                    outputs.windows_parquet,
                    outputs.windows_csv,
                    store,
                    _copy(raw, con, tables.windows),
                ).values()
            )
            runs = _runs(raw, store.uri(outputs.windows_parquet), _memory_limit(raw))
            labels = self._write(
                raw,
                outputs.tweets_parquet,
                outputs.tweets_csv,
                store,
                functools.partial(_write_in_runs, raw, con, tables.placed, tables.posts_of, runs),
            )
            self._write(
                raw,
                outputs.drivers_parquet,
                None,
                store,
                functools.partial(_write_in_runs, raw, con, tables.placed, tables.drivers_of, runs),
            )
            cursor = raw.execute(str(con.compile(tables.ledger)))
            names = [d[0] for d in cursor.description]
            ledger = [dict(zip(names, map(int, row), strict=True)) for row in cursor.fetchall()]
            for table, key in (
                (tables.scores, outputs.scores_parquet),
                (tables.by_analyzer, outputs.by_analyzer_parquet),
                (tables.agreement, outputs.agreement_parquet),
            ):
                self._write(raw, key, None, store, _copy(raw, con, table))
        finally:
            raw.close()
            scratch.unlink(missing_ok=True)
            Path(f"{scratch}.wal").unlink(missing_ok=True)
        return BatchResult(sum(labels.values()), n_windows, labels, ledger)

    def _write(
        self,
        raw: duckdb.DuckDBPyConnection,
        parquet_key: str,
        csv_key: str | None,
        store: Store,
        fill: Callable[[str], None],
    ) -> dict[str, int]:
        """Write one output, its Parquet file by ``fill(path)``; returns its row count per
        label (or under '' if it has none)."""
        with store.writing(parquet_key) as parquet:
            fill(parquet)
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


def _copy(
    raw: duckdb.DuckDBPyConnection, con: ibis.BaseBackend, table: ibis.Table
) -> Callable[[str], None]:
    """How an output is written: DuckDB copies ``table`` to the path."""
    sql = str(con.compile(table))

    def fill(path: str) -> None:
        raw.execute(f"COPY ({sql}) TO '{_quote(path)}' (FORMAT parquet, COMPRESSION zstd)")

    return fill


# A run of windows holds about one post per this many bytes of DuckDB's memory limit: enough
# for its rows, texts included, to be joined and sorted without spilling to disk.
RUN_BYTES_PER_POST = 1000
# Rows per Parquet row group of the outputs written in runs, as DuckDB writes its own.
ROW_GROUP = 122_880
_UNITS = {
    "bytes": 1,
    **{f"{p}iB": 2 ** (10 * i) for i, p in enumerate("KMGTPE", 1)},
    **{f"{p}B": 10 ** (3 * i) for i, p in enumerate("KMGTPE", 1)},
}


def _memory_limit(raw: duckdb.DuckDBPyConnection) -> int:
    """DuckDB's memory limit in bytes (it reports e.g. '488.2 MiB')."""
    [(text,)] = raw.execute("SELECT current_setting('memory_limit')").fetchall()
    number, unit = str(text).split()
    return int(float(number) * _UNITS[unit])


def _runs(
    raw: duckdb.DuckDBPyConnection, windows_uri: str, memory_limit: int
) -> list[tuple[datetime | None, datetime | None]]:
    """Consecutive ranges of windows (``time_window`` from, to), each holding at most a run's
    posts but for a window larger than a run alone; the first and last are open-ended, so that
    together they hold every post whatever its window."""
    per_run = max(1, memory_limit // RUN_BYTES_PER_POST)
    counts = raw.execute(
        f"SELECT time_window, count_tweets FROM read_parquet('{_quote(windows_uri)}') "
        "WHERE count_tweets > 0 ORDER BY time_window"
    ).fetchall()
    starts: list[datetime] = []
    held = 0
    for start, count in counts:
        if held and held + count > per_run:
            starts.append(start)
            held = 0
        held += count
    bounds: list[datetime | None] = [None, *starts, None]
    return list(itertools.pairwise(bounds))


def _write_in_runs(
    raw: duckdb.DuckDBPyConnection,
    con: ibis.BaseBackend,
    placed: ibis.Table,
    output_of: Callable[[ibis.Table], ibis.Table],
    runs: list[tuple[datetime | None, datetime | None]],
    path: str,
) -> None:
    """Write an output sorted by time (``output_of`` some placed rows: posts, drivers) to one
    Parquet file a run of windows at a time. One sort of every post's texts spills to disk
    beyond a few hundred thousand posts, and the drivers of 10M posts, some 80M rows grouped
    by window and term, ran out of memory; a run's rows are joined, grouped and sorted in
    memory, and runs of windows in time order are the whole output in time order. A run's
    placed rows are a table of their own, so that DuckDB knows them for the small side of the
    join with the posts' files, and reads only the files they come from."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for low, high in runs:
            run = placed
            if low is not None:
                run = run.filter(run.time_window >= low)
            if high is not None:
                run = run.filter(run.time_window < high)
            raw.execute(f"CREATE OR REPLACE TEMP TABLE run_rows AS {con.compile(run)}")
            output = output_of(con.table("run_rows"))
            reader = raw.sql(str(con.compile(output))).to_arrow_reader(ROW_GROUP)
            if writer is None:
                schema = reader.schema
                # Dictionaries pay off for texts; numbers and times are smaller without.
                texts = [f.name for f in schema if pa.types.is_string(f.type)]
                writer = pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=texts)
            for batch in reader:
                writer.write_batch(batch, row_group_size=ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()
        raw.execute("DROP TABLE IF EXISTS run_rows")


# Opening a file costs about as much as reading a small window's rows, and the views read the
# staging copies several times: many small files are read once, into a table. Many files are
# more than MANY_FILES; small ones have fewer than SMALL_FILE rows, on average over the first
# SAMPLE. Large files are read where they are, each view reading only its columns.
MANY_FILES = 1000
SMALL_FILE = 1000
SAMPLE = 20


def _relation(raw: duckdb.DuckDBPyConnection, name: str, uris: list[str], schema: pa.Schema) -> str:
    """What the statements read the copies of ``uris`` from: the files themselves, a table of
    their rows when they are many small files, or an empty table when there are none (DuckDB
    reads no empty list of files)."""
    if not uris:
        raw.register(f"none_{name}", schema.empty_table())
        return f"none_{name}"
    files = "read_parquet([" + ", ".join(f"'{_quote(u)}'" for u in uris) + "])"
    if len(uris) <= MANY_FILES:
        return files
    [(rows,)] = raw.execute(
        "SELECT sum(num_rows) FROM parquet_file_metadata($uris)", {"uris": uris[:SAMPLE]}
    ).fetchall()
    if int(rows or 0) >= SMALL_FILE * min(SAMPLE, len(uris)):
        return files
    raw.execute(f"CREATE TABLE copies_{name} AS SELECT * FROM {files}")
    return f"copies_{name}"


def _quote(path: str) -> str:
    return path.replace("'", "''")
