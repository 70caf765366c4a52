"""A DuckDB file as the warehouse: the embedded default, readable by any DuckDB client."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from tweetsense.errors import BackendUnavailableError
from tweetsense.warehouse.base import LoadResult, Warehouse
from tweetsense.warehouse.schema import SCHEMA_VERSION, TABLES, create_table_sql

if TYPE_CHECKING:
    import duckdb

    from tweetsense.registry import Context

TYPES = {
    "text": "VARCHAR",
    "timestamptz": "TIMESTAMPTZ",
    "double": "DOUBLE",
    "bigint": "BIGINT",
    "boolean": "BOOLEAN",
}


class DuckDBWarehouse(Warehouse):
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        path: str | None = Field(default=None, description="default: <data_dir>/warehouse.duckdb")
        memory_limit: str = "512MB"  # loads spill beyond this instead of growing with the data

    def __init__(self, settings: DuckDBWarehouse.Settings, context: Context):
        self.path = Path(settings.path) if settings.path else context.data_dir / "warehouse.duckdb"
        self.settings = settings

    def _connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        import duckdb

        if read_only and not self.path.exists():
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            self._create(con)
            return con
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise BackendUnavailableError(
                f"warehouse.path: cannot open {self.path} ({first}); is another process using it?"
            ) from None
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET memory_limit = ?", [self.settings.memory_limit])
        if not read_only:
            self._create(con)
        return con

    @staticmethod
    def _create(con: duckdb.DuckDBPyConnection) -> None:
        for table in TABLES:
            con.execute(create_table_sql(table, TYPES))
        con.execute(
            "CREATE TABLE IF NOT EXISTS tweetsense_schema (version INTEGER NOT NULL, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        if not con.execute("SELECT count(*) FROM tweetsense_schema").fetchone()[0]:  # type: ignore[index]
            con.execute("INSERT INTO tweetsense_schema (version) VALUES (?)", [SCHEMA_VERSION])

    def load(self, query: str, tweets_uri: str, windows_uri: str) -> LoadResult:
        con = self._connect()
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                for table, uri in zip(TABLES, (tweets_uri, windows_uri), strict=True):
                    cols = ", ".join(f'"{c}"' for c in table.column_names)
                    match = " AND ".join(f't."{k}" = n."{k}"' for k in table.key)
                    con.execute(
                        f'DELETE FROM "{table.name}" t USING read_parquet(?) n WHERE {match}', [uri]
                    )
                    con.execute(
                        f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM read_parquet(?)',
                        [uri],
                    )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            counts = [
                con.execute(f'SELECT count(*) FROM "{t.name}" WHERE query = ?', [query]).fetchone()
                for t in TABLES
            ]
        finally:
            con.close()
        tweets, windows = (int(c[0]) if c else 0 for c in counts)
        return LoadResult(tweets, windows, str(self.path))

    def loaded_windows(self, query: str) -> set[datetime]:
        con = self._connect(read_only=True)
        try:
            rows = con.execute(
                "SELECT time_window FROM sentiment WHERE query = ?", [query]
            ).fetchall()
        finally:
            con.close()
        return {r[0] for r in rows}
