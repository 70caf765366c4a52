"""The tables of ``schema`` rendered per SQL dialect, and their Arrow schema for file loads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tweetsense.errors import TerminalError
from tweetsense.warehouse.schema import (
    ANALYSIS_TABLES,
    INDEXES,
    SCHEMA_TABLE,
    SCHEMA_VERSION,
    TABLES,
    Index,
    Table,
    create_table_sql,
)

if TYPE_CHECKING:
    import pyarrow as pa


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def columns_sql(table: Table) -> str:
    return ", ".join(quote(c) for c in table.column_names)


@dataclass(frozen=True)
class Dialect:
    name: str
    types: Mapping[str, str]
    indexes: bool  # whether the engine has secondary indexes

    def create_table(self, table: Table) -> str:
        return create_table_sql(table, dict(self.types))

    def create_index(self, index: Index) -> str:
        cols = ", ".join(quote(c) for c in index.columns)
        return f"CREATE INDEX IF NOT EXISTS {quote(index.name)} ON {quote(index.table)} ({cols})"

    def ddl(self) -> list[str]:
        """Every statement that creates what is missing, in order; safe to run again."""
        statements = [self.create_table(t) for t in (*TABLES, *ANALYSIS_TABLES, SCHEMA_TABLE)]
        if self.indexes:
            statements += [self.create_index(i) for i in INDEXES]
        return statements


DUCKDB = Dialect(
    "duckdb",
    {
        "text": "VARCHAR",
        "timestamptz": "TIMESTAMPTZ",
        "double": "DOUBLE",
        "bigint": "BIGINT",
        "boolean": "BOOLEAN",
    },
    # Zone maps serve DuckDB's range scans; ART indexes would only slow the loads.
    indexes=False,
)

POSTGRES = Dialect(
    "postgres",
    {
        "text": "TEXT",
        "timestamptz": "TIMESTAMPTZ",
        "double": "DOUBLE PRECISION",
        "bigint": "BIGINT",
        "boolean": "BOOLEAN",
    },
    indexes=True,
)

# Redshift's TEXT is VARCHAR(256) bytes, too short for a post in a multi-byte script.
REDSHIFT = Dialect(
    "redshift",
    {
        "text": "VARCHAR(65535)",
        "timestamptz": "TIMESTAMPTZ",
        "double": "DOUBLE PRECISION",
        "bigint": "BIGINT",
        "boolean": "BOOLEAN",
    },
    indexes=False,
)


def arrow_schema(table: Table) -> pa.Schema:
    """The exact Arrow types a file must have to load into ``table``, in the table's order."""
    import pyarrow as pa

    types = {
        "text": pa.string(),
        "timestamptz": pa.timestamp("us", tz="UTC"),
        "double": pa.float64(),
        "bigint": pa.int64(),
        "boolean": pa.bool_(),
    }
    # Every field nullable: NOT NULL is the database's to enforce, with its own message.
    return pa.schema([pa.field(c.name, types[c.type]) for c in table.columns])


def record_version_sql(mark: str) -> str:
    """Records the schema version once; ``mark`` is the driver's placeholder (version, time).

    The SELECT reads a table so that Redshift runs it on the compute nodes it inserts into."""
    t = quote(SCHEMA_TABLE.name)
    return (
        f"INSERT INTO {t} ({quote('version')}, {quote('applied_at')}) "
        f"SELECT {mark}, {mark} FROM (SELECT COUNT(*) AS n FROM {t}) AS c WHERE c.n = 0"
    )


def check_version(found: int | None, location: str) -> None:
    if found is not None and found > SCHEMA_VERSION:
        raise TerminalError(
            f"warehouse {location} has schema version {found}, newer than this tweetsense "
            f"({SCHEMA_VERSION}); upgrade tweetsense"
        )
