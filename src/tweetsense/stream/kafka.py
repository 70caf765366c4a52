"""Kafka (confluent-kafka): one topic per query, or a configured one.

The producer is idempotent (``acks=all``) and every delivery report is checked before
``publish`` returns. Consumers join a group with auto-commit off; ``commit`` stores offsets
synchronously after the sentiment files are written, and only for partitions the consumer still
owns: records of a partition taken away in a rebalance are delivered again to its new owner,
which rewrites the same files (at-least-once). Records are keyed by window, so one window always
lands on the same partition; N workers split the partitions between them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tweetsense.errors import BackendUnavailableError
from tweetsense.extras import require
from tweetsense.layout import query_slug
from tweetsense.stream.base import Consumer, Message, Stream

if TYPE_CHECKING:
    from tweetsense.registry import Context

log = logging.getLogger(__name__)
# How long an empty poll keeps fetching while the broker still holds records for us.
_BACKLOG_WAIT = 10.0


class KafkaStream(Stream):
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        bootstrap_servers: str = "127.0.0.1:9092"
        topic: str | None = Field(default=None, description="default: tweetsense.<query slug>")
        partitions: int = Field(default=4, ge=1, description="when the topic is created")
        replication_factor: int = Field(default=1, ge=1, description="when the topic is created")
        create_topic: bool = True
        max_message_bytes: int = Field(
            default=16 * 1024 * 1024, ge=1024, description="largest record (a whole window)"
        )
        session_timeout_ms: int = Field(default=10000, ge=1000)
        join_timeout: float = Field(default=60.0, gt=0, description="wait for partitions")
        timeout: float = Field(default=30.0, gt=0, description="broker requests and flushes")
        client: dict[str, str | int | float | bool] = Field(
            default_factory=dict, description="extra librdkafka properties (no secrets)"
        )
        password_secret: str | None = Field(
            default=None, description="name of the secret holding sasl.password"
        )

        @field_validator("client")
        @classmethod
        def _no_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
            for key in value:
                if "password" in key or "secret" in key:
                    raise ValueError(f"{key} is a secret; name it in password_secret instead")
            return value

    def __init__(self, settings: KafkaStream.Settings, context: Context):
        self._ck = require("confluent_kafka", "kafka", "stream.type")
        self.settings = settings
        self.topic = settings.topic or f"tweetsense.{query_slug(context.search.query)}"
        self.base: dict[str, Any] = {
            "bootstrap.servers": settings.bootstrap_servers,
            **settings.client,
        }
        if settings.password_secret:
            self.base["sasl.password"] = context.secrets.require(
                settings.password_secret, "stream (kafka)"
            )
        self._producer: Any = None
        self._topic_checked = False

    def unavailable(self, what: str, detail: object) -> BackendUnavailableError:
        return BackendUnavailableError(
            f"stream.bootstrap_servers: Kafka at {self.settings.bootstrap_servers} {what} "
            f"({detail}); check the brokers are reachable"
        )

    def ensure_topic(self) -> None:
        if self._topic_checked or not self.settings.create_topic:
            return
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(self.base)
        new = NewTopic(
            self.topic,
            self.settings.partitions,
            self.settings.replication_factor,
            config={"max.message.bytes": str(self.settings.max_message_bytes)},
        )
        future = admin.create_topics([new], request_timeout=self.settings.timeout)[self.topic]
        try:
            future.result(timeout=self.settings.timeout)
        except self._ck.KafkaException as exc:
            if exc.args[0].code() != self._ck.KafkaError.TOPIC_ALREADY_EXISTS:
                raise self.unavailable(f"cannot create topic {self.topic}", exc.args[0]) from None
        except TimeoutError:
            raise self.unavailable("did not answer", "topic creation timed out") from None
        self._topic_checked = True

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if not messages:
            return
        self.ensure_topic()
        if self._producer is None:
            self._producer = self._ck.Producer(
                {
                    **self.base,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "message.max.bytes": self.settings.max_message_bytes,
                }
            )
        failures: list[Any] = []

        def report(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(err)

        for key, payload in messages:
            while True:
                try:
                    self._producer.produce(self.topic, payload, key.encode(), on_delivery=report)
                    break
                except BufferError:
                    self._producer.poll(0.5)  # the local queue is full: let deliveries drain
                except self._ck.KafkaException as exc:
                    raise self.unavailable(f"refused record {key}", exc.args[0].str()) from None
        left = self._producer.flush(self.settings.timeout)
        if failures:
            raise self.unavailable(f"refused {len(failures)} records", failures[0].str())
        if left:
            raise self.unavailable("did not confirm", f"{left} records unconfirmed")

    def consumer(self, group: str) -> KafkaConsumer:
        return KafkaConsumer(self, group)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(self.settings.timeout)
            self._producer = None


class KafkaConsumer(Consumer):
    def __init__(self, stream: KafkaStream, group: str):
        self._stream = stream
        self._ck = stream._ck
        s = stream.settings
        self._consumer = self._ck.Consumer(
            {
                **stream.base,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": s.session_timeout_ms,
                "enable.partition.eof": False,
            }
        )
        self._subscribed = False
        self._assigned: set[int] = set()

    def _on_assign(self, _consumer: Any, partitions: list[Any]) -> None:
        self._assigned.update(p.partition for p in partitions)

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        self._assigned.difference_update(p.partition for p in partitions)

    def _subscribe(self) -> None:
        # Joining only on the first poll keeps `lag()` (e.g. from `status`) out of the group.
        if not self._subscribed:
            self._stream.ensure_topic()
            self._consumer.subscribe(
                [self._stream.topic],
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_revoke,
            )
            self._subscribed = True

    def _backlog(self) -> bool:
        """Whether an assigned partition holds records this consumer has not fetched yet."""
        TopicPartition = self._ck.TopicPartition
        tps = [TopicPartition(self._stream.topic, p) for p in sorted(self._assigned)]
        if not tps:
            return False
        positions = self._consumer.position(tps)
        committed = None
        for tp in positions:
            low, high = self._consumer.get_watermark_offsets(
                TopicPartition(tp.topic, tp.partition), timeout=self._stream.settings.timeout
            )
            offset = tp.offset
            if offset < 0:
                if committed is None:
                    committed = {
                        c.partition: c.offset
                        for c in self._consumer.committed(
                            tps, timeout=self._stream.settings.timeout
                        )
                    }
                offset = committed.get(tp.partition, -1)
                offset = offset if offset >= 0 else low
            if high > offset:
                return True
        return False

    def poll(self, max_messages: int = 100, timeout: float = 0.0) -> list[Message]:
        self._subscribe()
        start = time.monotonic()
        join_by = start + self._stream.settings.join_timeout
        out: list[Message] = []
        while True:
            # Short slices until partitions are assigned and while records are known to wait.
            joined = bool(self._assigned)
            step = 0.1 if not joined else max(0.0, min(0.5, start + timeout - time.monotonic()))
            for msg in self._consumer.consume(max_messages - len(out), timeout=step):
                err = msg.error()
                if err is not None:
                    if err.fatal():
                        raise self._stream.unavailable("failed", err.str())
                    log.warning("kafka consumer: %s", err.str())
                    continue
                key = msg.key()
                out.append(
                    Message(
                        key.decode() if key else "",
                        msg.value() or b"",
                        f"{msg.partition()}:{msg.offset()}",
                    )
                )
            now = time.monotonic()
            if out or len(out) >= max_messages:
                return out
            if not joined:
                if now > join_by:
                    return out
                continue
            if now < start + timeout:
                continue
            if now > start + timeout + _BACKLOG_WAIT or not self._backlog():
                return out

    def commit(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        TopicPartition = self._ck.TopicPartition
        upto: dict[int, int] = {}
        for m in messages:
            partition, _, offset = m.position.partition(":")
            p, o = int(partition), int(offset)
            upto[p] = max(upto.get(p, -1), o + 1)
        owned = [
            TopicPartition(self._stream.topic, p, o) for p, o in upto.items() if p in self._assigned
        ]
        if len(owned) < len(upto):
            log.info(
                "kafka: %d partitions moved away; their new owner redoes the records",
                len(upto) - len(owned),
            )
        if not owned:
            return
        try:
            self._consumer.commit(offsets=owned, asynchronous=False)
        except self._ck.KafkaException as exc:
            err = exc.args[0]
            codes = self._ck.KafkaError
            if err.code() in (
                codes.REBALANCE_IN_PROGRESS,
                codes.ILLEGAL_GENERATION,
                codes.UNKNOWN_MEMBER_ID,
            ):
                log.info(
                    "kafka: commit during a rebalance (%s); the records will be redone", err.str()
                )
                return
            raise self._stream.unavailable("refused a commit", err.str()) from None

    def lag(self) -> int | None:
        TopicPartition = self._ck.TopicPartition
        timeout = self._stream.settings.timeout
        try:
            meta = self._consumer.list_topics(self._stream.topic, timeout=timeout)
            topic = meta.topics.get(self._stream.topic)
            if topic is None:
                return 0  # nothing was ever published
            if topic.error is not None:
                # A partition without a leader yet, say: unknown, which is not "nothing left".
                raise self._stream.unavailable("did not describe its topic", topic.error.str())
            tps = [TopicPartition(self._stream.topic, p) for p in topic.partitions]
            committed = self._consumer.committed(tps, timeout=timeout)
            total = 0
            for tp in committed:
                low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(tp.topic, tp.partition), timeout=timeout, cached=False
                )
                total += high - (tp.offset if tp.offset >= 0 else low)
            return total
        except self._ck.KafkaException as exc:
            raise self._stream.unavailable("did not answer", exc.args[0].str()) from None

    def close(self) -> None:
        self._consumer.close()
