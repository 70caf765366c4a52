"""Columnar copies derived from the JSON files themselves, for files staged or scored without
one (a data directory of an earlier version, a file written by hand) and for a document whose
values are not of the API's types. DuckDB reads the JSON as the batch engines read it before
copies existed: a number where text is expected becomes text, a malformed file an error."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from tweetsense import layout
from tweetsense.columnar.convert import write_copy
from tweetsense.columnar.posts import with_derived
from tweetsense.columnar.schema import SENTIMENT, STAGING, copy_key
from tweetsense.errors import BadInputError
from tweetsense.staging import filesystems
from tweetsense.staging.base import Store

if TYPE_CHECKING:
    import duckdb

_USER = "STRUCT(id VARCHAR, username VARCHAR, name VARCHAR, verified BOOLEAN, location VARCHAR)"
_NOTE = "note_tweet STRUCT(text VARCHAR)"
_METRICS = (
    "public_metrics STRUCT(like_count BIGINT, retweet_count BIGINT, reply_count BIGINT, "
    "quote_count BIGINT)"
)
_ENTITIES = (
    "entities STRUCT(annotations STRUCT(normalized_text VARCHAR)[], "
    "hashtags STRUCT(tag VARCHAR)[], "
    "mentions STRUCT(username VARCHAR)[], urls STRUCT(url VARCHAR, expanded_url VARCHAR)[]), "
    "context_annotations STRUCT(entity STRUCT(name VARCHAR))[]"
)
_TWEET = (
    f"STRUCT(id VARCHAR, text VARCHAR, {_NOTE}, created_at VARCHAR, author_id VARCHAR, "
    "lang VARCHAR, conversation_id VARCHAR, referenced_tweets STRUCT(type VARCHAR, id VARCHAR)[], "
    f"edit_history_tweet_ids VARCHAR[], {_METRICS}, {_ENTITIES})"
)
_INCLUDED = f"STRUCT(id VARCHAR, text VARCHAR, {_NOTE})"
_PAGE = f"STRUCT(data {_TWEET}[], includes STRUCT(users {_USER}[], tweets {_INCLUDED}[]))"
_SCORE = (
    "STRUCT(tweet_id VARCHAR, label VARCHAR, positive DOUBLE, negative DOUBLE, "
    "neutral DOUBLE, mixed DOUBLE)"
)

_STAGING_COLUMNS = f"{{window_start: 'VARCHAR', volume: 'BIGINT', pages: '{_PAGE}[]'}}"
_SENTIMENT_COLUMNS = f"{{window_start: 'VARCHAR', analyzer: 'VARCHAR', scores: '{_SCORE}[]'}}"


def _read(columns: str) -> str:
    return (
        "SELECT epoch(CAST(window_start AS TIMESTAMPTZ))::BIGINT AS file_order, * "
        f"FROM read_json($files, format='unstructured', columns={columns}, "
        "maximum_object_size=$max_object_size, filename=true)"
    )


_STAGING_SQL = f"""
WITH f AS MATERIALIZED ({_read(_STAGING_COLUMNS)}),
p AS (
    SELECT filename, file_order, UNNEST(pages) AS page, generate_subscripts(pages, 1) AS page_no
    FROM f
), posts AS (
    SELECT filename, file_order, page_no, UNNEST(page.data) AS x,
           generate_subscripts(page.data, 1) AS i
    FROM p
), users AS (
    SELECT filename, file_order, page_no, UNNEST(page.includes.users) AS x,
           generate_subscripts(page.includes.users, 1) AS i
    FROM p
), included AS (
    SELECT filename, file_order, page_no, UNNEST(page.includes.tweets) AS x,
           generate_subscripts(page.includes.tweets, 1) AS i
    FROM p
)
SELECT filename, file_order, 'window' AS kind, 0::BIGINT AS position, volume FROM f
UNION ALL BY NAME
SELECT filename, file_order, 'post' AS kind, page_no * 1000000 + i AS position, x.id AS id,
       x.text AS text, x.note_tweet.text AS note_text, x.created_at AS created_at,
       x.author_id AS author_id, x.lang AS lang, x.conversation_id AS conversation_id,
       x.edit_history_tweet_ids AS edit_history_tweet_ids,
       x.public_metrics.like_count AS like_count,
       x.public_metrics.retweet_count AS retweet_count,
       x.public_metrics.reply_count AS reply_count,
       x.public_metrics.quote_count AS quote_count,
       x.referenced_tweets AS raw_referenced_tweets, x.entities AS raw_entities,
       x.context_annotations AS raw_context_annotations
FROM posts
UNION ALL BY NAME
SELECT filename, file_order, 'user' AS kind, page_no * 1000000 + i AS position, x.id AS id,
       x.username AS username, x.name AS name, x.verified AS verified, x.location AS location
FROM users
UNION ALL BY NAME
SELECT filename, file_order, 'included' AS kind, page_no * 1000000 + i AS position, x.id AS id,
       x.text AS text, x.note_tweet.text AS note_text
FROM included
"""

_SENTIMENT_SQL = f"""
WITH f AS MATERIALIZED ({_read(_SENTIMENT_COLUMNS)}),
s AS (
    SELECT filename, file_order, analyzer, UNNEST(scores) AS x,
           generate_subscripts(scores, 1) AS i
    FROM f
)
SELECT filename, file_order, analyzer, 0::BIGINT AS position FROM f
UNION ALL BY NAME
SELECT filename, file_order, analyzer, i AS position, x.tweet_id AS tweet_id, x.label AS label,
       x.positive AS positive, x.negative AS negative, x.neutral AS neutral, x.mixed AS mixed
FROM s
"""

# The API's values ``posts.derived`` reads, beside the copy's columns.
_RAW = "raw_"
# Files read by one query: their rows are held at once, as Arrow, before they are split.
_CHUNK_BYTES = 256 * 1024 * 1024


def ensure_copies(store: Store, json_keys: list[str], prefix: str) -> list[str]:
    """The copies' keys of ``json_keys`` (all under ``prefix``), deriving those missing."""
    copies = [copy_key(k) for k in json_keys]
    have = set(store.list(copy_key(prefix).removesuffix(".parquet")))
    missing = [k for k, c in zip(json_keys, copies, strict=True) if c not in have]
    if missing:
        derive(store, missing)
    return copies


def derive(store: Store, json_keys: list[str]) -> None:
    """Writes the copy of each of ``json_keys`` (staging or sentiment files, not mixed)."""
    scores = _is_scores(json_keys[0])
    con = _connect(store)
    try:
        for chunk in _chunks(store, json_keys):
            for key, table in _query(con, store, chunk, scores):
                write_copy(store, key, table)
    finally:
        con.close()


def staging_from_json(store: Store, json_key: str) -> pa.Table:
    """One staging file's copy, read as the engines read JSON (see the module's docstring)."""
    con = _connect(store)
    try:
        return next(_query(con, store, [json_key], scores=False))[1]
    finally:
        con.close()


def _connect(store: Store) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(config={"memory_limit": "512MB"})
    filesystems.register(con, store)  # s3:// and other remote store URIs
    con.execute("SET TimeZone = 'UTC'")
    return con


def _is_scores(key: str) -> bool:
    return key.startswith((layout.SENTIMENT + "/", layout.ANALYSES + "/"))


def _query(
    con: duckdb.DuckDBPyConnection, store: Store, keys: list[str], scores: bool
) -> Iterator[tuple[str, pa.Table]]:
    """Each file's copy, in the order of ``keys``."""
    import duckdb

    sql, schema = (_SENTIMENT_SQL, SENTIMENT) if scores else (_STAGING_SQL, STAGING)
    uris = [store.uri(k) for k in keys]
    largest = max(_size(store, u) for u in uris)
    try:
        params = {"files": uris, "max_object_size": largest + 1024}
        table = con.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as exc:
        raise unreadable(exc) from None
    table = table.sort_by([("filename", "ascending"), ("position", "ascending")])
    names = table.column("filename").to_pylist()
    raw = [n for n in table.column_names if n.startswith(_RAW)]
    for name in schema.names:  # the columns ``posts.derived`` fills
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, schema.field(name).type))
    rows = table.select(schema.names).cast(schema)
    spans: dict[str, tuple[int, int]] = {}
    for i, name in enumerate(names):
        first_row, _ = spans.get(name, (i, i))
        spans[name] = (first_row, i + 1)
    for key, uri in zip(keys, uris, strict=True):
        begin, end = spans.get(uri, (0, 0))
        part = rows.slice(begin, end - begin)
        if not scores:
            found = {
                n[len(_RAW) :]: table.column(n).slice(begin, end - begin).to_pylist() for n in raw
            }
            part = with_derived(part, found)
        yield key, part


def unreadable(exc: Exception) -> BadInputError:
    """The error for window files DuckDB cannot read, naming what it said first."""
    first = str(exc).strip().splitlines()[0]
    return BadInputError(
        f"batch: cannot read the window files ({first}); rerun ingest/consume "
        "for the windows it names"
    )


def _size(store: Store, uri: str) -> int:
    fs = store.filesystem()
    try:
        return int(fs.size(uri) if fs is not None else os.stat(uri).st_size)
    except OSError:
        return 512 * 1024 * 1024  # unknown: a generous bound


def _chunks(store: Store, keys: Iterable[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for key in keys:
        chunk.append(key)
        size += _size(store, store.uri(key))
        if size >= _CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk
