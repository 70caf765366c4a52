"""moto_server on a free loopback port: a real S3 endpoint for boto3, s3fs and DuckDB."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, wait_for_port
from tests.servers.aws_env import AWS_ENV


@pytest.fixture(scope="session")
def moto_endpoint(aws_env: None) -> Iterator[str]:
    port = free_port()
    server = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**AWS_ENV, "PATH": str(server.parent)},
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def make_bucket(moto_endpoint: str) -> Callable[[], str]:
    """Creates a fresh, empty bucket and returns its name."""
    import boto3

    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")

    def make() -> str:
        name = f"t-{uuid.uuid4().hex[:16]}"
        client.create_bucket(Bucket=name)
        return name

    return make
