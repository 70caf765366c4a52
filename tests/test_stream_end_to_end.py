"""The pipeline end to end on Kafka and Redis Streams: synthetic ingest -> stream -> two
concurrent `tweetsense consume` processes -> batch -> warehouse, equal to the embedded run on the
same input; and a consumer killed mid-stream whose records a new one finishes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.aws.test_end_to_end import COMMON, WINDOWS, _tables
from tests.servers.kafka import running_kafka
from tweetsense.faults import KILL_ENV

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "tweetsense.cli.app"]


def _cli(*args: str | Path) -> str:
    done = subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _stream(request: pytest.FixtureRequest, name: str, kafka: str) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:12]
    if name == "redis":
        url = request.getfixturevalue("redis_url")
        return {"type": "redis", "url": url, "stream": f"e2e-{tag}", "claim_idle_seconds": 1.0}
    return {
        "type": "kafka",
        "bootstrap_servers": kafka,
        "topic": f"e2e-{tag}",
        "partitions": 2,  # one per consumer
        "session_timeout_ms": 6000,
        # The test broker (Tansu) counts watermarks per batch; one record a batch keeps the
        # group's lag, which ends `--until-drained`, exact there.
        "client": {"batch.num.messages": 1},
    }


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    root = tmp_path_factory.mktemp("embedded")
    cfg = root / "embedded.yaml"
    cfg.write_text(yaml.safe_dump({**COMMON, "data_dir": str(root / "data")}))
    _cli("run", "--config", cfg)
    return _tables(root / "data" / "warehouse.duckdb")


@pytest.fixture(params=["kafka", "redis"])
def streamed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    data = tmp_path / "data"
    cfg = tmp_path / f"{request.param}.yaml"
    # A broker of its own: the consumer group has one name on every topic, so members that
    # other tests leave in it on a shared broker take part in this test's rebalances.
    with running_kafka() if request.param == "kafka" else nullcontext("") as kafka:
        config = {**COMMON, "data_dir": str(data), "stream": _stream(request, request.param, kafka)}
        cfg.write_text(yaml.safe_dump(config))
        yield cfg, data


def _consumer(cfg: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "consume", "--config", str(cfg), "--until-drained"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _scored(data: Path) -> int:
    return sum(1 for _ in (data / "sentiment").rglob("*.json")) if data.exists() else 0


def _counts(stdout: str) -> tuple[int, int]:
    match = re.search(r"(\d+) windows scored .* (\d+) already done", stdout)
    assert match, stdout
    return int(match.group(1)), int(match.group(2))


def test_two_concurrent_consumers_equal_the_embedded_run(streamed, embedded) -> None:
    cfg, data = streamed
    _cli("ingest", "--config", cfg)
    consumers = [_consumer(cfg) for _ in range(2)]
    outputs = [c.communicate(timeout=180) for c in consumers]
    for c, (_, err) in zip(consumers, outputs, strict=True):
        assert c.returncode == 0, err[-2000:]
    assert _scored(data) == WINDOWS
    _cli("batch", "--config", cfg)
    _cli("load", "--config", cfg)
    assert _tables(data / "warehouse.duckdb") == embedded


def test_sigkill_one_consumer_then_a_new_one_loses_and_duplicates_nothing(
    streamed, embedded
) -> None:
    cfg, data = streamed
    _cli("ingest", "--config", cfg)
    # The consumer SIGKILLs itself as it renames its 10th sentiment file into place: mid-write,
    # mid-batch, with nothing of that batch committed (a timer would race a fast consumer).
    victim = _consumer(cfg, {KILL_ENV: "store.put.sentiment:10"})
    _, err = victim.communicate(timeout=180)
    assert victim.returncode == -signal.SIGKILL, err[-2000:]
    done_at_kill = _scored(data)
    assert done_at_kill == 9

    survivor = _consumer(cfg)
    out, err = survivor.communicate(timeout=180)
    assert survivor.returncode == 0, err[-2000:]
    new, _already = _counts(out)
    assert _scored(data) == WINDOWS
    assert new + done_at_kill >= WINDOWS  # nothing lost
    _cli("batch", "--config", cfg)
    _cli("load", "--config", cfg)
    assert _tables(data / "warehouse.duckdb") == embedded  # nothing counted twice
