"""The AWS deployment end to end on this machine: synthetic ingest -> S3 (moto_server) ->
Kinesis (kinesalite, 2 shards) -> separate `tweetsense consume` processes -> batch -> DuckDB
warehouse, compared with the embedded run (local store, SQLite stream) on the same input."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
import yaml

pytestmark = pytest.mark.slow

WINDOWS = 48
CLI = [sys.executable, "-m", "tweetsense.cli.app"]
SEARCH = {
    "query": "electric vehicles",
    "start_time": "2024-03-01T00:00:00Z",
    "end_time": "2024-03-01T12:00:00Z",
    "max_per_window": 60,
}
COMMON = {
    "search": SEARCH,
    "source": {"type": "synthetic", "posts_per_window": 60},
    "sentiment": {"type": "vader", "workers": 1},
}


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def _cli(*args: str | Path) -> str:
    done = subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _tables(path: Path) -> dict[str, list[tuple]]:
    """Both tables; averages rounded to 12 digits, as DuckDB's parallel sums may add in any
    order and differ in the last bit between two runs of the same engine."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        sentiment = con.execute("SELECT * FROM sentiment ORDER BY query, time_window").fetchall()
        return {
            "tweet": con.execute("SELECT * FROM tweet ORDER BY query, tweet_id").fetchall(),
            "sentiment": [
                tuple(round(v, 12) if isinstance(v, float) else v for v in row) for row in sentiment
            ],
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    root = tmp_path_factory.mktemp("embedded")
    cfg = _write(root / "embedded.yaml", {**COMMON, "data_dir": str(root / "data")})
    _cli("run", "--config", cfg)
    tables = _tables(root / "data" / "warehouse.duckdb")
    assert len(tables["sentiment"]) == WINDOWS and len(tables["tweet"]) > WINDOWS * 20
    return tables


@pytest.fixture
def aws_config(
    tmp_path: Path, make_bucket, moto_endpoint, make_kinesis_stream, kinesalite_endpoint
):
    bucket = make_bucket()
    cfg = {
        **COMMON,
        "data_dir": str(tmp_path / "data"),
        "storage": {"type": "s3", "bucket": bucket, "prefix": "ts", "endpoint_url": moto_endpoint},
        "stream": {
            "type": "kinesis",
            "stream_name": make_kinesis_stream(2),
            "endpoint_url": kinesalite_endpoint,
            "lease_seconds": 2.0,
            "poll_interval": 0.05,
            "records_per_call": 2,  # small polls, so a consumer can be killed mid-stream
        },
        "warehouse": {"type": "duckdb", "path": str(tmp_path / "aws-warehouse.duckdb")},
    }
    path = _write(tmp_path / "aws.yaml", cfg)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)

    def scored() -> int:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="ts/sentiment/")
        return sum(len(p.get("Contents", [])) for p in pages)

    return path, scored, tmp_path


def _consumer(cfg: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "consume", "--config", str(cfg), "--until-drained"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _scored_count(stdout: str) -> tuple[int, int]:
    match = re.search(r"(\d+) windows scored .* (\d+) already done", stdout)
    assert match, stdout
    return int(match.group(1)), int(match.group(2))


def test_two_concurrent_consumers_equal_the_embedded_run(aws_config, embedded) -> None:
    cfg, scored, root = aws_config
    _cli("ingest", "--config", cfg)
    consumers = [_consumer(cfg) for _ in range(2)]
    outputs = [c.communicate(timeout=120) for c in consumers]
    for c, (_, err) in zip(consumers, outputs, strict=True):
        assert c.returncode == 0, err[-2000:]
    counts = [_scored_count(out) for out, _ in outputs]
    assert scored() == WINDOWS
    # Shards are shared, not double-read: every window scored exactly once in all.
    assert sum(n for n, _ in counts) == WINDOWS
    _cli("batch", "--config", cfg)
    _cli("load", "--config", cfg)
    assert _tables(root / "aws-warehouse.duckdb") == embedded


def test_sigkill_one_consumer_then_a_new_one_loses_and_duplicates_nothing(
    aws_config, embedded
) -> None:
    cfg, scored, root = aws_config
    _cli("ingest", "--config", cfg)
    victim = _consumer(cfg)
    deadline = time.monotonic() + 60
    while scored() < 6 and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    done_at_kill = scored()
    assert 0 < done_at_kill < WINDOWS, "the consumer was not killed mid-stream"

    survivor = _consumer(cfg)
    out, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err[-2000:]
    new, already = _scored_count(out)
    assert scored() == WINDOWS
    # Checkpoints survived the kill: the new consumer redoes at most the killed one's last,
    # uncommitted poll (2 shards x records_per_call), and skips windows it finds scored.
    assert new + done_at_kill >= WINDOWS
    assert new + already <= WINDOWS - done_at_kill + 4 + 4
    _cli("batch", "--config", cfg)
    _cli("load", "--config", cfg)
    assert _tables(root / "aws-warehouse.duckdb") == embedded
