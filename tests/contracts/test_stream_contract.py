"""Every stream backend: durable, ordered per key, at-least-once with committed checkpoints.

Order is only promised per key: a backend with partitions (Kinesis shards) interleaves keys.
"""

from __future__ import annotations


def _payloads(messages) -> list[bytes]:
    return [m.payload for m in messages]


def test_new_group_starts_at_the_oldest_record(stream) -> None:
    stream.publish([("q/1", b"one"), ("q/2", b"two")])
    consumer = stream.consumer("g")
    assert sorted(_payloads(consumer.poll(10))) == [b"one", b"two"]
    assert consumer.poll(10) == []
    consumer.close()


def test_uncommitted_records_are_delivered_again(stream) -> None:
    stream.publish([(f"q/{i}", str(i).encode()) for i in range(5)])
    first = stream.consumer("g")
    got = first.poll(3)
    first.commit(got[:2])
    first.close()  # dies before committing the third
    second = stream.consumer("g")
    rest = sorted({str(i).encode() for i in range(5)} - set(_payloads(got[:2])))
    assert sorted(_payloads(second.poll(10))) == rest
    second.close()


def test_groups_are_independent_and_lag_counts_uncommitted(stream) -> None:
    stream.publish([("k", b"a"), ("k", b"b")])
    a, b = stream.consumer("a"), stream.consumer("b")
    a.commit(a.poll(10))
    assert a.lag() == 0
    assert b.lag() == 2
    assert _payloads(b.poll(10)) == [b"a", b"b"]
    a.close()
    b.close()


def test_poll_waits_for_records_published_later(stream) -> None:
    consumer = stream.consumer("g")
    assert consumer.poll(10, timeout=0.0) == []
    stream.publish([("k", b"late")])
    assert _payloads(consumer.poll(10, timeout=2.0)) == [b"late"]
    consumer.close()


def test_binary_and_large_payloads_round_trip(stream) -> None:
    big = bytes(range(256)) * 4096
    stream.publish([("k", big)])
    consumer = stream.consumer("g")
    assert consumer.poll(1)[0].payload == big
    consumer.close()


def test_order_is_kept_per_key(stream) -> None:
    stream.publish([(f"key{i % 3}", f"{i % 3}:{i}".encode()) for i in range(30)])
    consumer = stream.consumer("g")
    got = []
    while batch := consumer.poll(7):
        got.extend(batch)
        consumer.commit(batch)
    assert len(got) == 30
    for k in range(3):
        mine = [int(m.payload.split(b":")[1]) for m in got if m.key == f"key{k}"]
        assert mine == sorted(mine) and len(mine) == 10
    consumer.close()
