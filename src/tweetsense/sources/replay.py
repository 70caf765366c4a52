"""Replay saved X API v2 search results from files, so the pipeline can run on collected data.

Accepted inputs, recognised per file and per line without any setting:

* a JSON file holding one search response page, or a JSON array of pages;
* JSONL with one response page per line (``twarc2 search`` output, ``__twarc`` keys allowed);
* JSONL with one post per line and its includes (``twarc2 stream``, ``twarc2 sample``);
* JSONL with one post per line and its author embedded as ``author`` (``twarc2 flatten``);
* tweetsense staging files (``"schema": "tweetsense.staging/1"``);
* CSV exports: plain, twarc-csv, or any other through ``columns`` (see ``replay_csv``);
* any of the above compressed with gzip.

Times may be ISO 8601 or v1.1's "Wed Oct 10 20:19:24 +0000 2018". Files of users or of post
counts, which twarc2 also writes, are refused by name; counts files are read through
``counts_path`` instead, as each window's volume (see ``replay_counts``). A line, row or post
that cannot be read stops the replay, or with ``on_bad_record: skip`` is set aside for ingest to
quarantine.

The files are scanned once, on the first ``fetch_window``, into a throwaway SQLite file in the
system temp directory, keyed by window bucket (``epoch seconds // freq``). A fetch then reads
one window's rows, so memory follows the size of the largest window, not of the whole replay.
"""

from __future__ import annotations

import glob
import itertools
import json
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from tweetsense.contracts import STAGING_SCHEMA
from tweetsense.errors import BadInputError, ConfigError
from tweetsense.sources.base import Page, SetAside, Source
from tweetsense.sources.replay_counts import read_counts
from tweetsense.sources.replay_csv import CsvField, read_rows
from tweetsense.sources.replay_values import BadRecord, open_binary, read_time
from tweetsense.sources.x_counts import Bucket, sum_buckets
from tweetsense.timeutil import Window, format_utc, parse_utc

if TYPE_CHECKING:
    from tweetsense.registry import Context

log = logging.getLogger(__name__)

DIRECTORY_PATTERNS = ("*.json", "*.jsonl", "*.json.gz", "*.jsonl.gz", "*.csv", "*.csv.gz")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_GLOB_CHARS = re.compile(r"[*?\[]")
_BOM = b"\xef\xbb\xbf"
_PAGE_KEYS = frozenset({"data", "includes", "meta", "errors"})
_POST_KEYS = frozenset({"id", "text", "created_at", "author_id"})
_FLAT_ONLY_KEYS = ("author", "__twarc")
_COUNT_KEYS = frozenset({"start", "end", "tweet_count"})
_SKIP_HINT = " (or set source.on_bad_record: skip to set such records aside)"
# Rows are sent to SQLite in batches: one executemany per batch keeps the per-row cost low
# while the batch itself stays a few megabytes at most.
_BATCH_ROWS = 2000
# SQLite's bound-parameter limit is 32766 on current builds but 999 on old ones.
_SQL_IN_CHUNK = 900
_SQLITE_CACHE_KIB = 16 * 1024

_SCHEMA_SQL = """
CREATE TABLE posts (
    bucket INTEGER NOT NULL,
    id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    author_id TEXT,
    seq INTEGER NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (bucket, id)
);
CREATE TABLE users (id TEXT PRIMARY KEY, body BLOB NOT NULL);
"""
_INSERT_POST = """
INSERT INTO posts (bucket, id, ts, author_id, seq, body) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (bucket, id) DO UPDATE SET
    ts = excluded.ts, author_id = excluded.author_id, seq = excluded.seq, body = excluded.body
"""
_INSERT_USER = """
INSERT INTO users (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body
"""
# length(id) before id makes decimal snowflake ids sort as numbers, which is the API's order
# for posts created in the same millisecond.
_SELECT_WINDOW = """
SELECT id, author_id, seq, body FROM posts
WHERE bucket BETWEEN ? AND ? AND ts >= ? AND ts < ?
ORDER BY ts DESC, length(id) DESC, id DESC
LIMIT ?
"""


class ReplaySource(Source):
    """Posts from saved search results, served window by window as X API v2 search pages."""

    name: ClassVar[str] = "replay"
    cpu_bound = True

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")

        path: str = Field(
            min_length=1,
            description="a file, a directory searched recursively, or a glob such as "
            "'archive/**/*.jsonl.gz'; relative paths start at the current directory",
        )
        page_size: int = Field(default=500, ge=1, description="posts per returned page")
        columns: dict[CsvField, str] = Field(
            default_factory=dict,
            description="CSV exports with other column names: our field -> the file's column, "
            "e.g. {id: tweet_id, created_at: date, text: body}",
        )
        counts_path: str | None = Field(
            default=None,
            description="twarc2 counts output (CSV or JSONL; file, directory or glob) giving "
            "each window's true volume",
        )
        on_bad_record: Literal["stop", "skip"] = Field(
            default="stop",
            description="a line, row or post that cannot be read: stop, or set it aside in the "
            "quarantine and go on",
        )

    def __init__(self, settings: Settings, context: Context) -> None:
        self.settings = settings
        self.freq = context.search.freq
        self.files = find_files(settings.path)
        self.count_files = (
            None
            if settings.counts_path is None
            else find_files(settings.counts_path, "source.counts_path")
        )
        self._buckets: list[Bucket] | None = None
        self.skipped = 0  # records set aside by the last index build
        self._set_aside: list[SetAside] = []
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._cleanup: weakref.finalize | None = None

    def fetch_window(self, query: str, window: Window, max_posts: int | None) -> list[Page]:
        # ``query`` is not applied: the files already are the result of a search.
        start_us = _micros(parse_utc(window.start))
        end_us = _micros(parse_utc(window.end))
        if end_us <= start_us or (max_posts is not None and max_posts <= 0):
            return [_empty_page()]
        step = self.freq * 1_000_000
        first_bucket, last_bucket = start_us // step, (end_us - 1) // step
        with self._lock:
            conn = self._index()
            # One bucket holds each id once (its UNIQUE key), so SQL can apply the cap; a window
            # spanning buckets may see an id twice and is capped after removing repeats.
            single = first_bucket == last_bucket
            limit = max_posts if single and max_posts is not None else -1
            rows = conn.execute(
                _SELECT_WINDOW, (first_bucket, last_bucket, start_us, end_us, limit)
            ).fetchall()
            if not single:
                rows = _latest_per_id(rows)[:max_posts]
            authors = {row[1] for row in rows if row[1] is not None}
            users = _select_users(conn, authors)
        return _paginate(rows, users, self.settings.page_size, window)

    def known_empty(self, query: str, windows: list[Window]) -> set[str]:
        """The windows none of whose buckets holds a post: a sparse archive's many empty
        windows are marked done from one query, instead of one query each."""
        with self._lock:
            conn = self._index()
            occupied = {row[0] for row in conn.execute("SELECT DISTINCT bucket FROM posts")}
        step = self.freq * 1_000_000
        empty = set()
        for window in windows:
            start_us, end_us = _micros(window.start), _micros(window.end)
            if end_us <= start_us:
                continue
            first, last = start_us // step, (end_us - 1) // step
            if not any(b in occupied for b in range(first, last + 1)):
                empty.add(window.id)
        return empty

    def volumes(self, query: str, windows: list[Window]) -> dict[str, int] | None:
        """Each window's volume by the counts files; None without ``counts_path``."""
        if self.count_files is None:
            return None
        with self._lock:
            if self._buckets is None:
                self._buckets = read_counts(self.count_files)
        return sum_buckets(self._buckets, windows)

    def set_aside(self) -> list[SetAside]:
        with self._lock:
            taken, self._set_aside = self._set_aside, []
        return taken

    def close(self) -> None:
        with self._lock:
            if self._cleanup is not None:
                self._cleanup()
            self._cleanup = None
            self._conn = None

    # -- indexing -------------------------------------------------------------------------

    def _index(self) -> sqlite3.Connection:
        """The window index, built on first use; the caller holds ``self._lock``."""
        if self._conn is not None:
            return self._conn
        began = time.monotonic()
        workdir = tempfile.mkdtemp(prefix="tweetsense-replay-")
        conn = sqlite3.connect(
            os.path.join(workdir, "index.sqlite3"), check_same_thread=False, isolation_level=None
        )
        cleanup = weakref.finalize(self, _discard, conn, workdir)
        try:
            # The file is rebuilt from the inputs whenever needed, so durability is worthless
            # and a bounded page cache is what keeps memory flat on large replays.
            conn.executescript(
                "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                f" PRAGMA cache_size = -{_SQLITE_CACHE_KIB}; PRAGMA temp_store = FILE;"
                + _SCHEMA_SQL
            )
            conn.execute("BEGIN")
            indexer = _Indexer(conn, self.freq, self.settings)
            for path in self.files:
                indexer.scan_file(path)
            indexer.flush()
            # Built after the load: one sort is far cheaper than maintaining it row by row.
            conn.execute("CREATE INDEX posts_by_time ON posts (bucket, ts)")
            conn.execute("COMMIT")
        except BaseException:
            cleanup()
            raise
        log.info(
            "replay: read %d posts from %d files into the window index in %.1fs; %d records "
            "set aside",
            indexer.seq,
            len(self.files),
            time.monotonic() - began,
            len(indexer.set_aside),
        )
        self.skipped = len(indexer.set_aside)
        self._set_aside.extend(indexer.set_aside)
        self._conn, self._cleanup = conn, cleanup
        return conn


def find_files(path: str, setting: str = "source.path") -> list[Path]:
    """Input files for ``path`` (a file, a directory or a glob), in sorted path order."""
    expanded = os.path.expanduser(path)
    root = Path.cwd()
    target = root / expanded
    if target.is_file():
        return [target]
    if target.is_dir():
        found = _files_under(target)
    elif _GLOB_CHARS.search(expanded):
        matches = (
            glob.glob(expanded, recursive=True)
            if os.path.isabs(expanded)
            else glob.glob(expanded, root_dir=root, recursive=True)
        )
        found = []
        for match in matches:
            hit = root / match
            found.extend(_files_under(hit) if hit.is_dir() else [hit] if hit.is_file() else [])
    else:
        raise ConfigError(
            f"{setting}: {path!r} does not exist; point it at a file, a directory of "
            "saved results or a glob such as 'archive/*.jsonl'"
        )
    if not found:
        raise ConfigError(
            f"{setting}: {path!r} matches no .json, .jsonl, .csv or .gz file; check the "
            "path or glob"
        )
    return sorted(set(found))


def _files_under(directory: Path) -> list[Path]:
    return [p for pattern in DIRECTORY_PATTERNS for p in directory.rglob(pattern) if p.is_file()]


class _Indexer:
    """Streams posts and users from input files into the index tables."""

    def __init__(
        self, conn: sqlite3.Connection, freq: int, settings: ReplaySource.Settings
    ) -> None:
        self.conn = conn
        self.step = freq * 1_000_000
        self.columns: dict[str, str] = dict(settings.columns)
        self.skip = settings.on_bad_record == "skip"
        self.seq = 0
        self.posts: list[tuple[int, str, int, str | None, int, bytes]] = []
        self.users: list[tuple[str, bytes]] = []
        self.set_aside: list[SetAside] = []

    def flush(self) -> None:
        if self.users:
            self.conn.executemany(_INSERT_USER, self.users)
            self.users.clear()
        if self.posts:
            self.conn.executemany(_INSERT_POST, self.posts)
            self.posts.clear()

    def scan_file(self, path: Path) -> None:
        try:
            with open_binary(path) as stream:
                name = path.name.lower().removesuffix(".gz")
                if name.endswith(".csv"):
                    self._scan_csv(path, stream)
                else:
                    self._scan_json(path, stream)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInputError(
                f"{path}: cannot be read ({exc}); check that the file is complete and readable"
            ) from None

    def _bad(self, exc: BadRecord, path: Path, line: int, where: str, payload: Any) -> None:
        """Sets the record aside with ``skip``; stops the replay otherwise."""
        if not self.skip:
            # Not a BadRecord any more: the record holding this one must not catch it again.
            raise BadInputError(f"{exc}{_SKIP_HINT}") from None
        name = f"replay-{path.name[:60]}-{zlib.crc32(str(path).encode()):08x}-{line}"
        self.set_aside.append(SetAside(f"{name}-{where}" if where else name, payload, str(exc)))

    # -- JSON and JSONL ---------------------------------------------------------------------

    def _scan_json(self, path: Path, stream: IO[bytes]) -> None:
        head: list[bytes] = []
        for raw in stream:
            head.append(raw.removeprefix(_BOM) if not head else raw)
            if raw.strip():
                break
        if not head or not head[-1].strip():
            return
        first_line = len(head)
        try:
            _loads(head[-1])
        except ValueError:
            # Not one value per line: a pretty-printed document, read whole (such files are one
            # page or one staging window, not an archive).
            self._scan_document(path, b"".join(head), first_line, stream.read())
            return
        for lineno, raw in enumerate(itertools.chain([head[-1]], stream), start=first_line):
            self._scan_line(path, lineno, raw)

    def _scan_line(self, path: Path, lineno: int, raw: bytes) -> None:
        if not raw.strip():
            return
        try:
            try:
                value = _loads(raw)
            except ValueError as exc:
                raise BadRecord(
                    f"{path}:{lineno}: malformed JSON ({_reason(exc)}); fix or delete that line"
                ) from None
            self._scan_value(value, path, lineno, "", top=True)
        except BadRecord as exc:
            self._bad(exc, path, lineno, "", raw)

    def _scan_document(self, path: Path, head: bytes, first_line: int, rest: bytes) -> None:
        data = head + rest
        try:
            doc = _loads(data)
        except ValueError as exc:
            # A broken first line of a JSONL file also lands here; when the next line stands on
            # its own, the first line is the one to blame, not wherever the whole-file parse
            # happened to stop.
            if _next_line_is_value(rest):
                lines = [head.splitlines(keepends=True)[-1], *rest.splitlines(keepends=True)]
                for lineno, raw in enumerate(lines, start=first_line):
                    self._scan_line(path, lineno, raw)
                return
            line = getattr(exc, "lineno", first_line)
            bad = BadRecord(
                f"{path}:{line}: malformed JSON ({_reason(exc)}); fix the file or re-export it"
            )
            self._bad(bad, path, line, "", data)
            return
        try:
            self._scan_value(doc, path, first_line, "", top=True)
        except BadRecord as exc:
            self._bad(exc, path, first_line, "", data)

    def _scan_value(self, value: Any, path: Path, line: int, where: str, *, top: bool) -> None:
        if isinstance(value, list) and top:
            for i, item in enumerate(value):
                self._scan_value(item, path, line, f"{where}[{i}]", top=True)
            return
        if not isinstance(value, dict):
            raise BadRecord(
                f"{path}:{line}: {where or 'value'} is {type(value).__name__}, not an object; "
                "expected X API v2 search pages, posts or tweetsense staging files"
            )
        if "schema" in value and top:
            self._scan_staging(value, path, line, where)
        elif _PAGE_KEYS & value.keys():
            self._scan_page(value, path, line, where)
        elif top and (_POST_KEYS & value.keys() or value.keys() >= _COUNT_KEYS):
            _refuse_other_data(value, path, line)
            self._add_flat_post(value, path, line, where)
        else:
            raise BadRecord(
                f"{path}:{line}: {where or 'object'} is neither an X API v2 search page, a post "
                "nor a tweetsense staging file; remove it or point source.path elsewhere"
            )

    def _scan_staging(self, doc: dict[str, Any], path: Path, line: int, where: str) -> None:
        schema = doc["schema"]
        if schema != STAGING_SCHEMA:
            raise BadInputError(
                f"{path}:{line}: {_at(where)}schema is {schema!r}, not {STAGING_SCHEMA}; point "
                "source.path at staging files or saved search results only"
            )
        pages = doc.get("pages")
        if not isinstance(pages, list):
            raise BadInputError(
                f"{path}:{line}: {_at(where)}field pages is missing or not a list; the staging "
                "file is damaged, restage that window"
            )
        for i, page in enumerate(pages):
            self._scan_value(page, path, line, f"{_dot(where)}pages[{i}]", top=False)

    def _scan_page(self, page: dict[str, Any], path: Path, line: int, where: str) -> None:
        posts = page.get("data")
        if isinstance(posts, dict):
            # Filtered stream and sample output: one post per line, with its own includes.
            items = [(f"{_dot(where)}data", posts)]
        elif isinstance(posts, list):
            items = [(f"{_dot(where)}data[{i}]", post) for i, post in enumerate(posts)]
        elif posts is None:
            items = []
        else:
            raise BadRecord(
                f"{path}:{line}: {_at(where)}field data is {type(posts).__name__}, not a list "
                "of posts; re-export the page"
            )
        for _, post in items:
            if isinstance(post, dict):
                _refuse_other_data(post, path, line)
        includes = page.get("includes") or {}
        users = includes.get("users") if isinstance(includes, dict) else None
        for user in users or ():
            if isinstance(user, dict) and user.get("id") is not None:
                self._add_user(user)
        for place, post in items:
            try:
                if not isinstance(post, dict):
                    raise BadRecord(
                        f"{path}:{line}: {place} is {type(post).__name__}, not a post object; "
                        "re-export the page"
                    )
                self._add_post(post, path, line, place)
            except BadRecord as exc:
                self._bad(exc, path, line, place, post)

    def _add_flat_post(self, post: dict[str, Any], path: Path, line: int, where: str) -> None:
        author = post.get("author")
        for key in _FLAT_ONLY_KEYS:
            post.pop(key, None)
        if isinstance(author, dict) and author.get("id") is not None:
            # Without author_id the page's users could not be joined to the post.
            post.setdefault("author_id", author["id"])
            self._add_user(author)
        self._add_post(post, path, line, where)

    # -- CSV --------------------------------------------------------------------------------

    def _scan_csv(self, path: Path, stream: IO[bytes]) -> None:
        for layout, line, row in read_rows(path, stream, self.columns):
            try:
                post, user = layout.read(row, f"{path}:{line}: ")
                if user is not None:
                    self._add_user(user)
                self._add_post(post, path, line, "")
            except BadRecord as exc:
                self._bad(exc, path, line, "", layout.payload(row))

    # -- rows -------------------------------------------------------------------------------

    def _add_user(self, user: dict[str, Any]) -> None:
        self.users.append((str(user["id"]), _dumps(user)))
        if len(self.users) >= _BATCH_ROWS:
            self.flush()

    def _add_post(self, post: dict[str, Any], path: Path, line: int, where: str) -> None:
        post_id = post.get("id")
        if isinstance(post_id, bool) or not isinstance(post_id, str | int) or post_id == "":
            raise BadRecord(
                f"{path}:{line}: {_at(where)}field id is missing or not a string; every post "
                "needs its id, fix or delete it"
            )
        created = post.get("created_at")
        if not isinstance(created, str) or not created.strip():
            raise BadRecord(
                f"{path}:{line}: {_at(where)}field created_at is missing; collect with "
                "tweet.fields=created_at or fix the record"
            )
        when, iso = read_time(created, f"{path}:{line}: ", f"{_dot(where)}created_at")
        if not iso:
            # Later stages read the API's own spelling only.
            post["created_at"] = format_utc(when)
        ts = _micros(when)
        author = post.get("author_id")
        self.seq += 1
        self.posts.append(
            (
                ts // self.step,
                str(post_id),
                ts,
                None if author is None else str(author),
                self.seq,
                _dumps(post),
            )
        )
        if len(self.posts) >= _BATCH_ROWS:
            self.flush()


def _refuse_other_data(item: dict[str, Any], path: Path, line: int) -> None:
    """Stops at the other files twarc2 writes, whose objects would read as posts without
    text or time."""
    if item.keys() >= _COUNT_KEYS:
        raise BadInputError(
            f"{path}:{line}: a counts file (post volumes per bucket), not posts; point "
            "source.path at posts (twarc2 search, stream or sample output) and give counts "
            "as source.counts_path"
        )
    if "username" in item and "text" not in item:
        raise BadInputError(
            f"{path}:{line}: a users file (user profiles, as twarc2 users writes), not posts; "
            "point source.path at posts (twarc2 search, stream or sample output)"
        )


# -- pages ----------------------------------------------------------------------------------


def _empty_page() -> Page:
    return {"meta": {"result_count": 0}}


def _latest_per_id(rows: list[Any]) -> list[Any]:
    """Rows with each id once (the last one read), keeping the newest-first order."""
    latest: dict[str, int] = {}
    for row in rows:
        if row[2] > latest.get(row[0], -1):
            latest[row[0]] = row[2]
    return [row for row in rows if latest[row[0]] == row[2]]


def _select_users(conn: sqlite3.Connection, ids: set[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    wanted = sorted(ids)
    for i in range(0, len(wanted), _SQL_IN_CHUNK):
        chunk = wanted[i : i + _SQL_IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(conn.execute(f"SELECT id, body FROM users WHERE id IN ({marks})", chunk))
    return found


def _paginate(rows: list[Any], users: dict[str, bytes], size: int, window: Window) -> list[Page]:
    if not rows:
        return [_empty_page()]
    pages: list[Page] = []
    for number, first in enumerate(range(0, len(rows), size), start=1):
        chunk = rows[first : first + size]
        # Each page decodes its own user objects, so pages never share (and never mutate
        # each other's) dicts.
        authors = dict.fromkeys(row[1] for row in chunk if row[1] in users)
        meta: dict[str, Any] = {
            "result_count": len(chunk),
            "newest_id": chunk[0][0],
            "oldest_id": chunk[-1][0],
        }
        if first + size < len(rows):
            meta["next_token"] = f"replay-{window.id}-{number + 1}"
        pages.append(
            {
                "data": [_loads(row[3]) for row in chunk],
                "includes": {"users": [_loads(users[a]) for a in authors]},
                "meta": meta,
            }
        )
    return pages


# -- helpers --------------------------------------------------------------------------------


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # orjson refuses lone surrogates, NaN and integers beyond 64 bits, all of which occur
        # in real exports; the standard library reads them.
        try:
            return json.loads(data)
        except ValueError:
            raise exc from None


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, separators=(",", ":")).encode()


def _reason(exc: ValueError) -> str:
    return getattr(exc, "msg", None) or str(exc)


def _next_line_is_value(rest: bytes) -> bool:
    for raw in rest.splitlines():
        if raw.strip():
            try:
                return isinstance(_loads(raw), dict | list)
            except ValueError:
                return False
    return False


def _micros(dt: datetime) -> int:
    return (dt - _EPOCH) // _MICROSECOND


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def _dot(where: str) -> str:
    return f"{where}." if where else ""


def _discard(conn: sqlite3.Connection, workdir: str) -> None:
    conn.close()
    shutil.rmtree(workdir, ignore_errors=True)
