"""Redis Streams: XADD with an optional MAXLEN cap, consumer groups, XACK after the files are
written, and XAUTOCLAIM of records a dead consumer left pending for ``claim_idle_seconds``.

Every consumer of a group gets its own name, so N workers split the records; a consumer that
closes cleanly marks its unacknowledged records idle at once, so the next poll of any consumer
takes them over without waiting.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tweetsense.errors import BackendUnavailableError, ConfigError
from tweetsense.extras import require
from tweetsense.layout import query_slug
from tweetsense.stream.base import Consumer, Message, Stream

if TYPE_CHECKING:
    from tweetsense.registry import Context

# An idle time far beyond any claim threshold: records handed back are claimable at once.
_HANDED_BACK_IDLE_MS = 10**10


def _unavailable(url: str, exc: Exception) -> BackendUnavailableError:
    return BackendUnavailableError(
        f"stream.url: Redis at {url} failed ({type(exc).__name__}: {exc}); "
        "check the server is running and reachable"
    )


class RedisStream(Stream):
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        url: str = Field(default="redis://127.0.0.1:6379/0", description="redis:// or rediss://")
        password_secret: str | None = Field(
            default=None, description="name of the secret holding the password"
        )
        stream: str | None = Field(default=None, description="default: tweetsense:<query slug>")
        maxlen: int | None = Field(default=None, ge=1, description="cap on retained records")
        approximate_maxlen: bool = Field(default=True, description="MAXLEN ~ (cheaper trims)")
        claim_idle_seconds: float = Field(
            default=60.0, ge=0, description="take over records pending this long elsewhere"
        )
        socket_timeout: float = Field(default=30.0, gt=0)

    def __init__(self, settings: RedisStream.Settings, context: Context):
        redis = require("redis", "redis", "stream.type")

        self.settings = settings
        self.name = settings.stream or f"tweetsense:{query_slug(context.search.query)}"
        password = (
            context.secrets.require(settings.password_secret, "stream (redis)")
            if settings.password_secret
            else None
        )
        try:
            self._client = redis.Redis.from_url(
                settings.url,
                password=password,
                socket_timeout=settings.socket_timeout,
                socket_connect_timeout=settings.socket_timeout,
            )
        except ValueError as exc:
            raise ConfigError(f"stream.url: {exc}; write redis://HOST:PORT/DB") from None

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one client call, turning connection failures into a one-line retryable error."""
        import redis

        try:
            return fn(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise _unavailable(self.settings.url, exc) from None
        except redis.AuthenticationError as exc:
            raise ConfigError(
                f"stream.password_secret: Redis refused the password ({exc}); check the secret"
            ) from None

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if not messages:
            return
        pipe = self._client.pipeline(transaction=False)
        for key, payload in messages:
            pipe.xadd(
                self.name,
                {b"k": key.encode(), b"p": payload},
                maxlen=self.settings.maxlen,
                approximate=self.settings.approximate_maxlen,
            )
        self.call(pipe.execute)

    def consumer(self, group: str) -> RedisConsumer:
        return RedisConsumer(self, group)

    def close(self) -> None:
        self._client.close()


def _message(entry_id: bytes, fields: dict[bytes, bytes], deliveries: int = 1) -> Message:
    return Message(fields[b"k"].decode(), fields[b"p"], entry_id.decode(), deliveries)


class RedisConsumer(Consumer):
    def __init__(self, stream: RedisStream, group: str):
        import redis

        self._stream = stream
        self._client = stream._client
        self._group = group
        self._name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._in_flight: set[str] = set()
        try:
            # From id 0, so records published before the group existed are not skipped.
            stream.call(self._client.xgroup_create, stream.name, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def poll(self, max_messages: int = 100, timeout: float = 0.0) -> list[Message]:
        out = self._claim(max_messages)
        if len(out) < max_messages:
            block = int(timeout * 1000) if not out and timeout > 0 else None
            reply = self._stream.call(
                self._client.xreadgroup,
                self._group,
                self._name,
                {self._stream.name: ">"},
                count=max_messages - len(out),
                block=block,
            )
            for _, entries in reply or ():
                out.extend(_message(i, f) for i, f in entries if f)
        self._in_flight.update(m.position for m in out)
        return out

    def _claim(self, count: int) -> list[Message]:
        """Records another consumer left pending past the idle threshold, with their counts."""
        idle_ms = int(self._stream.settings.claim_idle_seconds * 1000)
        reply = self._stream.call(
            self._client.xautoclaim,
            self._stream.name,
            self._group,
            self._name,
            min_idle_time=idle_ms,
            start_id="0-0",
            count=count,
        )
        entries = [(i, f) for i, f in reply[1] if f and i.decode() not in self._in_flight]
        trimmed = reply[2] if len(reply) > 2 else []
        if trimmed:
            # Trimmed away by MAXLEN while pending: nothing left to deliver.
            self._stream.call(self._client.xack, self._stream.name, self._group, *trimmed)
        if not entries:
            return []
        pending = self._stream.call(
            self._client.xpending_range,
            self._stream.name,
            self._group,
            min=entries[0][0],
            max=entries[-1][0],
            count=len(entries) * 2 + 10,
            consumername=self._name,
        )
        counts = {p["message_id"]: int(p["times_delivered"]) for p in pending}
        return [_message(i, f, counts.get(i, 1)) for i, f in entries]

    def commit(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        ids = [m.position for m in messages]
        self._stream.call(self._client.xack, self._stream.name, self._group, *ids)
        self._in_flight.difference_update(ids)

    def lag(self) -> int | None:
        groups = self._stream.call(self._client.xinfo_groups, self._stream.name)
        for g in groups:
            if g["name"].decode() == self._group:
                undelivered = g.get("lag")
                return None if undelivered is None else int(undelivered) + int(g["pending"])
        return None

    def close(self) -> None:
        if self._in_flight:
            # Best effort: if this fails, the claim idle time hands them over instead.
            with contextlib.suppress(Exception):
                self._client.xclaim(
                    self._stream.name,
                    self._group,
                    self._name,
                    min_idle_time=0,
                    message_ids=sorted(self._in_flight),
                    idle=_HANDED_BACK_IDLE_MS,
                    justid=True,
                )
            self._in_flight.clear()
