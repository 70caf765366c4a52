"""`tweetsense serve-model --demo` (VADER) on a free loopback port, for the session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.servers import free_port, wait_for_port


@pytest.fixture(scope="session")
def model_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    cwd = tmp_path_factory.mktemp("serve-model")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tweetsense.cli.app", "serve-model", "--demo", "--port", str(port)],
        cwd=cwd,
        env={**os.environ, "TWEETSENSE_SENTIMENT__TYPE": "vader"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/v1/sentiment"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
