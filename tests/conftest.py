"""Shared fixtures: a config rooted in a temp dir, and one fixture per stage backend so each
contract suite runs against every backend registered for its stage."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tweetsense.config import BackendSection, Config, load_config
from tweetsense.registry import Context, create

# Real servers the suites use, one module each (see tests/servers/__init__.py).
pytest_plugins: list[str] = [
    "tests.servers.postgres",
    "tests.servers.aws_env",
    "tests.servers.moto",
    "tests.servers.kinesalite",
    "tests.servers.fake_comprehend",
    "tests.servers.redis",
    "tests.servers.kafka",
    "tests.servers.model",
]


# Pipeline tests exercise the stages, not the analyzer: they score with the distilled linear
# model, which takes seconds where the transformer takes minutes on demo-sized runs. Every
# analyzer has its own contract suite, and test_pipeline runs `default` end to end.
FAST = {"TWEETSENSE_SENTIMENT__TYPE": "fast"}
os.environ.update(FAST)


def make_config(tmp_path: Path, **env: str) -> Config:
    environ = {**FAST, **{f"TWEETSENSE_{k.upper()}": v for k, v in env.items()}}
    return load_config(None, demo=True, data_dir=tmp_path / "data", environ=environ)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def context(config: Config) -> Context:
    return Context(config)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, context: Context):
    options = {}
    if request.param == "s3":
        options = {
            "bucket": request.getfixturevalue("make_bucket")(),
            "endpoint_url": request.getfixturevalue("moto_endpoint"),
            "prefix": "team/tweetsense",
        }
    return create("storage", context, BackendSection(type=request.param, **options))


@pytest.fixture(params=["sqlite", "kinesis", "redis", "kafka"])
def stream(request: pytest.FixtureRequest, context: Context) -> Iterator:
    options = stream_options(request, request.param)
    if request.param == "kinesis":
        options = {
            "stream_name": request.getfixturevalue("make_kinesis_stream")(2),
            "endpoint_url": request.getfixturevalue("kinesalite_endpoint"),
            "lease_seconds": 1.0,
            "poll_interval": 0.05,
        }
    s = create("stream", context, BackendSection(type=request.param, **options))
    yield s
    s.close()


def stream_options(request: pytest.FixtureRequest, name: str) -> dict:
    """Settings of a fresh stream of backend ``name`` on its test server (see tests/servers)."""
    tag = uuid.uuid4().hex[:12]
    if name == "redis":
        url = request.getfixturevalue("redis_url")
        return {"url": url, "stream": f"test-{tag}", "claim_idle_seconds": 1.0}
    if name == "kafka":
        # One partition keeps the suite's cross-key order checks meaningful; Tansu reports
        # watermarks per batch, so one record per batch keeps lag exact there.
        return {
            "bootstrap_servers": request.getfixturevalue("kafka_bootstrap"),
            "topic": f"test-{tag}",
            "partitions": 1,
            "session_timeout_ms": 6000,
            "client": {"batch.num.messages": 1},
        }
    return {}


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, context: Context) -> Iterator:
    options = {}
    if request.param == "postgres":
        options["dsn"] = request.getfixturevalue("postgres_dsn")
    w = create("warehouse", context, BackendSection(type=request.param, **options))
    yield w
    w.close()


@contextmanager
def local_time_zone(name: str) -> Iterator[None]:
    """The process's local zone set to ``name`` (and restored), for code that must ignore it."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.fixture
def kathmandu() -> Iterator[None]:
    """A +05:45 local zone makes any local-time bucketing visible."""
    with local_time_zone("Asia/Kathmandu"):
        yield


@pytest.fixture
def utc() -> Iterator[None]:
    with local_time_zone("UTC"):
        yield


def copy_uris(store, json_keys: list[str]) -> list[str]:
    """The URIs of the columnar copies of window files a test put in ``store``: what the batch
    engines read."""
    from tweetsense import columnar
    from tweetsense.columnar import derive

    if json_keys:
        derive.derive(store, json_keys)
    return [store.uri(columnar.copy_key(k)) for k in json_keys]
