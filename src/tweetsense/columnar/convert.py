"""Columnar copies from the documents a stage has in hand, and writing them beside the JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tweetsense.columnar.posts import DERIVED, derived
from tweetsense.columnar.schema import (
    INCLUDED_FIELDS,
    POST_FIELDS,
    SENTIMENT,
    STAGING,
    USER_FIELDS,
    copy_key,
)
from tweetsense.contracts import LABELS, SentimentDoc, StagingDoc, included_texts
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


Fields = Sequence[tuple[str, tuple[str, ...]]]
_WINDOW_FIELDS: Fields = (("volume", ("volume",)),)


def staging_table(doc: StagingDoc) -> pa.Table:
    """The staging copy of ``doc`` (``schema.STAGING``). Raises ``pa.ArrowInvalid`` (or its
    ``ArrowTypeError``) when a value is not of the API's type: ``derive`` reads such a file as
    the engines always did."""
    columns: dict[str, list[Any]] = {name: [] for name in STAGING.names}
    originals = included_texts(
        [post for page in doc.pages for post in _items(_value(page, ("includes", "tweets")))]
    )

    def add(kind: str, first: int, items: list[Any], fields: Fields) -> None:
        columns["kind"].extend([kind] * len(items))
        columns["position"].extend(range(first, first + len(items)))
        filled = {"file_order", "kind", "position"}
        for column, path in fields:
            columns[column].extend([_value(item, path) for item in items])
            filled.add(column)
        if kind == "post":
            found = [derived(item, originals) for item in items]
            for column in DERIVED:
                columns[column].extend([f.get(column) for f in found])
            filled.update(DERIVED)
        for column in columns.keys() - filled:
            columns[column].extend([None] * len(items))

    add("window", 0, [{"volume": doc.volume}], _WINDOW_FIELDS)
    for p, page in enumerate(doc.pages, 1):
        first = p * _PAGE_STRIDE + 1
        includes = _value(page, ("includes",))
        add("post", first, _items(_value(page, ("data",))), POST_FIELDS)
        add("user", first, _items(_value(includes, ("users",))), USER_FIELDS)
        add("included", first, _items(_value(includes, ("tweets",))), INCLUDED_FIELDS)
    columns["file_order"] = [epoch_seconds(doc.window.start)] * len(columns["kind"])
    return pa.Table.from_pydict(columns, schema=STAGING)


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
    # Snappy: a window's copy is small, and zstd would take several times as long to write it.
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue().to_pybytes()


def write_copy(store: Store, json_key: str, table: pa.Table) -> None:
    store.put(copy_key(json_key), to_parquet(table))
