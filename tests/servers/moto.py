"""moto_server on a free loopback port: a real S3 endpoint for boto3, s3fs and DuckDB."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, serving
from tests.servers.aws_env import AWS_ENV


@pytest.fixture(scope="session")
def moto_endpoint(aws_env: None) -> Iterator[str]:
    port = free_port()
    server = Path(sys.executable).with_name("moto_server")
    command = [str(server), "-H", "127.0.0.1", "-p", str(port)]
    with serving(command, port, timeout=60, env={**AWS_ENV, "PATH": str(server.parent)}):
        yield f"http://127.0.0.1:{port}"


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
