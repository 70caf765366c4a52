"""Every post accounted for: placed in `tweet`, or counted under a named reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

import tests.test_source_x_api as xapi
import tweetsense.pipeline.ledger as ledgers
from tests.servers.fake_x_api import SNOWFLAKE_EPOCH_MS
from tweetsense.cli.app import app
from tweetsense.pipeline import Pipeline, run_all

BARE = ("id", "text", "edit_history_tweet_ids")
fake = xapi.fake  # the fake X API server's fixture


def snowflake_time(post_id: str) -> datetime:
    return datetime.fromtimestamp(((int(post_id) >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def test_the_recorded_example_gets_its_time_from_its_id() -> None:
    assert snowflake_time("1578520094778740736").isoformat(timespec="milliseconds") == (
        "2022-10-07T22:58:12.737+00:00"
    )


def test_posts_without_created_at_are_placed_by_their_id(tmp_path: Path, fake: Any) -> None:
    api = fake(post_fields=BARE, max_posts=10, empty_share=0.0)
    with xapi.pipeline(tmp_path, api, windows=4) as p:
        report = run_all(p)
        ledger = report.batch.ledger
        assert ledger.fetched > 0 and ledger.placed == ledger.fetched - ledger.duplicates
        assert ledger.time_derived == ledger.placed and not ledger.lost
        assert ledger.warning() is None
        rows = (
            duckdb.connect(str(p.config.data_dir / "warehouse.duckdb"), read_only=True)
            .sql("SELECT tweet_id, created_at, time_window, user_id FROM tweet")
            .fetchall()
        )
    assert len(rows) == ledger.placed == report.load.tweets
    for tweet_id, created_at, time_window, user_id in rows:
        assert created_at == snowflake_time(tweet_id)
        assert time_window <= created_at and user_id is None


def test_posts_that_cannot_be_placed_are_counted_and_named(tmp_path: Path, fake: Any) -> None:
    api = fake(post_fields=BARE, snowflake_ids=False, max_posts=10, empty_share=0.0)
    with xapi.pipeline(tmp_path, api, windows=2) as p:
        ledger = run_all(p).batch.ledger
        stored = ledgers.load(p.store, p.slug)
    assert ledger.placed == 0 and ledger.fetched > 0
    assert ledger.lost == {"no_time": ledger.fetched - ledger.duplicates}
    assert ledger.balanced and stored == ledger
    warning = ledger.warning()
    assert warning is not None and "no_time" in warning and "created_at" in warning


@pytest.mark.slow
def test_the_demo_ledger_is_the_same_in_summary_status_and_store(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path)
    env = {"COLUMNS": "200"}
    run = runner.invoke(app, ["run", "--demo", "-d", data, "--strict"], env=env)
    assert run.exit_code == 0, run.output
    status = runner.invoke(app, ["status", "--demo", "-d", data], env=env)
    with Pipeline.open(demo=True, data_dir=data) as p:
        stored = ledgers.load(p.store, p.slug)
    assert stored is not None and stored.balanced and not stored.lost
    assert (stored.fetched, stored.loaded) == (38_400, stored.placed)
    assert stored.fetched == stored.placed + stored.duplicates + stored.outside

    def row(name: str) -> int:
        line = next(line for line in run.output.splitlines() if line.startswith(f"│ {name} "))
        return int(line.split("│")[2].split()[0].replace(",", ""))

    assert row("posts fetched") == stored.fetched and row("duplicates") == stored.duplicates
    assert row("posts (unique)") == stored.placed
    assert f"ledger: {stored.line()}" in status.output


def test_strict_exits_non_zero_when_posts_were_dropped(tmp_path: Path, fake: Any) -> None:
    api = fake(post_fields=BARE, snowflake_ids=False, max_posts=5, empty_share=0.0)
    with xapi.pipeline(tmp_path, api, windows=1) as p:
        run_all(p)
        config = p.config
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    runner = CliRunner()
    status = runner.invoke(app, ["status", "-c", str(path), "--strict"], env={"COLUMNS": "200"})
    assert status.exit_code == 4
    assert "warning:" in status.output and "no_time" in status.output
