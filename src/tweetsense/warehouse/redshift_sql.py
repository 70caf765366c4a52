"""The SQL of a Redshift load, generated from ``schema`` so COPY can never drift from the DDL.

Each COPY loads a Parquet file written in its staging table's exact column order (Redshift maps
Parquet columns by position), and the staging table is ``LIKE`` its target, so the three share
one definition. Every statement but COPY is also valid PostgreSQL, which the tests rely on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tweetsense.warehouse.base import BY_WINDOW, LOADED_TABLES, PRUNED, tables_to_load
from tweetsense.warehouse.dialects import (
    REDSHIFT,
    columns_sql,
    prune_sql,
    quote,
    record_version_sql,
)
from tweetsense.warehouse.schema import SCHEMA_VERSION, SENTIMENT, Table

MARK = "%s"  # redshift_connector's default paramstyle (format)


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[Any, ...] = field(default=())
    postgres: bool = True  # PostgreSQL accepts it too
    counts: bool = False  # returns the row count of a table for the load's result


def literal(value: str) -> str:
    # Redshift reads a backslash in a literal as an escape; the settings never allow one.
    if "\\" in value:
        raise ValueError(f"a backslash cannot go into a SQL literal: {value!r}")
    return "'" + value.replace("'", "''") + "'"


def stage_name(table: Table) -> str:
    return f"tweetsense_stage_{table.name}"


def copy_sql(table: Table, s3_uri: str, iam_role: str) -> str:
    # No column list: columnar COPY maps by position, and the file is written in this order.
    return (
        f"COPY {quote(stage_name(table))} FROM {literal(s3_uri)} "
        f"IAM_ROLE {literal(iam_role)} FORMAT AS PARQUET"
    )


def merge_statements(table: Table) -> list[Statement]:
    """Delete the target rows whose key is staged (for ``BY_WINDOW`` tables: whose window is
    in the staged ``sentiment``), then insert the staged rows."""
    t, s = quote(table.name), quote(stage_name(table))
    by_window = table.name in BY_WINDOW
    key = ("query", "time_window") if by_window else table.key
    source = quote(stage_name(SENTIMENT)) if by_window else s
    match = " AND ".join(f"{t}.{quote(k)} = {source}.{quote(k)}" for k in key)
    cols = columns_sql(table)
    return [
        Statement(f"DELETE FROM {t} USING {source} WHERE {match}"),
        Statement(f"INSERT INTO {t} ({cols}) SELECT {cols} FROM {s}"),
    ]


def load_script(
    query: str,
    uris: dict[str, str],
    iam_role: str,
    applied_at: datetime,
    catalog: Iterable[tuple[str, str]] = (),
) -> list[Statement]:
    """Every statement of one load, in order, to run in one transaction.

    ``uris`` maps a table name to the s3:// URI of its Parquet file (``tables_to_load``);
    ``catalog`` is what ``catalog_sql`` found: the columns a table of an earlier schema version
    lacks are added first (Redshift has no ADD COLUMN IF NOT EXISTS).
    """
    statements = [Statement(sql) for sql in (*REDSHIFT.migration(catalog), *REDSHIFT.ddl())]
    statements.append(Statement(record_version_sql(MARK), (SCHEMA_VERSION, applied_at)))
    tables = tables_to_load(uris)
    for table in tables:
        stage = quote(stage_name(table))
        statements += [
            Statement(f"DROP TABLE IF EXISTS {stage}"),
            Statement(f"CREATE TEMP TABLE {stage} (LIKE {quote(table.name)})"),
            Statement(copy_sql(table, uris[table.name], iam_role), postgres=False),
            *merge_statements(table),
        ]
    windows = quote(stage_name(SENTIMENT))
    statements += [
        Statement(prune_sql(t, quote(stage_name(t)), windows)) for t in tables if t.name in PRUNED
    ]
    # The staged windows serve the BY_WINDOW tables' deletes until the last table is in.
    statements += [Statement(f"DROP TABLE {quote(stage_name(t))}") for t in tables]
    for table in LOADED_TABLES:
        statements.append(
            Statement(
                f"SELECT count(*) FROM {quote(table.name)} WHERE {quote('query')} = {MARK}",
                (query,),
                counts=True,
            )
        )
    return statements


def render(statements: list[Statement]) -> str:
    """The script as text, parameters shown after each statement, for review and golden files."""
    out = []
    for st in statements:
        line = st.sql + ";"
        if st.params:
            line += "  -- params: " + ", ".join(repr(p) for p in st.params)
        if not st.postgres:
            line += "  -- Redshift only"
        out.append(line)
    return "\n".join(out) + "\n"
