"""The batch outputs read in record batches, in a table's column order and exact types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from tweetsense.errors import BadInputError
from tweetsense.warehouse.dialects import arrow_schema
from tweetsense.warehouse.schema import Table

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq


def open_parquet(uri: str) -> pq.ParquetFile:
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    try:
        if "://" in uri:
            fs, path = pafs.FileSystem.from_uri(uri)
            return pq.ParquetFile(fs.open_input_file(path))
        return pq.ParquetFile(uri)
    except FileNotFoundError:
        raise BadInputError(f"{uri} not found; run `tweetsense batch` first") from None
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInputError(
            f"{uri} cannot be read as Parquet ({first}); rerun `tweetsense batch`"
        ) from None


def record_batches(uri: str, table: Table, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
    """Batches holding exactly ``table``'s columns, in its order, cast to its types."""
    import pyarrow as pa

    target = arrow_schema(table)
    pf = open_parquet(uri)
    missing = [c for c in table.column_names if c not in pf.schema_arrow.names]
    if missing:
        raise BadInputError(
            f"{uri} lacks the column(s) {', '.join(missing)} of table {table.name}; "
            "rerun `tweetsense batch` with this version of tweetsense"
        )
    for batch in pf.iter_batches(batch_size=batch_rows, columns=table.column_names):
        try:
            arrays = [batch.column(f.name).cast(f.type) for f in target]
        except (TypeError, ValueError) as exc:
            raise BadInputError(
                f"{uri}: a column does not convert to table {table.name}'s types ({exc})"
            ) from None
        yield pa.RecordBatch.from_arrays(arrays, schema=target)
