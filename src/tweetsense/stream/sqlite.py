"""An embedded durable stream in one SQLite file (WAL mode): no server, survives kill -9."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

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
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def consumer(self, group: str) -> SQLiteConsumer:
        return SQLiteConsumer(self, group)

    def close(self) -> None:
        self._conn.close()


class SQLiteConsumer(Consumer):
    def __init__(self, stream: SQLiteStream, group: str):
        self._stream = stream
        self._group = group
        self._conn = _connect(stream.path)
        row = self._conn.execute("SELECT seq FROM checkpoints WHERE grp = ?", (group,)).fetchone()
        self._committed = row[0] if row else 0
        self._polled = self._committed

    def poll(self, max_messages: int = 100, timeout: float = 0.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self._conn.execute(
                "SELECT seq, key, payload FROM messages WHERE seq > ? ORDER BY seq LIMIT ?",
                (self._polled, max_messages),
            ).fetchall()
            if rows or time.monotonic() >= deadline:
                break
            time.sleep(
                min(self._stream.settings.poll_interval, max(0.0, deadline - time.monotonic()))
            )
        if rows:
            self._polled = rows[-1][0]
        return [Message(key, payload, str(seq)) for seq, key, payload in rows]

    def commit(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        seq = max(int(m.position) for m in messages)
        if seq <= self._committed:
            return
        self._conn.execute(
            "INSERT INTO checkpoints (grp, seq, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (grp) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
            (self._group, seq, time.time()),
        )
        self._committed = seq

    def lag(self) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM messages WHERE seq > ?", (self._committed,)
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._conn.close()
