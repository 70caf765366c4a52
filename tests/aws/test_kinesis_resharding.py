"""Kinesis resharding on kinesalite: after a split and after a merge, a consumer group reads
every record once, a parent shard to its end before any of its children, and each child in
order."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import boto3
import pytest

from tweetsense.config import BackendSection
from tweetsense.registry import Context, create
from tweetsense.stream.base import Message

GROUP = "resharding"


@pytest.fixture
def kinesis(
    context: Context, kinesalite_endpoint: str, make_kinesis_stream: Callable[[int], str]
) -> Iterator[tuple]:
    name = make_kinesis_stream(1)
    options = {
        "stream_name": name,
        "endpoint_url": kinesalite_endpoint,
        "lease_seconds": 1.0,
        "poll_interval": 0.05,
    }
    stream = create("stream", context, BackendSection(type="kinesis", **options))
    client = boto3.client("kinesis", endpoint_url=kinesalite_endpoint, region_name="us-east-1")
    yield stream, client, name
    stream.close()


def _publish(stream, numbers: range) -> None:
    stream.publish([(f"key-{i}", str(i).encode()) for i in numbers])


def _wait_active(client, name: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        summary = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.02)
    raise TimeoutError(f"{name} did not become ACTIVE again")


def _open_shards(client, name: str) -> list[dict]:
    shards = client.list_shards(StreamName=name)["Shards"]
    return [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]


def _consume_all(consumer, want: int) -> list[Message]:
    """Polls and commits like the consume stage until ``want`` records, then one empty poll."""
    got: list[Message] = []
    deadline = time.monotonic() + 30
    while len(got) < want and time.monotonic() < deadline:
        batch = consumer.poll(4, timeout=0.5)
        consumer.commit(batch)
        got += batch
    # Nothing more arrives once every record was read.
    assert consumer.poll(10, timeout=0.3) == []
    return got


def _shard(message: Message) -> str:
    return message.position.rpartition(":")[0]


def test_a_split_then_a_merge_lose_and_repeat_nothing(kinesis) -> None:
    stream, client, name = kinesis
    [parent] = _open_shards(client, name)
    _publish(stream, range(10))
    consumer = stream.consumer(GROUP)
    first = consumer.poll(4, timeout=2.0)
    consumer.commit(first)
    assert [int(m.payload) for m in first] == [0, 1, 2, 3]

    # Split while the parent still holds six unread records; new records go to the children.
    client.split_shard(
        StreamName=name, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(2**127)
    )
    _wait_active(client, name)
    children = _open_shards(client, name)
    assert len(children) == 2
    _publish(stream, range(10, 40))
    # A second member joins: it may take a child only once the first has finished the parent.
    second = stream.consumer(GROUP)
    assert second.poll(4, timeout=0.2) == []  # the first member still holds the parent
    rest: list[Message] = []
    lock = threading.Lock()

    def work(member) -> None:
        deadline = time.monotonic() + 30
        while len(rest) < 36 and time.monotonic() < deadline:
            batch = member.poll(4, timeout=0.3)
            with lock:
                rest.extend(batch)  # in the order received, before the commit
            member.commit(batch)

    threads = [threading.Thread(target=work, args=(m,)) for m in (consumer, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = [int(m.payload) for m in rest]
    assert sorted(numbers) == list(range(4, 40))  # each record once
    assert numbers[:6] == [4, 5, 6, 7, 8, 9]  # the parent to its end, before any child
    child_ids = {c["ShardId"] for c in children}
    assert {_shard(m) for m in rest[6:]} == child_ids  # both children were read
    for child in child_ids:
        in_child = [int(m.payload) for m in rest if _shard(m) == child]
        assert in_child == sorted(in_child)
    consumer.close()
    second.close()

    # Merge the two children back into one shard; a new member of the same group resumes.
    a, b = sorted(children, key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))
    client.merge_shards(
        StreamName=name, ShardToMerge=a["ShardId"], AdjacentShardToMerge=b["ShardId"]
    )
    _wait_active(client, name)
    [merged] = _open_shards(client, name)
    _publish(stream, range(40, 50))
    resumed = stream.consumer(GROUP)
    after = _consume_all(resumed, 10)
    assert [int(m.payload) for m in after] == list(range(40, 50))  # nothing read twice
    assert {_shard(m) for m in after} == {merged["ShardId"]}
    assert resumed.lag() == 0
    resumed.close()
