"""What a batch keeps for the next one, and which windows the next one must recompute.

A batch of generation ``g`` leaves under ``outputs/<slug>/_state/<g>/``:

- ``index.parquet``: the rows of every staged file that placement, the aggregates, users, edits
  and volumes need (``columnar.STAGING`` columns, without texts or drivers);
- ``scores.parquet`` and ``analysis.parquet``: every sentiment copy's rows, the primary
  analyzer's and the others';
- ``rows.parquet``: every post row of the index as ``job.classify`` leaves it (its fate, time,
  window, score and the facts the aggregates read), which the engine reads instead of
  classifying the rows again;
- ``placed.parquet``: where each placed post went, with the row and score it was placed from;
- ``files.json``: the version of every copy those tables were made from.

Every table has a ``copy`` column naming the file a row came from, so the next batch replaces
the rows of the files written since (``Store.versions``) and keeps the others. Placement runs
again over every post's keys (narrow, so cheap); the windows whose placed posts, scores, users,
volumes or files changed are the ones recomputed in full. The batch manifest names the state's
generation; without it (a batch that stopped half-way) the next batch recomputes everything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from tweetsense import columnar, layout
from tweetsense.batch import job
from tweetsense.batch.base import BatchInputs, Scratch
from tweetsense.batch.duckdb_engine import read_inputs
from tweetsense.staging import filesystems
from tweetsense.staging.base import Store

if TYPE_CHECKING:
    import duckdb

STATE = "_state"
# The version of the state's tables: a batch updates only a state of its own version (the
# manifest's ``state_format``), and recomputes everything over an older one.
FORMAT = 2
# What the rows of the index keep of a staged file: what ``job`` reads through ``key_uris``.
_INDEX_COLUMNS = (
    "file_order, kind, position, volume, id, created_at, edit_history_tweet_ids, author_id, "
    "retweeted_id, post_type, like_count, retweet_count, reply_count, quote_count, "
    "username, name, verified, location"
)
_PLACED_VALUES = (
    "window_epoch",
    "file_order",
    "position",
    "label",
    "positive",
    "negative",
    "neutral",
    "mixed",
)


@dataclass(frozen=True)
class Plan:
    generation: int
    base: int | None  # the generation this one updates; None when everything is recomputed
    affected: list[int] | None  # window epochs recomputed; None: every window
    analyzers: list[str]  # every analyzer with results: each has a row in every window
    staging: list[str]  # staging copies read whole: those of the windows recomputed
    index: str  # the state's tables, by store key
    scores: str
    analysis: str
    rows: str

    def inputs(self, store: Store, **fields: Any) -> BatchInputs:
        """The engine's inputs: the state's tables for placement and scores, whole files only
        for the windows recomputed."""
        return BatchInputs(
            staging_uris=[store.uri(k) for k in self.staging],
            key_uris=[store.uri(self.index)],
            sentiment_uris=[store.uri(self.scores)],
            analysis_uris=[store.uri(self.analysis)],
            affected=self.affected,
            rows_uri=store.uri(self.rows),
            **fields,
        )


def state_key(slug: str, generation: int, name: str) -> str:
    return layout.output_key(slug, f"{STATE}/{generation}/{name}")


def plan(
    store: Store,
    slug: str,
    previous: Mapping[str, Any] | None,
    *,
    basis: Mapping[str, Any],
    spine: Sequence[int],
    volumes: Mapping[int, int],
    empty_analyzers: Sequence[str],
    staging: Sequence[str],
    sentiment: Sequence[str],
    analysis: Sequence[str],
    freq_seconds: int,
    scratch: Scratch,
) -> Plan:
    """Bring the state up to the copies given (store keys) and say what to recompute.
    ``previous`` is the last batch's manifest; ``basis`` what its results depend on beyond the
    files (query, settings, analyzers): any change there recomputes everything."""
    last = _usable(store, slug, previous, basis, spine)
    generation = int((previous or {}).get("generation", 0)) + 1
    keys = {
        "index": state_key(slug, generation, "index.parquet"),
        "scores": state_key(slug, generation, "scores.parquet"),
        "analysis": state_key(slug, generation, "analysis.parquet"),
        "placed": state_key(slug, generation, "placed.parquet"),
        "rows": state_key(slug, generation, "rows.parquet"),
    }
    versions = _versions(store, [*staging, *sentiment, *analysis])
    old_files: dict[str, str] = {}
    if last is not None:
        old_files = orjson.loads(store.get(state_key(slug, last, "files.json")))
    uri = {k: store.uri(k) for k in versions}
    changed = [k for k, v in versions.items() if old_files.get(k) != v]
    gone = [store.uri(k) for k in old_files if k not in versions]
    dropped = sorted({*gone, *(uri[k] for k in changed)})
    new = set(changed)
    with connection(store, scratch) as con:
        old = {n: store.uri(state_key(slug, last, f"{n}.parquet")) for n in keys} if last else {}
        _update(
            con,
            store,
            keys["index"],
            old.get("index"),
            dropped,
            _fresh(staging, new, uri),
            f"SELECT {_INDEX_COLUMNS}, filename AS copy FROM $files WHERE kind <> 'included'",
            columnar.STAGING,
        )
        for name, copies in (("scores", sentiment), ("analysis", analysis)):
            _update(
                con,
                store,
                keys[name],
                old.get(name),
                dropped,
                _fresh(copies, new, uri),
                "SELECT * EXCLUDE (filename), filename AS copy FROM $files",
                columnar.SENTIMENT,
            )
        _place(con, store, keys, spine, freq_seconds)
        analyzers = _analyzers(con, store, keys, empty_analyzers)
        if last is not None and (previous or {}).get("analyzers") != analyzers:
            last = None  # a new analyzer has rows in every window
        if last is None:
            affected = None
            read = list(staging)
        else:
            affected = _affected(con, store, keys, old, dropped, spine, previous or {}, volumes)
            files = _files_of(con, store.uri(keys["placed"]), affected)
            read = [k for k in staging if _epoch(k) in files]
    store.put(state_key(slug, generation, "files.json"), orjson.dumps(versions))
    return Plan(
        generation,
        last,
        affected,
        analyzers,
        read,
        keys["index"],
        keys["scores"],
        keys["analysis"],
        keys["rows"],
    )


def forget_older(store: Store, slug: str, generation: int) -> None:
    """Delete the states of generations before ``generation``: only the latest is read."""
    root = layout.output_key(slug, STATE)
    for key in store.list(root):
        part = key.removeprefix(f"{root}/").split("/")[0]
        if part.isdigit() and int(part) < generation:
            store.delete(key)


def _usable(
    store: Store,
    slug: str,
    previous: Mapping[str, Any] | None,
    basis: Mapping[str, Any],
    spine: Sequence[int],
) -> int | None:
    """The generation of the last batch's state when this batch can update it."""
    if not previous or previous.get("basis") != dict(basis):
        return None
    if previous.get("state_format") != FORMAT:
        return None
    generation = previous.get("generation")
    if not isinstance(generation, int):
        return None
    # Windows that left the range are rows to drop from the outputs: simpler recomputed.
    if not set(previous.get("spine", ())) <= set(spine):
        return None
    names = ("files.json", "index.parquet", "scores.parquet", "analysis.parquet", "placed.parquet")
    if not all(store.exists(state_key(slug, generation, n)) for n in names):
        return None
    return generation


def _versions(store: Store, keys: Sequence[str]) -> dict[str, str]:
    # A copy's key ends in <day>/<time>.json.parquet: list this query's folder, not others'.
    prefixes = {k.rsplit("/", 2)[0] for k in keys}
    listed: dict[str, str] = {}
    for prefix in prefixes:
        listed.update(store.versions(prefix))
    return {k: listed.get(k, "") for k in keys}


def _fresh(copies: Sequence[str], new: set[str], uri: Mapping[str, str]) -> list[str]:
    return [uri[k] for k in copies if k in new]


def _epoch(copy_key: str) -> int:
    start = layout.window_start_from_key(copy_key)
    assert start is not None, copy_key
    return int(start.timestamp())


@contextmanager
def connection(store: Store, scratch: Scratch) -> Iterator[duckdb.DuckDBPyConnection]:
    import duckdb

    scratch.directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | int] = {
        "temp_directory": str(scratch.directory),
        "memory_limit": scratch.memory_limit,
        "preserve_insertion_order": "false",
    }
    if scratch.threads:
        config["threads"] = scratch.threads
    con = duckdb.connect(config=config)
    filesystems.register(con, store)
    con.execute("SET TimeZone = 'UTC'")
    try:
        yield con
    finally:
        con.close()


def _files(uris: Sequence[str]) -> str:
    listed = ", ".join(f"'{_quote(u)}'" for u in uris)
    return f"read_parquet([{listed}], filename = true)"


def _update(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    key: str,
    old: str | None,
    dropped: Sequence[str],
    fresh: Sequence[str],
    select: str,
    schema: pa.Schema,
) -> None:
    """Write ``key``: the rows of ``old`` but those of files ``dropped``, and the rows of the
    files ``fresh`` as ``select`` takes them."""
    parts = []
    if old is not None:
        parts.append(
            f"SELECT * FROM read_parquet('{_quote(old)}') "
            "WHERE copy NOT IN (SELECT UNNEST($dropped::VARCHAR[]))"
        )
    if fresh:
        parts.append(select.replace("$files", _files(fresh)))
    if not parts:  # nothing staged: an empty table of the same columns
        none = schema.empty_table().append_column("filename", pa.array([], pa.string()))
        con.register("no_files", none)
        parts.append(select.replace("$files", "no_files"))
    sql = " UNION ALL BY NAME ".join(parts)
    with store.writing(key) as path:
        params = {"dropped": list(dropped)} if old is not None else None
        con.execute(f"COPY ({sql}) TO '{_quote(path)}' (FORMAT parquet)", params)


def _place(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    keys: Mapping[str, str],
    spine: Sequence[int],
    freq_seconds: int,
) -> None:
    """Write ``rows``, every post row as the job classifies it over the state's index, and
    ``placed``: every placed post's window, row, author and score."""
    import ibis

    inputs = BatchInputs(
        query="",
        slug="",
        freq_seconds=freq_seconds,
        staging_uris=[],
        sentiment_uris=[store.uri(keys["scores"])],
        window_starts=list(spine),
        key_uris=[store.uri(keys["index"])],
    )
    read_inputs(con, inputs)
    ibis_con = ibis.duckdb.from_connection(con)
    t = ibis_con.table
    rows = job.classify(
        t("in_keys"), t("in_scores"), t("in_windows"), t("in_versions"), freq_seconds
    )
    with store.writing(keys["rows"]) as path:
        con.execute(f"COPY ({ibis_con.compile(rows)}) TO '{_quote(path)}' (FORMAT parquet)")
    values = ", ".join(("tweet_id", *_PLACED_VALUES, "author_id"))
    with store.writing(keys["placed"]) as path:
        con.execute(
            f"COPY (SELECT {values} FROM read_parquet('{_quote(store.uri(keys['rows']))}') "
            f"WHERE fate = '{job.PLACED}') TO '{_quote(path)}' (FORMAT parquet)"
        )


def _analyzers(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    keys: Mapping[str, str],
    empty_analyzers: Sequence[str],
) -> list[str]:
    tables = [f"read_parquet('{_quote(store.uri(keys[n]))}')" for n in ("scores", "analysis")]
    sql = " UNION ".join(f"SELECT DISTINCT analyzer FROM {t}" for t in tables)
    found = {str(r[0]) for r in con.execute(sql).fetchall()}
    return sorted(found | set(empty_analyzers))


def _affected(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    keys: Mapping[str, str],
    old: Mapping[str, str],
    dropped: Sequence[str],
    spine: Sequence[int],
    previous: Mapping[str, Any],
    volumes: Mapping[int, int],
) -> list[int]:
    """The windows whose outputs may differ from the last batch's: new windows, those a post
    was placed in or left, those holding posts whose row, score, another analyzer's score or
    author changed, and those whose counted volume changed."""
    placed_old, placed_new = old["placed"], store.uri(keys["placed"])
    index_old, index_new = old["index"], store.uri(keys["index"])
    differs = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in _PLACED_VALUES)
    sql = f"""
    WITH o AS (FROM read_parquet('{_quote(placed_old)}')),
    n AS (FROM read_parquet('{_quote(placed_new)}')),
    moved AS (
        SELECT o.window_epoch AS before, n.window_epoch AS after
        FROM o FULL JOIN n ON o.tweet_id = n.tweet_id
        WHERE o.tweet_id IS NULL OR n.tweet_id IS NULL OR {differs}
    ),
    dropped AS (SELECT UNNEST($dropped::VARCHAR[]) AS copy),
    touched_posts AS (
        SELECT DISTINCT i.file_order FROM read_parquet('{_quote(index_new)}') i
        WHERE i.copy IN (FROM dropped)
        UNION SELECT DISTINCT i.file_order FROM read_parquet('{_quote(index_old)}') i
        WHERE i.copy IN (FROM dropped)
    ),
    rescored AS (
        SELECT tweet_id FROM read_parquet('{_quote(old["analysis"])}')
        WHERE copy IN (FROM dropped)
        UNION SELECT tweet_id FROM read_parquet('{_quote(store.uri(keys["analysis"]))}')
        WHERE copy IN (FROM dropped)
    ),
    {_users_changed(index_old, index_new)}
    SELECT before FROM moved WHERE before IS NOT NULL
    UNION SELECT after FROM moved WHERE after IS NOT NULL
    UNION SELECT file_order FROM touched_posts
    UNION SELECT window_epoch FROM n WHERE file_order IN (FROM touched_posts)
    UNION SELECT window_epoch FROM n WHERE tweet_id IN (FROM rescored)
    UNION SELECT window_epoch FROM n WHERE author_id IN (FROM users_changed)
    """
    found = {int(r[0]) for r in con.execute(sql, {"dropped": list(dropped)}).fetchall()}
    found |= set(spine) - set(previous.get("spine", ()))
    counted = {int(w): v for w, v in previous.get("volumes", ())}
    found |= {w for w in {*counted, *volumes} if counted.get(w) != volumes.get(w)}
    return sorted(found & set(spine))


def _users_changed(index_old: str, index_new: str) -> str:
    """``users_changed``: authors whose latest user object differs, of the files replaced."""
    latest = """
        SELECT id, username, name, verified, location FROM read_parquet('{uri}')
        WHERE kind = 'user' AND id IN (SELECT id FROM touched_users)
        QUALIFY row_number() OVER (PARTITION BY id ORDER BY file_order DESC, position DESC) = 1
    """
    differs = " OR ".join(
        f"a.{c} IS DISTINCT FROM b.{c}" for c in ("username", "name", "verified", "location")
    )
    return f"""
    touched_users AS (
        SELECT id FROM read_parquet('{_quote(index_new)}')
        WHERE kind = 'user' AND copy IN (FROM dropped)
        UNION SELECT id FROM read_parquet('{_quote(index_old)}')
        WHERE kind = 'user' AND copy IN (FROM dropped)
    ),
    a AS ({latest.format(uri=_quote(index_old))}),
    b AS ({latest.format(uri=_quote(index_new))}),
    users_changed AS (
        SELECT coalesce(a.id, b.id) FROM a FULL JOIN b ON a.id = b.id
        WHERE a.id IS NULL OR b.id IS NULL OR {differs}
    )
    """


def _files_of(con: duckdb.DuckDBPyConnection, placed: str, windows: Sequence[int]) -> set[int]:
    """The staged files (by window epoch) the posts placed in ``windows`` come from."""
    rows = con.execute(
        f"SELECT DISTINCT file_order FROM read_parquet('{_quote(placed)}') "
        "WHERE window_epoch IN (SELECT UNNEST($w::BIGINT[]))",
        {"w": list(windows)},
    ).fetchall()
    return {int(r[0]) for r in rows} | set(windows)


def _quote(path: str) -> str:
    return path.replace("'", "''")
