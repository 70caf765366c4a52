"""Window files written, and deleted, together with their columnar copies.

The old copy goes before the file is written, so a crash between the two writes leaves a file
without a copy (the next batch makes it), never a file beside a stale copy.
"""

from __future__ import annotations

import pyarrow as pa

from tweetsense.columnar.convert import sentiment_table, staging_table, write_copy
from tweetsense.columnar.derive import staging_from_json
from tweetsense.columnar.schema import copy_key
from tweetsense.contracts import SentimentDoc, StagingDoc
from tweetsense.staging.base import Store


def put_staging(store: Store, key: str, doc: StagingDoc) -> None:
    store.delete(copy_key(key))
    store.put(key, doc.encode())
    try:
        table = staging_table(doc)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # A value not of the API's type (a number for an id): read as the engines read JSON.
        table = staging_from_json(store, key)
    write_copy(store, key, table)


def put_sentiment(store: Store, key: str, doc: SentimentDoc) -> None:
    store.delete(copy_key(key))
    store.put(key, doc.encode())
    write_copy(store, key, sentiment_table(doc))


def delete(store: Store, key: str) -> None:
    store.delete(copy_key(key))
    store.delete(key)
