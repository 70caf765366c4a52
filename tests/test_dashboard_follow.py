"""The dashboard over a warehouse that a live run keeps loading: what a refresh asks for after
more windows were loaded includes them, for an open range and for a "last N" range computed
from the newest window, as the page's refresh does."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests import dashboard_data as demo
from tweetsense.config import BackendSection
from tweetsense.dashboard.server import create_app
from tweetsense.registry import Context, create
from tweetsense.timeutil import format_utc, parse_utc

HALF = demo.START + (demo.END - demo.START) / 2


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The dashboard over the demo's first half, loaded by `run` in ``tmp_path``."""
    built = demo.build(tmp_path, end=HALF)
    context = Context(demo.make_config(tmp_path))
    wh = create("warehouse", context, BackendSection(type="duckdb", path=str(built.path)))
    with TestClient(create_app(wh)) as c:
        yield c
    wh.close()


def _summary(client: TestClient, **params: str) -> dict:
    response = client.get("/api/summary", params={"query": demo.QUERY, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _last_hours(client: TestClient, hours: int) -> dict[str, str]:
    """The range the page's "last N hours" preset asks for: N hours up to the newest window's
    end, found by a summary over every window."""
    last = parse_utc(_summary(client)["last_window"])
    end = last + timedelta(minutes=15)
    return {"start": format_utc(end - timedelta(hours=hours)), "end": format_utc(end)}


def test_a_refresh_sees_the_windows_loaded_since(client: TestClient, tmp_path: Path) -> None:
    before = _summary(client)
    assert before["windows"] == 16
    assert parse_utc(before["last_window"]) == HALF - timedelta(minutes=15)
    recent = _last_hours(client, 2)

    # The next steps of a live run: the same query over a longer range, in the same data dir.
    demo.build(tmp_path, end=demo.END)

    after = _summary(client)
    assert after["windows"] == 32
    assert after["tweets"] > before["tweets"]
    newest = parse_utc(after["last_window"])
    assert newest == demo.END - timedelta(minutes=15)
    windows = client.get("/api/windows", params={"query": demo.QUERY, "bucket": "15m"}).json()
    assert windows["windows"] == 32
    assert windows["time"][-1] == int(newest.timestamp())

    # The range first loaded stays where it was; the one computed again slides to the newest.
    assert _summary(client, **recent)["last_window"] == before["last_window"]
    slid = _last_hours(client, 2)
    assert slid["end"] == format_utc(demo.END)
    sliding = _summary(client, **slid)
    assert (sliding["windows"], sliding["last_window"]) == (8, after["last_window"])
    posts = client.get(
        "/api/tweets", params={"query": demo.QUERY, "window": after["last_window"]}
    ).json()
    assert posts["tweets"], "the newest window's posts are listed"


def test_a_load_waits_for_a_dashboard_read_to_end(tmp_path: Path) -> None:
    """A dashboard's request holds a shared lock on the DuckDB file; the live run's load that
    comes meanwhile waits for it instead of failing."""
    path = tmp_path / "warehouse.duckdb"
    context = Context(demo.make_config(tmp_path))
    wh = create("warehouse", context, BackendSection(type="duckdb", path=str(path)))
    wh._connect().close()  # the file, with its tables
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_READ_LOCK, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "holding"
        started = time.monotonic()
        wh._connect().close()
        assert time.monotonic() - started >= 0.5, "opened while the reader held the file"
    finally:
        reader.wait(timeout=30)


HOLD_READ_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("holding", flush=True)
time.sleep(1.0)
con.close()
"""
