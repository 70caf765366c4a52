"""Shard leases and checkpoints kept in the store with compare-and-swap writes.

Kinesis has no consumer groups, so consumers of a group coordinate here, one small object per
shard (``<prefix>/<group>/shards/<shard>.json``: owner, renewal counter, checkpoint) and one
heartbeat per live consumer (``<prefix>/<group>/workers/<id>.json``). Every write is
conditional on the version read, so two consumers never both win a shard. Liveness is judged
the way the Kinesis Client Library does it: a lease or heartbeat whose version has not changed
for ``lease_seconds`` of the observer's own clock is dead, so clocks of different machines need
not agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import orjson

from tweetsense.staging.base import Store

SHARD_END = "SHARD_END"


@dataclass
class Lease:
    shard: str
    owner: str | None = None
    counter: int = 0
    checkpoint: str | None = None  # last committed sequence number, or SHARD_END
    version: str | None = field(default=None, compare=False)  # store version; None: not stored

    @property
    def finished(self) -> bool:
        return self.checkpoint == SHARD_END

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "shard": self.shard,
                "owner": self.owner,
                "counter": self.counter,
                "checkpoint": self.checkpoint,
            }
        )

    @classmethod
    def decode(cls, data: bytes, version: str) -> Lease:
        doc = orjson.loads(data)
        return cls(
            doc["shard"],
            doc.get("owner"),
            int(doc.get("counter", 0)),
            doc.get("checkpoint"),
            version,
        )


class Observer:
    """Remembers when each lease or heartbeat version was first seen, to tell dead from live."""

    def __init__(self, lease_seconds: float):
        self.lease_seconds = lease_seconds
        self._seen: dict[str, tuple[str | None, float, bool]] = {}

    def see(self, key: str, version: str | None) -> None:
        now = time.monotonic()
        old = self._seen.get(key)
        if old is None:
            self._seen[key] = (version, now, False)
        elif old[0] != version:
            self._seen[key] = (version, now, True)

    def expired(self, key: str) -> bool:
        old = self._seen.get(key)
        return old is not None and time.monotonic() - old[1] > self.lease_seconds

    def known_alive(self, key: str) -> bool:
        """Seen renewing, and recently: its owner is working."""
        old = self._seen.get(key)
        return old is not None and old[2] and not self.expired(key)


class LeaseTable:
    def __init__(self, store: Store, prefix: str):
        self.store = store
        self.prefix = prefix.rstrip("/")

    def _shard_key(self, shard: str) -> str:
        return f"{self.prefix}/shards/{shard}.json"

    def _worker_key(self, worker: str) -> str:
        return f"{self.prefix}/workers/{worker}.json"

    def read(self, shard: str) -> Lease:
        found = self.store.read_versioned(self._shard_key(shard))
        if found is None:
            return Lease(shard)
        return Lease.decode(*found)

    def read_all(self, shards: list[str]) -> dict[str, Lease]:
        return {s: self.read(s) for s in shards}

    def write(self, lease: Lease) -> bool:
        """Stores ``lease`` if nobody wrote it since it was read; updates its version."""
        version = self.store.put_if(self._shard_key(lease.shard), lease.encode(), lease.version)
        if version is None:
            return False
        lease.version = version
        return True

    def beat(self, worker: str, counter: int) -> None:
        self.store.put(self._worker_key(worker), orjson.dumps({"worker": worker, "n": counter}))

    def workers(self) -> dict[str, str]:
        """Heartbeat key -> a version token (its content changes with every beat)."""
        out = {}
        for key in self.store.list(f"{self.prefix}/workers"):
            try:
                out[key] = self.store.get(key).decode()
            except KeyError:
                continue
        return out

    def leave(self, worker: str) -> None:
        self.store.delete(self._worker_key(worker))
