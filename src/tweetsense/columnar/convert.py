"""Columnar copies from the documents a stage has in hand, and writing them beside the JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tweetsense.columnar.schema import (
    INCLUDED_FIELDS,
    POST_FIELDS,
    SENTIMENT,
    STAGING,
    USER_FIELDS,
    copy_key,
)
from tweetsense.columnar.words import with_words
from tweetsense.contracts import LABELS, SentimentDoc, StagingDoc
from tweetsense.staging.base import Store
from tweetsense.timeutil import epoch_seconds

_PAGE_STRIDE = 1_000_000
_SCORE_COLUMNS = tuple(label.lower() for label in LABELS)


def _value(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _items(obj: Any) -> list[Any]:
    return obj if isinstance(obj, list) else []


def _rows(
    out: list[dict[str, Any]],
    file_order: int,
    kind: str,
    first: int,
    items: list[Any],
    fields: Sequence[tuple[str, tuple[str, ...]]],
) -> None:
    for i, item in enumerate(items):
        row = {"file_order": file_order, "kind": kind, "position": first + i}
        row.update((column, _value(item, path)) for column, path in fields)
        out.append(row)


def staging_table(doc: StagingDoc) -> pa.Table:
    """The staging copy of ``doc`` (``schema.STAGING``). Raises ``pa.ArrowInvalid`` (or its
    ``ArrowTypeError``) when a value is not of the API's type: ``derive`` reads such a file as
    the engines always did."""
    file_order = epoch_seconds(doc.window.start)
    rows: list[dict[str, Any]] = [
        {"file_order": file_order, "kind": "window", "position": 0, "volume": doc.volume}
    ]
    for p, page in enumerate(doc.pages, 1):
        first = p * _PAGE_STRIDE + 1
        includes = _value(page, ("includes",))
        _rows(rows, file_order, "post", first, _items(_value(page, ("data",))), POST_FIELDS)
        _rows(rows, file_order, "user", first, _items(_value(includes, ("users",))), USER_FIELDS)
        tweets = _items(_value(includes, ("tweets",)))
        _rows(rows, file_order, "included", first, tweets, INCLUDED_FIELDS)
    return with_words(pa.Table.from_pylist(rows, schema=STAGING))


def sentiment_table(doc: SentimentDoc) -> pa.Table:
    """The sentiment copy of ``doc`` (``schema.SENTIMENT``)."""
    scores = doc.scores
    n = len(scores)
    columns: dict[str, list[Any]] = {
        "file_order": [epoch_seconds(doc.window.start)] * (n + 1),
        "analyzer": [doc.analyzer] * (n + 1),
        "position": list(range(n + 1)),
        "tweet_id": [None, *(s.get("tweet_id") for s in scores)],
        "label": [None, *(s.get("label") for s in scores)],
    }
    for name in _SCORE_COLUMNS:
        columns[name] = [None, *(s.get(name) for s in scores)]
    return pa.Table.from_pydict(columns, schema=SENTIMENT)


def to_parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_copy(store: Store, json_key: str, table: pa.Table) -> None:
    store.put(copy_key(json_key), to_parquet(table))
