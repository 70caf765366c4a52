"""An embedded durable stream in one SQLite file (WAL mode): no server, survives kill -9.

Several consumers of one group (worker processes on this machine) share the records through a
lease table in the same file: a poll leases the oldest records nobody holds, a commit marks its
records done and moves the group's checkpoint past every record done below it. Each consumer
holds an exclusive lock on a small file next to the database for as long as it lives, so when a
consumer dies (even by kill -9) the operating system frees its lock and the next poll of any
consumer takes its leased records over. Delivery stays at-least-once.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from tweetsense import faults
from tweetsense.errors import BackendUnavailableError
from tweetsense.stream.base import Consumer, Message, Stream

if TYPE_CHECKING:
    from tweetsense.registry import Context

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    payload BLOB NOT NULL,
    published_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    grp TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
-- Records above a group's checkpoint that a consumer holds (owner) or has finished (done).
CREATE TABLE IF NOT EXISTS leases (
    grp TEXT NOT NULL,
    seq INTEGER NOT NULL,
    owner TEXT,
    deliveries INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grp, seq)
);
"""


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode keeps every committed transaction across a process crash.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
    except (sqlite3.Error, OSError) as exc:
        raise BackendUnavailableError(
            f"stream.path: cannot open SQLite stream {path} ({exc}); check the folder is writable"
        ) from None
    return conn


class SQLiteStream(Stream):
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        path: str | None = Field(default=None, description="default: <data_dir>/stream.sqlite")
        retention_hours: float | None = Field(default=None, gt=0)
        poll_interval: float = Field(default=0.2, gt=0)

    def __init__(self, settings: SQLiteStream.Settings, context: Context):
        self.path = Path(settings.path) if settings.path else context.data_dir / "stream.sqlite"
        self.settings = settings
        self._conn = _connect(self.path)
        self._lock = threading.Lock()

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if not messages:
            return
        now = time.time()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO messages (key, payload, published_at) VALUES (?, ?, ?)",
                    [(k, p, now) for k, p in messages],
                )
                if self.settings.retention_hours is not None:
                    cutoff = now - self.settings.retention_hours * 3600
                    self._conn.execute("DELETE FROM messages WHERE published_at < ?", (cutoff,))
                faults.point("stream.publish.uncommitted")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def consumer(self, group: str) -> SQLiteConsumer:
        return SQLiteConsumer(self, group)

    def close(self) -> None:
        self._conn.close()


class _Liveness:
    """One lock file per live consumer in ``<stream>.owners/``; a free lock means a dead owner."""

    def __init__(self, db: Path):
        self._dir = db.with_name(db.name + ".owners")
        self._dir.mkdir(parents=True, exist_ok=True)
        self.owner = uuid.uuid4().hex
        self._path = self._dir / f"{self.owner}.lock"
        self._fd: int | None = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def alive(self, owner: str) -> bool:
        if owner == self.owner:
            return True
        path = self._dir / f"{owner}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        path.unlink(missing_ok=True)
        return False

    def release(self) -> None:
        if self._fd is not None:
            self._path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None


class SQLiteConsumer(Consumer):
    def __init__(self, stream: SQLiteStream, group: str):
        self._stream = stream
        self._group = group
        self._conn = _connect(stream.path)
        self._live = _Liveness(stream.path)

    def _checkpoint(self) -> int:
        row = self._conn.execute(
            "SELECT seq FROM checkpoints WHERE grp = ?", (self._group,)
        ).fetchone()
        return int(row[0]) if row else 0

    def _lease(self, max_messages: int) -> list[Message]:
        conn, grp = self._conn, self._group
        conn.execute("BEGIN IMMEDIATE")
        try:
            owners = conn.execute(
                "SELECT DISTINCT owner FROM leases "
                "WHERE grp = ? AND done = 0 AND owner IS NOT NULL",
                (grp,),
            ).fetchall()
            for (owner,) in owners:
                if not self._live.alive(owner):
                    conn.execute(
                        "UPDATE leases SET owner = NULL WHERE grp = ? AND owner = ? AND done = 0",
                        (grp, owner),
                    )
            rows = conn.execute(
                "SELECT m.seq, m.key, m.payload, coalesce(l.deliveries, 0) FROM messages m "
                "LEFT JOIN leases l ON l.grp = ? AND l.seq = m.seq "
                "WHERE m.seq > ? AND (l.seq IS NULL OR (l.done = 0 AND l.owner IS NULL)) "
                "ORDER BY m.seq LIMIT ?",
                (grp, self._checkpoint(), max_messages),
            ).fetchall()
            conn.executemany(
                "INSERT INTO leases (grp, seq, owner, deliveries) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (grp, seq) DO UPDATE SET owner = excluded.owner, "
                "deliveries = deliveries + 1",
                [(grp, r[0], self._live.owner) for r in rows],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return [Message(key, payload, str(seq), n + 1) for seq, key, payload, n in rows]

    def poll(self, max_messages: int = 100, timeout: float = 0.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while True:
            messages = self._lease(max_messages)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(
                min(self._stream.settings.poll_interval, max(0.0, deadline - time.monotonic()))
            )

    def commit(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        conn, grp = self._conn, self._group
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "UPDATE leases SET done = 1, owner = NULL WHERE grp = ? AND seq = ?",
                [(grp, int(m.position)) for m in messages],
            )
            # The checkpoint moves up to just below the oldest record not yet done.
            checkpoint = self._checkpoint()
            first_open = conn.execute(
                "SELECT min(m.seq) FROM messages m LEFT JOIN leases l "
                "ON l.grp = ? AND l.seq = m.seq WHERE m.seq > ? AND coalesce(l.done, 0) = 0",
                (grp, checkpoint),
            ).fetchone()[0]
            if first_open is None:
                top = conn.execute("SELECT max(seq) FROM messages").fetchone()[0]
                new = max(checkpoint, top or 0)
            else:
                new = first_open - 1
            if new > checkpoint:
                conn.execute(
                    "INSERT INTO checkpoints (grp, seq, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (grp) DO UPDATE SET seq = excluded.seq, "
                    "updated_at = excluded.updated_at",
                    (grp, new, time.time()),
                )
                conn.execute("DELETE FROM leases WHERE grp = ? AND seq <= ?", (grp, new))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def lag(self) -> int:
        checkpoint = self._checkpoint()
        waiting = self._conn.execute(
            "SELECT count(*) FROM messages WHERE seq > ?", (checkpoint,)
        ).fetchone()[0]
        done = self._conn.execute(
            "SELECT count(*) FROM leases WHERE grp = ? AND seq > ? AND done = 1",
            (self._group, checkpoint),
        ).fetchone()[0]
        return int(waiting) - int(done)

    def close(self) -> None:
        try:
            # Hand back what this consumer leased but did not finish.
            self._conn.execute(
                "UPDATE leases SET owner = NULL WHERE grp = ? AND owner = ? AND done = 0",
                (self._group, self._live.owner),
            )
        finally:
            self._conn.close()
            self._live.release()
