"""The tables of ``schema`` rendered per SQL dialect, and their Arrow schema for file loads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tweetsense.errors import TerminalError
from tweetsense.warehouse.schema import (
    AGREEMENT,
    ANALYSIS_TABLES,
    INDEXES,
    INSIGHT_TABLES,
    SCHEMA_TABLE,
    SCHEMA_VERSION,
    SENTIMENT,
    TABLES,
    TWEET_SCORE,
    Index,
    Table,
    create_table_sql,
)

if TYPE_CHECKING:
    import pyarrow as pa


# Every table of the warehouse but the version table, in creation order.
DATA_TABLES = (*TABLES, *ANALYSIS_TABLES, *INSIGHT_TABLES)
_LABEL_COLUMNS = ("positive", "negative", "neutral", "mixed")
# What a NOT NULL column added to a table with rows starts as.
_DEFAULTS = {"bigint": "0", "double": "0", "text": "''", "boolean": "FALSE"}
# Added columns that start as another column of the same row instead: a window loaded before
# reposts were told apart counts each post as an opinion.
_BACKFILL = {
    SENTIMENT.name: {
        "count_opinions": "count_tweets",
        **{f"perc_opinion_{k}": f"perc_tweet_{k}" for k in _LABEL_COLUMNS},
    }
}


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def columns_sql(table: Table) -> str:
    return ", ".join(quote(c) for c in table.column_names)


def prune_sql(table: Table, stage: str, windows: str) -> str:
    """Deletes the rows of ``table`` in the windows of the staged ``windows`` rows that the
    staged rows of ``table`` (``stage``) do not hold (``base.PRUNED``)."""
    t = quote(table.name)
    match = " AND ".join(f"{t}.{quote(k)} = w.{quote(k)}" for k in ("query", "time_window"))
    same = " AND ".join(f"n.{quote(k)} = {t}.{quote(k)}" for k in table.key)
    return (
        f"DELETE FROM {t} USING {windows} w WHERE {match} "
        f"AND NOT EXISTS (SELECT 1 FROM {stage} n WHERE {same})"
    )


def agreement_from_scores_sql() -> str:
    """Fills ``analyzer_agreement`` from ``tweet_score`` (as the batch job computes it), for a
    warehouse whose scores were loaded before the roll-up existed."""
    q, w, an, label = (quote(c) for c in ("query", "time_window", "analyzer", "label"))
    keys = f"a.{q}, a.{w}, a.{an}, b.{an}, a.{label}, b.{label}"
    return (
        f"INSERT INTO {quote(AGREEMENT.name)} ({columns_sql(AGREEMENT)}) "
        f"SELECT {keys}, COUNT(*) FROM {quote(TWEET_SCORE.name)} a "
        f"JOIN {quote(TWEET_SCORE.name)} b ON b.{q} = a.{q} "
        f"AND b.{quote('tweet_id')} = a.{quote('tweet_id')} AND b.{w} = a.{w} "
        f"WHERE a.{an} <= b.{an} GROUP BY {keys}"
    )


@dataclass(frozen=True)
class Dialect:
    name: str
    types: Mapping[str, str]
    indexes: bool  # whether the engine has secondary indexes
    primary_keys: bool = True

    def create_table(self, table: Table) -> str:
        return create_table_sql(table, dict(self.types), primary_key=self.primary_keys)

    def create_index(self, index: Index) -> str:
        cols = ", ".join(quote(c) for c in index.columns)
        return f"CREATE INDEX IF NOT EXISTS {quote(index.name)} ON {quote(index.table)} ({cols})"

    def ddl(self) -> list[str]:
        """Every statement that creates what is missing, in order; safe to run again. Run
        ``migration`` first: an index may be on a column it adds."""
        statements = [self.create_table(t) for t in (*DATA_TABLES, SCHEMA_TABLE)]
        if self.indexes:
            statements += [self.create_index(i) for i in INDEXES]
        return statements

    def migration(self, catalog: Iterable[tuple[str, str]]) -> list[str]:
        """The statements that add the columns an existing table lacks (a warehouse of an
        earlier schema version), from ``catalog_sql``'s rows (table, column). A NOT NULL column
        gets a default, so the rows already there get a value."""
        existing: dict[str, set[str]] = {}
        for table_name, column in catalog:
            existing.setdefault(table_name, set()).add(column)
        statements = []
        if TWEET_SCORE.name in existing and AGREEMENT.name not in existing:
            # The roll-up of the scores already there: agreement reads only the roll-up.
            statements += [self.create_table(AGREEMENT), agreement_from_scores_sql()]
        for table in DATA_TABLES:
            if table.name not in existing:
                continue  # created whole by ddl()
            added = [c for c in table.columns if c.name not in existing[table.name]]
            for c in added:
                default = "" if c.nullable else f" DEFAULT {_DEFAULTS[c.type]} NOT NULL"
                statements.append(
                    f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(c.name)} "
                    f"{self.types[c.type]}{default}"
                )
            copies = {
                name: source
                for name, source in _BACKFILL.get(table.name, {}).items()
                if name in {c.name for c in added}
            }
            if copies:
                sets = ", ".join(f"{quote(k)} = {quote(v)}" for k, v in copies.items())
                statements.append(f"UPDATE {quote(table.name)} SET {sets}")
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
    primary_keys=False,
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


def catalog_sql() -> str:
    """(table, column) of every column the warehouse's tables have now, for ``migration``."""
    names = ", ".join(f"'{t.name}'" for t in DATA_TABLES)
    return (
        "SELECT table_name, column_name FROM information_schema.columns "
        f"WHERE table_schema = current_schema() AND table_name IN ({names})"
    )


def record_version_sql(mark: str) -> str:
    """Records the schema version unless it is recorded already; ``mark`` is the driver's
    placeholder (version, time). A migrated warehouse keeps the row of each earlier version.

    The SELECT reads a table so that Redshift runs it on the compute nodes it inserts into."""
    t = quote(SCHEMA_TABLE.name)
    v = quote("version")
    return (
        f"INSERT INTO {t} ({v}, {quote('applied_at')}) "
        f"SELECT {mark}, {mark} FROM (SELECT COALESCE(MAX({v}), 0) AS v FROM {t}) AS c "
        f"WHERE c.v < {SCHEMA_VERSION}"
    )


def check_version(found: int | None, location: str) -> None:
    if found is not None and found > SCHEMA_VERSION:
        raise TerminalError(
            f"warehouse {location} has schema version {found}, newer than this tweetsense "
            f"({SCHEMA_VERSION}); upgrade tweetsense"
        )
