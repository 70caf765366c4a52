"""Every stream backend: consumers of one group split the records, and the records a consumer
held when it died are delivered to another consumer."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid

from tweetsense.registry import backend_class, names

# A consumer in its own process: polls, reports what it got, then waits to be killed.
_DYING_CONSUMER = """
import json, sys, time
from pathlib import Path
from tweetsense.config import BackendSection, load_config
from tweetsense.registry import Context, create
name, options, data_dir, group = json.loads(sys.argv[1])
config = load_config(None, demo=True, data_dir=Path(data_dir))
stream = create("stream", Context(config), BackendSection(type=name, **options))
consumer = stream.consumer(group)
got = []
deadline = time.monotonic() + 60
while len(got) < 3 and time.monotonic() < deadline:
    got += consumer.poll(3 - len(got), timeout=1.0)
print(json.dumps([m.payload.decode() for m in got]), flush=True)
time.sleep(600)
"""


def _backend_name(stream) -> str:
    return next(n for n in names("stream") if backend_class("stream", n) is type(stream))


def _fresh_group() -> str:
    """A group no earlier test joined: on Kafka a group's rebalance waits for every member, and
    members that earlier tests killed stay in it until their session times out."""
    return f"g-{uuid.uuid4().hex[:8]}"


def _drain(consumer, want: int, seconds: float) -> list:
    got: list = []
    deadline = time.monotonic() + seconds
    while len(got) < want and time.monotonic() < deadline:
        got += consumer.poll(want - len(got), timeout=0.5)
    return got


def test_two_consumers_of_one_group_split_the_records(stream) -> None:
    stream.publish([(f"q/{i}", str(i).encode()) for i in range(20)])
    group = _fresh_group()
    consumers = [stream.consumer(group), stream.consumer(group)]
    seen: list[list[bytes]] = [[], []]
    deadline = time.monotonic() + 40

    # One thread per consumer, as in separate workers: a group join may wait for every member.
    def work(i: int) -> None:
        while sum(map(len, seen)) < 20 and time.monotonic() < deadline:
            got = consumers[i].poll(5, timeout=0.2)
            consumers[i].commit(got)
            seen[i] += [m.payload for m in got]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen[0] + seen[1], key=int) == [str(i).encode() for i in range(20)]
    assert consumers[0].lag() == 0
    for c in consumers:
        c.close()


def test_records_of_a_killed_consumer_are_taken_over(stream, context) -> None:
    stream.publish([(f"q/{i}", str(i).encode()) for i in range(5)])
    options = stream.settings.model_dump(mode="json")
    group = _fresh_group()
    arg = json.dumps([_backend_name(stream), options, str(context.data_dir), group])
    proc = subprocess.Popen(
        [sys.executable, "-c", _DYING_CONSUMER, arg], stdout=subprocess.PIPE, text=True
    )
    try:
        held = json.loads(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()
    assert len(held) == 3 and set(held) <= {"0", "1", "2", "3", "4"}  # shards interleave keys
    survivor = stream.consumer(group)
    got = _drain(survivor, 5, seconds=30)
    assert sorted(m.payload for m in got) == [b"0", b"1", b"2", b"3", b"4"]
    taken_over = [m for m in got if m.payload.decode() in held]
    # Where the backend counts deliveries, the taken-over records show their second one.
    assert all(m.deliveries in (1, 2) for m in taken_over)
    survivor.commit(got)
    assert survivor.lag() == 0
    survivor.close()
