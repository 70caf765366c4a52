"""Columnar copies from the documents a stage has in hand, and writing them beside the JSON."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tweetsense.columnar.posts import DERIVED, Derived, derived, derived_columns
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


def _items(obj: Any) -> list[Any]:
    return obj if isinstance(obj, list) else []


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else None


def _values(items: list[Any], path: tuple[str, ...]) -> list[Any]:
    values = items
    for part in path:
        values = [v.get(part) if isinstance(v, dict) else None for v in values]
    return values


def staging_table(doc: StagingDoc) -> pa.Table:
    """The staging copy of ``doc`` (``schema.STAGING``). Raises ``pa.ArrowInvalid`` (or its
    ``ArrowTypeError``) when a value is not of the API's type: ``derive`` reads such a file as
    the engines always did."""
    # The rows in file order, a run of one kind at a time: the window's, then per page its
    # posts, users and included posts.
    runs: list[tuple[str, int, list[Any], dict[str, tuple[str, ...]]]] = [
        ("window", 0, [{"volume": doc.volume}], {"volume": ("volume",)})
    ]
    included: list[Any] = []
    for p, page in enumerate(doc.pages, 1):
        first = p * _PAGE_STRIDE + 1
        includes = _get(page, "includes")
        tweets = _items(_get(includes, "tweets"))
        runs.append(("post", first, _items(_get(page, "data")), dict(POST_FIELDS)))
        runs.append(("user", first, _items(_get(includes, "users")), dict(USER_FIELDS)))
        runs.append(("included", first, tweets, dict(INCLUDED_FIELDS)))
        included.extend(tweets)
    originals = included_texts(included)
    rows = sum(len(items) for _, _, items, _ in runs)
    arrays: dict[str, Any] = {
        "file_order": pa.array([epoch_seconds(doc.window.start)] * rows, pa.int64()),
        "kind": pa.array([kind for kind, _, items, _ in runs for _ in items], pa.string()),
        "position": pa.array(
            [i for _, first, items, _ in runs for i in range(first, first + len(items))],
            pa.int64(),
        ),
    }
    found: list[Derived | None] = []
    for kind, _, items, _ in runs:
        if kind == "post":
            found += [derived(item, originals) for item in items]
        else:
            found += [None] * len(items)
    arrays.update(zip(DERIVED, derived_columns(found), strict=True))
    for name in STAGING.names:
        if name not in arrays:
            values: list[Any] = []
            for _, _, items, fields in runs:
                path = fields.get(name)
                values += _values(items, path) if path else [None] * len(items)
            arrays[name] = pa.array(values, STAGING.field(name).type)
    return pa.Table.from_arrays([arrays[name] for name in STAGING.names], schema=STAGING)


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
    # A window's copy is small and read whole: zstd would take several times as long to write
    # it, and dictionaries and statistics would only cost.
    pq.write_table(table, sink, compression="snappy", use_dictionary=False, write_statistics=False)
    return sink.getvalue().to_pybytes()


def write_copy(store: Store, json_key: str, table: pa.Table) -> None:
    store.put(copy_key(json_key), to_parquet(table))
