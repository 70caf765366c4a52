"""Amazon Kinesis Data Streams as the stream.

Producing: ``PutRecords`` in batches of at most 500 records and 5 MiB, retrying only the
records a call reports failed, partition key = the message key (so windows spread over shards).
A payload above Kinesis' 1 MiB record limit is stored in the store and replaced by a pointer.

Consuming: Kinesis has no consumer groups, so the consumers of a group share the shards through
leases and checkpoints kept in the configured store (see ``leases``): each shard is read by one
consumer at a time, from its checkpoint, or from TRIM_HORIZON for a new group; a closed shard's
children are read only after the parent is finished, so a split or merge keeps per-key order.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tweetsense import aws, registry
from tweetsense.errors import BadInputError, RetryableError, TweetsenseError
from tweetsense.stream.base import Consumer, Message, Stream
from tweetsense.stream.leases import SHARD_END, Lease, LeaseTable, Observer

if TYPE_CHECKING:
    from tweetsense.registry import Context
    from tweetsense.staging.base import Store

log = logging.getLogger("tweetsense.kinesis")

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
_POINTER = b"\x00tweetsense-claim-check:"


class KinesisStream(Stream):
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        stream_name: str = Field(min_length=1, max_length=128)
        endpoint_url: str | None = Field(default=None, description="Kinesis-compatible server")
        region: str | None = Field(default=None, description="default: the AWS chain's region")
        records_per_call: int = Field(default=1000, ge=1, le=10000, description="GetRecords Limit")
        lease_seconds: float = Field(
            default=20.0,
            gt=0,
            description="a silent consumer's shards are taken over after this long",
        )
        poll_interval: float = Field(default=0.5, gt=0, description="wait between empty reads")
        put_attempts: int = Field(default=8, ge=1)
        checkpoint_prefix: str = Field(default="_stream", description="store folder of leases")

    def __init__(self, settings: KinesisStream.Settings, context: Context):
        self.settings = settings
        self.context = context
        self.client = aws.client(
            "kinesis", endpoint_url=settings.endpoint_url, region=settings.region, max_attempts=3
        )
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = registry.create("storage", self.context)
        return self._store

    def fail(self, exc: Exception, what: str) -> Exception:
        if isinstance(exc, TweetsenseError) or not aws.is_aws_error(exc):
            return exc
        if aws.error_code(exc) == "ResourceNotFoundException":
            return aws.translate(
                exc, "stream.stream_name", f"stream {self.settings.stream_name} ({what})"
            )
        return aws.translate(exc, "stream", f"{what} on stream {self.settings.stream_name}")

    # -- producing ---------------------------------------------------------------------------

    def _claim_key(self, payload: bytes) -> str:
        digest = hashlib.sha256(payload).hexdigest()
        return f"{self.settings.checkpoint_prefix}/{self.settings.stream_name}/payloads/{digest}"

    def _entry(self, key: str, payload: bytes) -> dict[str, Any]:
        pkey = key[:256] or "-"
        if len(payload) + len(pkey.encode()) > MAX_RECORD_BYTES - 1024:
            claim = self._claim_key(payload)
            self.store.put(claim, payload)
            payload = _POINTER + claim.encode()
        return {"PartitionKey": pkey, "Data": payload}

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        batch: list[dict[str, Any]] = []
        size = 0
        for key, payload in messages:
            entry = self._entry(key, payload)
            entry_size = len(entry["Data"]) + len(entry["PartitionKey"].encode())
            if batch and (len(batch) >= MAX_BATCH_RECORDS or size + entry_size > MAX_BATCH_BYTES):
                self._put(batch)
                batch, size = [], 0
            batch.append(entry)
            size += entry_size
        if batch:
            self._put(batch)

    def _put(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        for attempt in range(self.settings.put_attempts):
            try:
                response = self.client.put_records(
                    StreamName=self.settings.stream_name, Records=pending
                )
            except Exception as exc:
                error = self.fail(exc, "PutRecords")
                if (
                    not isinstance(error, RetryableError)
                    or attempt + 1 >= self.settings.put_attempts
                ):
                    raise error from None
                _backoff(attempt)
                continue
            if not response.get("FailedRecordCount"):
                return
            # Only the failed subset goes again; the stored ones keep their sequence numbers.
            results = response["Records"]
            failed = [e for e, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            reasons = {r["ErrorCode"] for r in results if r.get("ErrorCode")}
            log.info(
                "PutRecords: %d of %d failed (%s); retrying them",
                len(failed),
                len(pending),
                ", ".join(sorted(reasons)),
            )
            pending = failed
            _backoff(attempt)
        raise RetryableError(
            f"stream: {len(pending)} records not stored in {self.settings.stream_name} after "
            f"{self.settings.put_attempts} attempts; raise the stream's shard count or retry"
        )

    # -- consuming ---------------------------------------------------------------------------

    def consumer(self, group: str) -> KinesisConsumer:
        return KinesisConsumer(self, group)

    def resolve(self, payload: bytes) -> bytes:
        if not payload.startswith(_POINTER):
            return payload
        key = payload[len(_POINTER) :].decode()
        try:
            return self.store.get(key)
        except KeyError:
            raise BadInputError(f"stream record points at {key}, which is missing") from None

    def shards(self) -> dict[str, dict[str, Any]]:
        shards: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"StreamName": self.settings.stream_name}
        try:
            while True:
                response = self.client.list_shards(**kwargs)
                for shard in response["Shards"]:
                    shards[shard["ShardId"]] = shard
                token = response.get("NextToken")
                if not token:
                    return shards
                kwargs = {"NextToken": token}
        except Exception as exc:
            raise self.fail(exc, "ListShards") from None

    def check(self) -> str:
        try:
            summary = self.client.describe_stream_summary(StreamName=self.settings.stream_name)
        except Exception as exc:
            raise self.fail(exc, "DescribeStreamSummary") from None
        s = summary["StreamDescriptionSummary"]
        if s["StreamStatus"] not in ("ACTIVE", "UPDATING"):
            raise RetryableError(
                f"stream.stream_name: {self.settings.stream_name} is {s['StreamStatus']}; "
                "wait until it is ACTIVE"
            )
        return f"ok: stream {self.settings.stream_name} active, {s['OpenShardCount']} open shards"

    def close(self) -> None:
        self.client.close()


def _backoff(attempt: int, base: float = 0.05, cap: float = 5.0) -> None:
    time.sleep(random.uniform(0, min(cap, base * 2**attempt)))  # full jitter


@dataclass
class _Owned:
    lease: Lease
    iterator: str | None = None
    polled: str | None = None  # sequence number of the last record handed out
    ended: bool = False  # the shard is closed and read to its end
    at_tip: bool = False  # the last read found nothing newer

    @property
    def settled(self) -> bool:
        return self.polled == self.lease.checkpoint or self.polled is None


def _seq(position: str) -> tuple[str, int]:
    shard, _, seq = position.rpartition(":")
    return shard, int(seq)


class KinesisConsumer(Consumer):
    def __init__(self, stream: KinesisStream, group: str):
        self.stream = stream
        self.s = stream.settings
        self.client = stream.client
        self.worker = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        prefix = f"{self.s.checkpoint_prefix}/{self.s.stream_name}/{group}"
        self.table = LeaseTable(stream.store, prefix)
        self.observer = Observer(self.s.lease_seconds)
        self.owned: dict[str, _Owned] = {}
        self._lock = threading.RLock()
        self._beats = 0
        self._refreshed = 0.0
        self._drained = False
        self._closed = threading.Event()
        self._heart = threading.Thread(target=self._heartbeat, daemon=True, name="kinesis-lease")
        self._renew()
        self._heart.start()

    # -- leases ------------------------------------------------------------------------------

    def _heartbeat(self) -> None:
        while not self._closed.wait(self.s.lease_seconds / 4):
            try:
                self._renew()
            except Exception as exc:  # the next beat tries again; a lost lease is noticed there
                log.warning("kinesis lease renewal failed: %s", exc)

    def _renew(self) -> None:
        with self._lock:
            self._beats += 1
            self.table.beat(self.worker, self._beats)
            for shard_id, owned in list(self.owned.items()):
                lease = owned.lease
                lease.counter += 1
                if not self.table.write(lease):
                    log.warning("lost the lease on shard %s to another consumer", shard_id)
                    del self.owned[shard_id]

    def _refresh(self) -> None:
        """Takes free or dead leases up to a fair share, gives back any above it, and decides
        whether the group's part of the stream this consumer can see is drained."""
        with self._lock:
            self._refreshed = time.monotonic()
            shards = self.stream.shards()
            leases = self.table.read_all(sorted(shards))
            beats = self.table.workers()
            for key, version in beats.items():
                self.observer.see(key, version)
            mine = self.table._worker_key(self.worker)
            others = [k for k in beats if k != mine and not self.observer.expired(k)]
            finished = {s for s, lease in leases.items() if lease.finished}

            def ready(shard: dict[str, Any]) -> bool:
                parents = (shard.get("ParentShardId"), shard.get("AdjacentParentShardId"))
                # A parent gone from the listing has aged out of retention: nothing to wait for.
                return all(p is None or p not in shards or p in finished for p in parents)

            eligible = [s for s in sorted(shards) if s not in finished and ready(shards[s])]
            target = math.ceil(len(eligible) / (len(others) + 1)) if eligible else 0
            uncertain = False
            held_by: dict[str, int] = {}
            for shard_id in eligible:
                lease = leases[shard_id]
                self.observer.see(f"lease:{shard_id}", lease.version)
                if shard_id in self.owned or lease.owner is None:
                    continue
                if self.observer.expired(f"lease:{shard_id}"):
                    continue  # dead owner: free to take
                held_by[lease.owner] = held_by.get(lease.owner, 0) + 1
                if not self.observer.known_alive(f"lease:{shard_id}"):
                    uncertain = True
            over = len(self.owned) - target
            for shard_id, owned in list(self.owned.items()):
                if over <= 0:
                    break
                if owned.settled and not owned.ended:
                    owned.lease.owner = None
                    if self.table.write(owned.lease):
                        log.info("gave shard %s back for another consumer", shard_id)
                    del self.owned[shard_id]
                    over -= 1
            for shard_id in eligible:
                if len(self.owned) >= target:
                    break
                lease = leases[shard_id]
                if shard_id in self.owned:
                    continue
                free = lease.owner is None or lease.owner == self.worker
                if not free and not self.observer.expired(f"lease:{shard_id}"):
                    continue
                lease.owner = self.worker
                lease.counter += 1
                if self.table.write(lease):
                    log.info("took shard %s (checkpoint %s)", shard_id, lease.checkpoint)
                    self.owned[shard_id] = _Owned(lease)
            unowned = any(leases[s].owner is None and s not in self.owned for s in eligible)
            crowded = any(n > target for n in held_by.values())
            self._drained = not (uncertain or unowned or crowded) and all(
                o.at_tip or o.ended for o in self.owned.values()
            )

    # -- reading -----------------------------------------------------------------------------

    def _iterator(self, shard_id: str, owned: _Owned) -> str | None:
        after = owned.polled or owned.lease.checkpoint
        kwargs: dict[str, Any] = {"StreamName": self.s.stream_name, "ShardId": shard_id}
        if after:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"  # a new group misses nothing
        try:
            return self.client.get_shard_iterator(**kwargs)["ShardIterator"]
        except Exception as exc:
            raise self.stream.fail(exc, f"GetShardIterator {shard_id}") from None

    def _read(self, shard_id: str, owned: _Owned, limit: int) -> list[Message]:
        if owned.ended:
            return []
        for _ in range(20):  # empty pages with MillisBehindLatest > 0 hide records further on
            if owned.iterator is None:
                owned.iterator = self._iterator(shard_id, owned)
            try:
                response = self.client.get_records(ShardIterator=owned.iterator, Limit=limit)
            except Exception as exc:
                code = aws.error_code(exc)
                if code == "ExpiredIteratorException":
                    owned.iterator = None
                    continue
                if code in ("ProvisionedThroughputExceededException", "KMSThrottlingException"):
                    return []
                raise self.stream.fail(exc, f"GetRecords {shard_id}") from None
            owned.iterator = response.get("NextShardIterator")
            records = response.get("Records", [])
            if owned.iterator is None:
                owned.ended = True
            if records:
                owned.at_tip = False
                owned.polled = records[-1]["SequenceNumber"]
                return [
                    Message(
                        r["PartitionKey"],
                        self.stream.resolve(r["Data"]),
                        f"{shard_id}:{r['SequenceNumber']}",
                    )
                    for r in records
                ]
            if owned.ended or not response.get("MillisBehindLatest"):
                owned.at_tip = True
                return []
        return []

    def poll(self, max_messages: int = 100, timeout: float = 0.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        # Past the caller's timeout, keep waiting while it is unclear whether another consumer
        # still holds part of the stream: returning empty then would read as "drained".
        hard_deadline = deadline + 2 * self.s.lease_seconds
        while True:
            if not self.owned or time.monotonic() - self._refreshed > self.s.lease_seconds / 4:
                self._refresh()
            out: list[Message] = []
            finished = False
            with self._lock:
                for shard_id, owned in list(self.owned.items()):
                    if len(out) >= max_messages:
                        break
                    limit = min(self.s.records_per_call, max_messages - len(out))
                    out.extend(self._read(shard_id, owned, limit))
                    finished = self._finish_if_done(shard_id, owned) or finished
            if out:
                return out
            if finished:
                self._refresh()  # a finished parent may have freed its children
                continue
            now = time.monotonic()
            if now >= deadline:
                self._refresh()
                if self._drained or now >= hard_deadline:
                    return []
            time.sleep(self.s.poll_interval)

    def _finish_if_done(self, shard_id: str, owned: _Owned) -> bool:
        if not (owned.ended and owned.settled):
            return False
        owned.lease.checkpoint = SHARD_END
        owned.lease.owner = None
        if self.table.write(owned.lease):
            log.info("shard %s finished", shard_id)
        self.owned.pop(shard_id, None)
        return True

    def commit(self, messages: Sequence[Message]) -> None:
        latest: dict[str, int] = {}
        for m in messages:
            shard, seq = _seq(m.position)
            latest[shard] = max(seq, latest.get(shard, -1))
        with self._lock:
            for shard_id, seq in latest.items():
                owned = self.owned.get(shard_id)
                if owned is None:
                    continue  # lost the lease: the new owner redoes these, idempotently
                current = owned.lease.checkpoint
                if current not in (None, SHARD_END) and int(current) >= seq:
                    continue
                previous = owned.lease.checkpoint
                owned.lease.checkpoint = str(seq)
                if not self.table.write(owned.lease):
                    owned.lease.checkpoint = previous
                    log.warning("lost the lease on shard %s before committing", shard_id)
                    del self.owned[shard_id]
                    continue
                self._finish_if_done(shard_id, owned)

    def lag(self) -> int | None:
        """Records after the group's checkpoints, counted by reading them (cheap for the few
        thousand window records a search produces; None when the stream cannot be read)."""
        try:
            shards = self.stream.shards()
            leases = self.table.read_all(sorted(shards))
        except TweetsenseError:
            return None
        total = 0
        for shard_id, lease in leases.items():
            if lease.finished:
                continue
            owned = _Owned(Lease(shard_id, checkpoint=lease.checkpoint))
            while not owned.ended and not owned.at_tip:
                total += len(self._read(shard_id, owned, 10000))
        return total

    def close(self) -> None:
        self._closed.set()
        self._heart.join(timeout=5)
        with self._lock:
            for owned in self.owned.values():
                owned.lease.owner = None
                self.table.write(owned.lease)  # keeps the checkpoint; frees the shard now
            self.owned.clear()
            try:
                self.table.leave(self.worker)
            except TweetsenseError as exc:
                log.warning("could not remove the consumer heartbeat: %s", exc)
