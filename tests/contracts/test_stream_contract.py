"""Every stream backend: durable, ordered per key, at-least-once with committed checkpoints."""

from __future__ import annotations


def _payloads(messages) -> list[bytes]:
    return [m.payload for m in messages]


def test_new_group_starts_at_the_oldest_record(stream) -> None:
    stream.publish([("q/1", b"one"), ("q/2", b"two")])
    consumer = stream.consumer("g")
    assert _payloads(consumer.poll(10)) == [b"one", b"two"]
    assert consumer.poll(10) == []
    consumer.close()


def test_uncommitted_records_are_delivered_again(stream) -> None:
    stream.publish([(f"q/{i}", str(i).encode()) for i in range(5)])
    first = stream.consumer("g")
    got = first.poll(3)
    first.commit(got[:2])
    first.close()  # dies before committing the third
    second = stream.consumer("g")
    assert _payloads(second.poll(10)) == [b"2", b"3", b"4"]
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
