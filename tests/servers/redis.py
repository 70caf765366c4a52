"""A throwaway redis-server on a free loopback port, no persistence, for the session."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port, serving


@contextmanager
def running_redis() -> Iterator[str]:
    """A redis-server for as long as the block runs; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found; run tools/deps/redis-server.sh")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tweetsense-redis-") as tmp:
        command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
        command += ["--appendonly", "no", "--dir", tmp, "--logfile", str(Path(tmp) / "redis.log")]
        with serving(command, port):
            yield f"redis://127.0.0.1:{port}/0"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url
