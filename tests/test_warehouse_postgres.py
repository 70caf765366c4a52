"""PostgreSQL warehouse: atomic loads under a killed connection, errors, indexes, the CLI."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from tests.contracts.test_warehouse_contract import _analysis_outputs, _outputs
from tests.servers import free_port
from tweetsense.cli.app import app
from tweetsense.config import BackendSection
from tweetsense.errors import BackendUnavailableError, ConfigError
from tweetsense.registry import Context, create, settings_for
from tweetsense.secrets import Secrets
from tweetsense.warehouse import postgres as pg_module

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _warehouse(context: Context, dsn: str, **options):
    return create("warehouse", context, BackendSection(type="postgres", dsn=dsn, **options))


def _contents(dsn: str) -> tuple[list[tuple], list[tuple]]:
    with psycopg.connect(dsn) as con:
        tweets = con.execute("SELECT tweet_id, label FROM tweet ORDER BY tweet_id").fetchall()
        windows = con.execute("SELECT * FROM sentiment ORDER BY time_window").fetchall()
    return tweets, windows


def _kill_during_copy(dsn: str, table: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """After the first batch of ``table`` goes into COPY, a second connection terminates the
    loading backend, as a crash or network cut would."""
    real = pg_module.record_batches
    killed: list[int] = []

    def batches(uri: str, tbl, rows: int) -> Iterator:
        for i, batch in enumerate(real(uri, tbl, rows)):
            yield batch
            if tbl.name == table and i == 0:
                with psycopg.connect(dsn, autocommit=True) as admin:
                    pids = admin.execute(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE query LIKE 'COPY %tweetsense_stage_%'"
                    ).fetchall()
                    for (pid,) in pids:
                        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
                        killed.append(pid)

    monkeypatch.setattr(pg_module, "record_batches", batches)
    return killed


@pytest.mark.parametrize("table", ["tweet", "sentiment"])
def test_killed_connection_mid_load_leaves_previous_contents(
    table: str, context: Context, postgres_dsn: str, tmp_path: Path, monkeypatch
) -> None:
    w = _warehouse(context, postgres_dsn, batch_rows=3)
    w.load("ev", _outputs(tmp_path, "ev", 5, "POSITIVE"))
    before = _contents(postgres_dsn)
    assert len(before[0]) == 5 and {label for _, label in before[0]} == {"POSITIVE"}

    killed = _kill_during_copy(postgres_dsn, table, monkeypatch)
    with pytest.raises(BackendUnavailableError) as err:
        w.load("ev", _outputs(tmp_path, "ev", 12, "NEGATIVE"))
    assert killed, "the loading backend was never seen in COPY"
    message = str(err.value)
    assert "\n" not in message and "nothing was changed" in message
    assert _contents(postgres_dsn) == before

    monkeypatch.undo()
    again = w.load("ev", _outputs(tmp_path, "ev", 12, "NEGATIVE"))
    assert (again.tweets, again.windows) == (12, 1)
    assert {label for _, label in _contents(postgres_dsn)[0]} == {"NEGATIVE"}


def test_concurrent_loads_of_the_same_outputs_never_duplicate(
    context: Context, postgres_dsn: str, tmp_path: Path
) -> None:
    outputs = _outputs(tmp_path, "ev", 50, "POSITIVE")
    _warehouse(context, postgres_dsn).load("ev", outputs)  # tables exist before the race
    errors: list[BaseException] = []

    def one() -> None:
        try:
            _warehouse(context, postgres_dsn).load("ev", outputs)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    tweets, windows = _contents(postgres_dsn)
    assert (len(tweets), len(windows)) == (50, 1)


def test_unreachable_server_is_one_line_with_masked_dsn(config) -> None:
    port = free_port()
    ctx = Context(config, Secrets(environ={"PGPASSWORD": "s3cret-pw"}))
    w = _warehouse(ctx, f"postgresql://bob@127.0.0.1:{port}/ev", connect_timeout=2)
    with pytest.raises(BackendUnavailableError) as err:
        w.load("ev", {"tweet": "unused.parquet", "sentiment": "unused.parquet"})
    message = str(err.value)
    assert f"postgresql://bob@127.0.0.1:{port}/ev" in message
    assert "s3cret-pw" not in message and "\n" not in message
    assert "warehouse.host/port" in message


def test_password_in_dsn_is_refused_without_echoing_it() -> None:
    section = BackendSection(type="postgres", dsn="postgresql://bob:hunter2@db.example/ev")
    with pytest.raises(ConfigError) as err:
        settings_for("warehouse", section)
    assert str(err.value).startswith("warehouse.dsn: must not contain a password")
    assert "hunter2" not in str(err.value)


def test_settings_override_the_dsn(context: Context) -> None:
    w = _warehouse(context, "postgresql://bob@db.example:5433/a", dbname="b", port=6000)
    assert w.location == "postgresql://bob@db.example:6000/b"


def test_tables_indexes_and_schema_version(
    context: Context, postgres_dsn: str, tmp_path: Path
) -> None:
    w = _warehouse(context, postgres_dsn)
    for _ in range(2):
        w.load("ev", _outputs(tmp_path, "ev", 3, "POSITIVE"))
    with psycopg.connect(postgres_dsn) as con:
        indexes = {
            r[0]: r[1]
            for r in con.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename "
                "IN ('tweet', 'sentiment')"
            )
        }
        versions = con.execute("SELECT version FROM tweetsense_schema").fetchall()
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'tweet'"
            ).fetchall()
        )
    assert "(query, time_window)" in indexes["tweet_query_time_window_idx"]
    assert "(query, created_at)" in indexes["tweet_query_created_at_idx"]
    assert "(query, tweet_id)" in indexes["tweet_pkey"]
    assert "(query, time_window)" in indexes["sentiment_pkey"]
    assert versions == [(2,)]
    assert types["created_at"] == "timestamp with time zone"
    assert types["positive"] == "double precision" and types["verified"] == "boolean"


def test_a_warehouse_from_before_the_analysis_tables_gets_them(
    context: Context, postgres_dsn: str, tmp_path: Path
) -> None:
    w = _warehouse(context, postgres_dsn)
    w.load("ev", _outputs(tmp_path, "ev", 3, "POSITIVE"))
    with psycopg.connect(postgres_dsn) as con:
        con.execute("DROP TABLE tweet_score, sentiment_by_analyzer")
    again = w.load("ev", _analysis_outputs(tmp_path, "ev", 3, "POSITIVE"))
    assert (again.tweets, again.tweet_scores, again.analyzer_windows) == (3, 6, 4)


@pytest.mark.slow
def test_cli_loads_pipeline_outputs_into_postgres_like_duckdb(
    tmp_path: Path, postgres_dsn: str
) -> None:
    env = {
        "TWEETSENSE_SEARCH__END_TIME": "2024-03-01T02:00:00Z",
        "TWEETSENSE_SENTIMENT__WORKERS": "1",
    }
    runner = CliRunner()
    d = str(tmp_path)
    for stage in ("ingest", "consume", "batch", "load"):
        result = runner.invoke(app, [stage, "--demo", "-d", d], env=env)
        assert result.exit_code == 0, result.output
    env_pg = {**env, "TWEETSENSE_WAREHOUSE__DSN": postgres_dsn}
    for _ in range(2):
        result = runner.invoke(
            app, ["load", "--demo", "-d", d, "--warehouse", "postgres"], env=env_pg
        )
        assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "8 windows in postgresql://postgres@127.0.0.1" in flat

    from tweetsense.config import load_config

    cfg = load_config(None, demo=True, data_dir=tmp_path, environ=env)
    duck = create("warehouse", Context(cfg), BackendSection(type="duckdb"))
    pg = _warehouse(Context(cfg), postgres_dsn)
    query = cfg.search.query
    assert pg.queries() == duck.queries() == [query]
    assert pg.windows(query) == duck.windows(query)
    assert len(pg.windows(query)) == 8
    assert pg.summary(query) == duck.summary(query)
    assert f"load: {pg.summary(query)['tweets']:,} posts" in flat
    assert pg.tweets(query, T0, limit=5) == duck.tweets(query, T0, limit=5)
    pg.close()
