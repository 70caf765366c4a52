"""A DuckDB file as the warehouse: the embedded default, readable by any DuckDB client."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tweetsense import faults
from tweetsense.errors import BackendUnavailableError, TerminalError
from tweetsense.staging import filesystems
from tweetsense.warehouse.base import (
    BY_WINDOW,
    LOADED_TABLES,
    PRUNED,
    LoadResult,
    tables_to_load,
)
from tweetsense.warehouse.dialects import (
    DATA_TABLES,
    DUCKDB,
    catalog_sql,
    check_version,
    columns_sql,
    prune_sql,
    quote,
    record_version_sql,
)
from tweetsense.warehouse.reads import SqlReads
from tweetsense.warehouse.schema import SCHEMA_TABLE, SCHEMA_VERSION, SENTIMENT

# Seconds a load waits for readers (a dashboard's request) to let go of the file.
LOCK_WAIT = 10.0

if TYPE_CHECKING:
    import duckdb

    from tweetsense.registry import Context


class DuckDBWarehouse(SqlReads):
    mark = "?"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        path: str | None = Field(default=None, description="default: <data_dir>/warehouse.duckdb")
        # Loads spill beyond this; what a load holds until it commits grows with the posts it
        # replaces (a reload of 10M posts needs more than 512MB).
        memory_limit: str = "2GB"

    def __init__(self, settings: DuckDBWarehouse.Settings, context: Context):
        self.path = Path(settings.path) if settings.path else context.data_dir / "warehouse.duckdb"
        self.settings = settings
        self.context = context
        self._local = threading.local()  # the connection ``reading`` holds in this thread

    def _connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        import duckdb

        if read_only and not self.path.exists():
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            self._create(con)
            return con
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A dashboard's read holds a shared lock on the file for the moment of its request: a
        # load waits that out rather than failing a live run's step.
        waited_until = time.monotonic() + (0.0 if read_only else LOCK_WAIT)
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc) or time.monotonic() >= waited_until:
                    raise self._unavailable(exc) from None
                time.sleep(0.1)
            except duckdb.Error as exc:
                raise self._unavailable(exc) from None
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET memory_limit = ?", [self.settings.memory_limit])
        if not read_only:
            self._create(con)
        return con

    def _unavailable(self, exc: Exception) -> BackendUnavailableError:
        first = str(exc).strip().splitlines()[0]
        return BackendUnavailableError(
            f"warehouse.path: cannot open {self.path} ({first}); is another process using it?"
        )

    def _create(self, con: duckdb.DuckDBPyConnection) -> None:
        catalog = con.execute(catalog_sql()).fetchall()
        for statement in (*DUCKDB.migration(catalog), *DUCKDB.ddl()):
            con.execute(statement)
        _drop_primary_keys(con)
        con.execute(record_version_sql(self.mark), [SCHEMA_VERSION, datetime.now(UTC)])
        found = con.execute(f'SELECT max("version") FROM "{SCHEMA_TABLE.name}"').fetchone()
        check_version(found[0] if found else None, str(self.path))

    def load(self, query: str, files: Mapping[str, str]) -> LoadResult:
        import duckdb

        tables = tables_to_load(files)
        con = self._connect()
        filesystems.register_for_uris(con, tuple(files.values()), self.context)
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                for table in tables:
                    uri = files[table.name]
                    cols = ", ".join(f'"{c}"' for c in table.column_names)
                    key = ("query", "time_window") if table.name in BY_WINDOW else table.key
                    if table.name in BY_WINDOW:
                        uri = files[SENTIMENT.name]
                    match = " AND ".join(f't."{k}" = n."{k}"' for k in key)
                    con.execute(
                        f'DELETE FROM "{table.name}" t USING read_parquet(?) n WHERE {match}', [uri]
                    )
                    uri = files[table.name]
                    faults.point("load.deleted")
                    con.execute(
                        f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM read_parquet(?)',
                        [uri],
                    )
                for table in tables:
                    if table.name in PRUNED:
                        windows = f"read_parquet('{_quote(files[SENTIMENT.name])}')"
                        stage = f"read_parquet('{_quote(files[table.name])}')"
                        con.execute(prune_sql(table, stage, windows))
                faults.point("load.uncommitted")
                con.execute("COMMIT")
                faults.point("load.committed")
            except BaseException as exc:
                con.execute("ROLLBACK")
                if isinstance(exc, duckdb.OutOfMemoryException):
                    raise TerminalError(
                        f"warehouse.memory_limit: loading {query!r} into {self.path} needs more "
                        f"than {self.settings.memory_limit}; raise it (nothing was loaded)"
                    ) from None
                raise
            counts = {
                t.name: con.execute(
                    f'SELECT count(*) FROM "{t.name}" WHERE query = ?', [query]
                ).fetchone()
                for t in LOADED_TABLES
            }
        finally:
            con.close()
        return LoadResult.of({k: int(c[0]) if c else 0 for k, c in counts.items()}, str(self.path))

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One read-only connection for the reads inside, closed after them: opening the file
        costs more than most dashboard queries, yet no lock is held between answers, so a load
        can open the file, and the next answer sees what it wrote."""
        if getattr(self._local, "con", None) is not None:
            yield
            return
        self._local.con = self._connect(read_only=True)
        try:
            yield
        finally:
            con, self._local.con = self._local.con, None
            con.close()

    @contextmanager
    def _reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        held = getattr(self._local, "con", None)
        if held is not None:
            yield held
            return
        con = self._connect(read_only=True)
        try:
            yield con
        finally:
            con.close()

    def _columns(self, sql: str, params: list[Any], names: list[str]) -> dict[str, list[Any]]:
        with self._reader() as con:
            # Arrow's columns skip a Python tuple per row. DuckDB 1.4 renamed arrow() to
            # to_arrow_table().
            rel = con.sql(sql, params=params)
            table = (getattr(rel, "to_arrow_table", None) or rel.arrow)()
        return {n: table.column(i).to_pylist() for i, n in enumerate(names)}

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        with self._reader() as con:
            cur = con.execute(sql, params)
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _drop_primary_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild without its primary key each table an earlier version created with one. DuckDB
    holds the key index of every row a load inserts in memory until it commits, so such a
    warehouse failed to load 10M posts under 2GB; a load deletes by key before it inserts,
    which keeps the rows unique without it. DuckDB cannot drop a constraint in place."""
    found = con.execute(
        "SELECT DISTINCT table_name FROM duckdb_constraints() "
        "WHERE constraint_type = 'PRIMARY KEY' AND schema_name = current_schema()"
    ).fetchall()
    keyed = {name for (name,) in found}
    tables = [t for t in DATA_TABLES if t.name in keyed]
    if not tables:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        for table in tables:
            rebuilt = dataclasses.replace(table, name=f"{table.name}__rebuilt")
            cols = columns_sql(table)
            con.execute(DUCKDB.create_table(rebuilt))
            con.execute(
                f"INSERT INTO {quote(rebuilt.name)} ({cols}) SELECT {cols} FROM {quote(table.name)}"
            )
            con.execute(f"DROP TABLE {quote(table.name)}")
            con.execute(f"ALTER TABLE {quote(rebuilt.name)} RENAME TO {quote(table.name)}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _quote(path: str) -> str:
    return path.replace("'", "''")
