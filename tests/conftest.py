"""Shared fixtures: a config rooted in a temp dir, and one fixture per stage backend so each
contract suite runs against every backend registered for its stage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tweetsense.config import BackendSection, Config, load_config
from tweetsense.registry import Context, create

# Real servers the suites use, one module each (see tests/servers/__init__.py).
pytest_plugins: list[str] = []


def make_config(tmp_path: Path, **env: str) -> Config:
    environ = {f"TWEETSENSE_{k.upper()}": v for k, v in env.items()}
    return load_config(None, demo=True, data_dir=tmp_path / "data", environ=environ)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def context(config: Config) -> Context:
    return Context(config)


@pytest.fixture(params=["local"])
def store(request: pytest.FixtureRequest, context: Context):
    return create("storage", context, BackendSection(type=request.param))


@pytest.fixture(params=["sqlite"])
def stream(request: pytest.FixtureRequest, context: Context) -> Iterator:
    s = create("stream", context, BackendSection(type=request.param))
    yield s
    s.close()


@pytest.fixture(params=["duckdb"])
def warehouse(request: pytest.FixtureRequest, context: Context) -> Iterator:
    w = create("warehouse", context, BackendSection(type=request.param))
    yield w
    w.close()
