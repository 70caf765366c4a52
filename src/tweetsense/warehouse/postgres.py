"""PostgreSQL as the warehouse (psycopg 3): outputs streamed with COPY into temporary tables,
then merged into ``tweet``, ``sentiment`` and the analysis tables in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tweetsense.errors import (
    BackendUnavailableError,
    BadInputError,
    ConfigError,
    MissingCredentialError,
)
from tweetsense.warehouse.base import (
    BY_WINDOW,
    LOADED_TABLES,
    PRUNED,
    LoadResult,
    tables_to_load,
)
from tweetsense.warehouse.dialects import (
    POSTGRES,
    catalog_sql,
    check_version,
    columns_sql,
    prune_sql,
    quote,
    record_version_sql,
)
from tweetsense.warehouse.files import record_batches
from tweetsense.warehouse.reads import SqlReads
from tweetsense.warehouse.schema import INDEXES, SCHEMA_TABLE, SCHEMA_VERSION, SENTIMENT, Table

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

    from tweetsense.registry import Context


LOAD_LOCK = 0x7477_6565_7473  # advisory lock key held by a load's transaction


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def stage_name(table: Table) -> str:
    return f"tweetsense_stage_{table.name}"


def copy_parquet(cur: psycopg.Cursor, target: str, table: Table, uri: str, rows: int) -> None:
    """Stream ``uri`` into ``target`` (with ``table``'s columns) through COPY ... FROM STDIN.

    Arrow renders each record batch as CSV in C: strings always quoted and nulls as empty
    unquoted fields, which is exactly how PostgreSQL's CSV format tells '' from NULL.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, batch_size=rows)
    sql = f"COPY {quote(target)} ({columns_sql(table)}) FROM STDIN (FORMAT csv)"
    with cur.copy(sql) as copy:
        for batch in record_batches(uri, table, rows):
            sink = pa.BufferOutputStream()
            pacsv.write_csv(_utc_text(batch), sink, options)
            copy.write(memoryview(sink.getvalue()))


def _utc_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Timestamps as 'YYYY-MM-DD HH:MM:SS.ffffffZ' text: Arrow formats zoned timestamps some
    25 times slower than naive ones, and the explicit Z keeps the session time zone out of it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays, fields = [], []
    for field, array in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            wall = array.cast(pa.timestamp("us")).cast(pa.string())
            array = pc.binary_join_element_wise(wall, "Z", "")
            field = pa.field(field.name, pa.string())
        arrays.append(array)
        fields.append(field)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def merge_sql(table: Table) -> str:
    """Moves the staged rows of ``table`` into it, replacing rows by key.

    An upsert rather than delete-then-insert: two loads of the same window at once then wait
    for each other on the key instead of one failing on the primary key. A row whose values
    are unchanged is left alone: every load carries the query's whole history, and rewriting
    identical rows would cost a new row version and an entry in every index each.
    """
    cols = columns_sql(table)
    key = ", ".join(quote(k) for k in table.key)
    values = [quote(c) for c in table.column_names if c not in table.key]
    update = ", ".join(f"{c} = EXCLUDED.{c}" for c in values)
    target = quote(table.name)
    current = ", ".join(f"{target}.{c}" for c in values)
    incoming = ", ".join(f"EXCLUDED.{c}" for c in values)
    return (
        f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {quote(stage_name(table))} "
        f"ON CONFLICT ({key}) DO UPDATE SET {update} "
        f"WHERE ({current}) IS DISTINCT FROM ({incoming})"
    )


def delete_windows_sql(table: Table) -> str:
    """Deletes the rows of ``table`` in the windows of the staged ``sentiment`` rows."""
    t, s = quote(table.name), quote(stage_name(SENTIMENT))
    match = " AND ".join(f"{t}.{quote(k)} = {s}.{quote(k)}" for k in ("query", "time_window"))
    return f"DELETE FROM {t} USING {s} WHERE {match}"


class PostgresWarehouse(SqlReads):
    mark = "%s"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        dsn: str | None = Field(
            default=None, description="libpq URI or key=value string, without the password"
        )
        host: str | None = None  # each of these overrides the DSN's; unset: libpq's PG* env
        port: int | None = Field(default=None, ge=1, le=65535)
        user: str | None = None
        dbname: str | None = None
        sslmode: str | None = None
        password_secret: str = Field(
            default="PGPASSWORD", description="name of the secret holding the password"
        )
        connect_timeout: int = Field(default=10, ge=1)
        batch_rows: int = Field(default=65536, ge=1)  # rows per COPY chunk (memory bound)

        @field_validator("dsn")
        @classmethod
        def _no_password(cls, value: str | None) -> str | None:
            from psycopg.conninfo import conninfo_to_dict

            if value is None:
                return None
            try:
                parts = conninfo_to_dict(value)
            except Exception:
                raise ValueError(
                    "not a valid libpq connection string or postgresql:// URI"
                ) from None
            if parts.get("password"):
                raise ValueError(
                    "must not contain a password; export PGPASSWORD (or the secret named by "
                    "warehouse.password_secret) instead"
                )
            return value

    def __init__(self, settings: PostgresWarehouse.Settings, context: Context):
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        self.settings = settings
        self._secrets = context.secrets
        overrides = {
            k: getattr(settings, k)
            for k in ("host", "port", "user", "dbname", "sslmode")
            if getattr(settings, k) is not None
        }
        self._conninfo = make_conninfo(settings.dsn or "", **overrides)
        parts = conninfo_to_dict(self._conninfo)
        user = f"{parts['user']}@" if parts.get("user") else ""
        port = f":{parts['port']}" if parts.get("port") else ""
        self.location = (
            f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"
        )
        self._reader: psycopg.Connection | None = None

    def _connect(self, read_only: bool = False) -> psycopg.Connection:
        import psycopg

        password = self._secrets.get(self.settings.password_secret)
        # Loads keep their staging tables in memory up to temp_buffers (default 8MB).
        options = "-c TimeZone=UTC " + (
            "-c default_transaction_read_only=on" if read_only else "-c temp_buffers=256MB"
        )
        try:
            return psycopg.connect(
                self._conninfo,
                password=password,
                connect_timeout=self.settings.connect_timeout,
                options=options,
                application_name="tweetsense",
                autocommit=True,
            )
        except psycopg.OperationalError as exc:
            first = _first_line(exc)
            if password:
                first = first.replace(password, "***")
            if "password" in first:
                raise MissingCredentialError(
                    f"warehouse: PostgreSQL at {self.location} refused the login ({first}); "
                    f"export {self.settings.password_secret}=... or add it to the secrets file"
                ) from None
            if "does not exist" in first:
                raise ConfigError(
                    f"warehouse: PostgreSQL at {self.location}: {first}; "
                    "check warehouse.dbname and warehouse.user"
                ) from None
            raise BackendUnavailableError(
                f"warehouse: cannot connect to PostgreSQL at {self.location} ({first}); "
                "is the server running and are warehouse.host/port right?"
            ) from None

    def _create(self, cur: psycopg.Cursor) -> None:
        # CREATE INDEX takes a lock that blocks writers even when the index exists, so the DDL
        # runs only when something is missing or the schema version is older.
        # A warehouse of an earlier version gets its new tables and columns here.
        names = [t.name for t in (*LOADED_TABLES, SCHEMA_TABLE)] + [i.name for i in INDEXES]
        row = cur.execute(
            "SELECT bool_and(to_regclass(n) IS NOT NULL) FROM unnest(%s::text[]) AS n",
            [[quote(n) for n in names]],
        ).fetchone()
        current = bool(row and row[0])
        if current:
            found = cur.execute(f"SELECT max({quote('version')}) FROM {quote(SCHEMA_TABLE.name)}")
            version = found.fetchone()
            current = bool(version and version[0] is not None and version[0] >= SCHEMA_VERSION)
        if not current:
            catalog = cur.execute(catalog_sql()).fetchall()
            for statement in (*POSTGRES.migration(catalog), *POSTGRES.ddl()):
                cur.execute(statement)
        cur.execute(record_version_sql(self.mark), [SCHEMA_VERSION, datetime.now(UTC)])
        found = cur.execute(f"SELECT max({quote('version')}) FROM {quote(SCHEMA_TABLE.name)}")
        row = found.fetchone()
        check_version(row[0] if row else None, self.location)

    def load(self, query: str, files: Mapping[str, str]) -> LoadResult:
        import psycopg

        tables = tables_to_load(files)
        con = self._connect()
        try:
            with con.transaction(), con.cursor() as cur:
                # Loads run one at a time per database; readers are never blocked.
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOAD_LOCK])
                self._create(cur)
                for table in tables:
                    stage = quote(stage_name(table))
                    cur.execute(
                        f"CREATE TEMP TABLE {stage} (LIKE {quote(table.name)}) ON COMMIT DROP"
                    )
                    rows = self.settings.batch_rows
                    copy_parquet(cur, stage_name(table), table, files[table.name], rows)
                    if table.name in BY_WINDOW:
                        cur.execute(delete_windows_sql(table))
                    cur.execute(merge_sql(table))
                for table in tables:
                    if table.name in PRUNED:
                        windows = quote(stage_name(SENTIMENT))
                        cur.execute(prune_sql(table, quote(stage_name(table)), windows))
                counts = {
                    t.name: cur.execute(
                        f"SELECT count(*) FROM {quote(t.name)} WHERE {quote('query')} = %s",
                        [query],
                    ).fetchone()
                    for t in LOADED_TABLES
                }
        except psycopg.OperationalError as exc:
            raise BackendUnavailableError(
                f"warehouse: the load into PostgreSQL at {self.location} was cut off "
                f"({_first_line(exc)}); nothing was changed; run `tweetsense load` again"
            ) from None
        except psycopg.Error as exc:
            raise BadInputError(
                f"warehouse: PostgreSQL at {self.location} rejected the outputs "
                f"({_first_line(exc)}); nothing was changed; rerun `tweetsense batch`"
            ) from None
        finally:
            con.close()
        return LoadResult.of({k: int(c[0]) if c else 0 for k, c in counts.items()}, self.location)

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        import psycopg
        from psycopg.rows import dict_row

        if self._reader is None or self._reader.closed or self._reader.broken:
            self._reader = self._connect(read_only=True)
        try:
            with self._reader.cursor(row_factory=dict_row) as cur:
                return cur.execute(sql, params).fetchall()
        except psycopg.errors.UndefinedTable:
            return []
        except psycopg.OperationalError as exc:
            raise BackendUnavailableError(
                f"warehouse: the connection to PostgreSQL at {self.location} failed "
                f"({_first_line(exc)}); try again"
            ) from None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
