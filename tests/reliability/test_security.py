"""Secrets stay secret, SQL-ish text is data, the dashboard listens on loopback by default."""

from __future__ import annotations

import inspect
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.conftest import make_config
from tests.servers.fake_x_api import FakeXApi
from tweetsense.config import build_config
from tweetsense.pipeline import Pipeline, run_all
from tweetsense.secrets import Secrets
from tweetsense.sources.x_ratelimit import _SHARED

BEARER = "XBEARER-sekrit-4f1c9a77e2"
PGPASS = "PGPASS-sekrit-b81d0e36"


def _all_bytes(root: Path) -> list[tuple[Path, bytes]]:
    return [(f, f.read_bytes()) for f in root.rglob("*") if f.is_file()]


@pytest.mark.slow
def test_secrets_appear_in_no_log_error_file_or_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text(f"X_BEARER_TOKEN: {BEARER}\nPGPASSWORD: {PGPASS}\n")
    secrets_file.chmod(0o644)
    api = FakeXApi(token=BEARER, failure_rate=0.3, limit=100, period=2, hang=0.6, seed=9).start()
    try:
        now = datetime.now(UTC)
        end = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        config = build_config(
            {
                "data_dir": str(tmp_path / "data"),
                "search": {
                    "query": "heat pumps",
                    "start_time": end - timedelta(hours=1),
                    "end_time": end,
                },
                "source": {
                    "type": "x_api",
                    "base_url": api.url,
                    "timeout": 0.4,
                    "backoff": 0.01,
                    "max_backoff": 0.05,
                    "rate_margin": 0.02,
                },
                "sentiment": {"workers": 1},
            },
            environ={},
        )
        p = Pipeline(config, Secrets(secrets_file, environ={}))
        run_all(p)
        p.close()
        assert sum(api.stats.injected.values()) > 0  # errors were raised and logged
        # A rejected token: the error message must not quote it either.
        api.token = "another"
        bad = Pipeline(
            config.model_copy(update={"data_dir": tmp_path / "bad"}),
            Secrets(secrets_file, environ={}),
        )
        with pytest.raises(Exception) as info:
            run_all(bad)
        bad.close()
    finally:
        api.stop()
        _SHARED.clear()
    for secret in (BEARER, PGPASS):
        assert secret not in str(info.value)
        assert secret not in caplog.text
        for path, data in _all_bytes(tmp_path / "data") + _all_bytes(tmp_path / "bad"):
            assert secret.encode() not in data, path
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    try:
        dump = str(con.execute("SELECT * FROM tweet").fetchall())
        dump += str(con.execute("SELECT * FROM sentiment").fetchall())
    finally:
        con.close()
    assert BEARER not in dump and PGPASS not in dump
    # The shared secrets file was warned about once, in one line.
    warned = [r.getMessage() for r in caplog.records if "readable by group" in r.getMessage()]
    assert len(warned) == 1 and "chmod 600" in warned[0] and "\n" not in warned[0]


def test_private_secrets_file_gives_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("X_BEARER_TOKEN: abc\n")
    path.chmod(0o600)
    assert Secrets(path, environ={}).get("X_BEARER_TOKEN") == "abc"
    assert "readable by group" not in caplog.text


def test_sql_ish_query_text_is_stored_as_data(tmp_path: Path) -> None:
    query = "ev'); DROP TABLE tweet; -- \" OR 1=1"
    p = Pipeline(
        make_config(
            tmp_path,
            search__query=query,
            search__end_time="2024-03-01T01:00:00Z",
            sentiment__workers="1",
        )
    )
    result = run_all(p)
    p.close()
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    try:
        queries = con.execute("SELECT DISTINCT query FROM sentiment").fetchall()
        tweets = con.execute("SELECT count(*) FROM tweet WHERE query = ?", [query]).fetchone()
    finally:
        con.close()
    assert queries == [(query,)]
    assert tweets == (result.load.tweets,) and result.load.windows == 4
    # Reading it back through the dashboard's queries binds the text as a value as well.
    p2 = Pipeline(make_config(tmp_path, search__query=query))
    assert len(p2.warehouse.loaded_windows(query)) == 4
    p2.close()


def test_dashboard_listens_on_loopback_unless_told() -> None:
    from tweetsense.cli.dashboard import dashboard

    host = inspect.signature(dashboard).parameters["host"].default
    assert host == "127.0.0.1"
