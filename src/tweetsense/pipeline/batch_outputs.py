"""The batch outputs of an incremental batch: the recomputed windows' rows merged into the last
outputs, and the rows of the windows that changed, for a load that replaces only those."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tweetsense import layout
from tweetsense.batch.base import BatchOutputs, Scratch
from tweetsense.pipeline.batch_state import connection
from tweetsense.staging.base import Store

if TYPE_CHECKING:
    import duckdb

# Each output's rows in the order the job writes them (``batch.job``).
ORDER = {
    "tweets_parquet": "created_at, tweet_id",
    "windows_parquet": "time_window",
    "scores_parquet": "time_window, tweet_id, analyzer",
    "by_analyzer_parquet": "analyzer, time_window",
    "drivers_parquet": "time_window, kind, term, label",
    "agreement_parquet": "time_window, analyzer_a, analyzer_b, label_a, label_b",
    "spikes_parquet": "time_window, metric",
}
# What the engine writes; spikes come after it, from the merged windows.
ENGINE_OUTPUTS = tuple(k for k in ORDER if k != "spikes_parquet")
# As the DuckDB engine writes CSV times: ISO 8601 in UTC.
_CSV_TIME = "%Y-%m-%dT%H:%M:%S.%gZ"


def under(outputs: BatchOutputs, folder: str) -> BatchOutputs:
    """``outputs`` with every Parquet file in ``folder`` and no CSV."""
    moved = {k: f"{folder}/{getattr(outputs, k).rsplit('/', 1)[-1]}" for k in ORDER}
    return dataclasses.replace(outputs, tweets_csv=None, windows_csv=None, **moved)


def merge(
    store: Store,
    outputs: BatchOutputs,
    part: BatchOutputs,
    windows: Sequence[int],
    *,
    csv: bool,
    scratch: Scratch,
) -> None:
    """Replace the rows of ``windows`` (epoch seconds) in ``outputs`` by those of ``part``."""
    with connection(store, scratch) as con:
        for name in ENGINE_OUTPUTS:
            kept = _rows(store, getattr(outputs, name), inside=False)
            new = f"SELECT * FROM read_parquet('{_quote(store.uri(getattr(part, name)))}')"
            sql = f"SELECT * FROM ({kept} UNION ALL BY NAME {new}) ORDER BY {ORDER[name]}"
            _write(con, store, sql, getattr(outputs, name), {"w": list(windows)})
        if csv:
            for parquet, target in (
                (outputs.tweets_parquet, outputs.tweets_csv),
                (outputs.windows_parquet, outputs.windows_csv),
            ):
                if target is None:
                    continue
                with store.writing(target) as path:
                    con.execute(
                        f"COPY (SELECT * FROM read_parquet('{_quote(store.uri(parquet))}')) "
                        f"TO '{_quote(path)}' (HEADER, DELIMITER ',', "
                        f"TIMESTAMPFORMAT '{_CSV_TIME}')"
                    )


def changed_spikes(store: Store, before: bytes | None, after: str) -> set[int]:
    """The windows whose spike rows differ between the spikes file ``before`` (its bytes) and
    the one at key ``after``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def rows(table: pa.Table) -> set[tuple]:
        return {tuple(r.values()) for r in table.to_pylist()}

    new = pq.read_table(pa.BufferReader(store.get(after)))
    old = pq.read_table(pa.BufferReader(before)) if before is not None else new.slice(0, 0)
    differ = rows(old) ^ rows(new)
    names = new.column_names
    at = names.index("time_window")
    return {int(r[at].timestamp()) for r in differ}


def write_delta(
    store: Store,
    outputs: BatchOutputs,
    delta: BatchOutputs,
    windows: Sequence[int],
    scratch: Scratch,
) -> None:
    """Write to ``delta`` the rows of ``outputs`` in ``windows``: what a load replaces."""
    with connection(store, scratch) as con:
        for name in ORDER:
            sql = _rows(store, getattr(outputs, name), inside=True)
            _write(con, store, sql, getattr(delta, name), {"w": list(windows)})


def label_counts(
    store: Store, outputs: BatchOutputs, scratch: Scratch
) -> tuple[dict[str, int], int]:
    """The merged outputs' posts per label, and their number of windows."""
    with connection(store, scratch) as con:
        tweets = store.uri(outputs.tweets_parquet)
        labels = con.execute(
            f"SELECT label, count(*) FROM read_parquet('{_quote(tweets)}') GROUP BY ALL"
        ).fetchall()
        windows = store.uri(outputs.windows_parquet)
        found = con.execute(f"SELECT count(*) FROM read_parquet('{_quote(windows)}')").fetchone()
    return {str(k): int(v) for k, v in labels}, int(found[0]) if found else 0


def delta_outputs(outputs: BatchOutputs, slug: str) -> BatchOutputs:
    return under(outputs, layout.output_key(slug, "delta"))


def _rows(store: Store, key: str, *, inside: bool) -> str:
    """The rows of output ``key`` in (or else out of) the windows of parameter ``$w``."""
    where = "IN" if inside else "NOT IN"
    return (
        f"SELECT * FROM read_parquet('{_quote(store.uri(key))}') "
        f"WHERE epoch(time_window)::BIGINT {where} (SELECT UNNEST($w::BIGINT[]))"
    )


def _write(con: duckdb.DuckDBPyConnection, store: Store, sql: str, key: str, params: dict) -> None:
    with store.writing(key) as path:
        con.execute(f"COPY ({sql}) TO '{_quote(path)}' (FORMAT parquet, COMPRESSION zstd)", params)


def _quote(path: str) -> str:
    return path.replace("'", "''")
