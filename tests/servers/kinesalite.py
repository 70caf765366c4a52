"""kinesalite (installed by tools/deps/kinesalite.sh) on a free loopback port: a real Kinesis
API for boto3."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, serving

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / ".cache" / "kinesalite" / "node_modules"


@pytest.fixture(scope="session")
def kinesalite_endpoint(aws_env: None) -> Iterator[str]:
    node = shutil.which("node")
    if node is None or not (MODULES / "kinesalite").is_dir():
        raise RuntimeError("kinesalite is not installed; run tools/deps/kinesalite.sh")
    port = free_port()
    script = (
        "require('kinesalite')({createStreamMs: 20, deleteStreamMs: 20, updateStreamMs: 20,"
        f" shardLimit: 100}}).listen({port}, '127.0.0.1')"
    )
    env = {"NODE_PATH": str(MODULES), "PATH": str(Path(node).parent)}
    with serving([node, "-e", script], port, cwd=MODULES.parent, env=env):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def make_kinesis_stream(kinesalite_endpoint: str) -> Callable[[int], str]:
    """Creates a fresh, active stream of ``shards`` shards and returns its name."""
    import boto3

    client = boto3.client("kinesis", endpoint_url=kinesalite_endpoint, region_name="us-east-1")

    def make(shards: int = 2) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        client.create_stream(StreamName=name, ShardCount=shards)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = client.describe_stream_summary(StreamName=name)
            if status["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                return name
            time.sleep(0.02)
        raise TimeoutError(f"kinesis stream {name} not active")

    return make
