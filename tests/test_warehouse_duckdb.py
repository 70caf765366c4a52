"""The DuckDB warehouse under its memory limit: a load's memory does not grow with key indexes,
and a load that still needs more than the limit says which setting to raise and loads nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.contracts.test_warehouse_contract import T0, _outputs
from tweetsense.config import BackendSection
from tweetsense.errors import TerminalError
from tweetsense.registry import Context, create


def _warehouse(context: Context, path: Path, memory_limit: str):  # type: ignore[no-untyped-def]
    options = {"path": str(path), "memory_limit": memory_limit}
    return create("warehouse", context, BackendSection(type="duckdb", **options))


def test_a_load_holds_no_key_index_of_the_posts_it_inserts(
    context: Context, tmp_path: Path
) -> None:
    # With primary keys, DuckDB held the index of every inserted row until the commit: 300k
    # posts ran out of 32MB on the first load.
    w = _warehouse(context, tmp_path / "w.duckdb", "32MB")
    files = _outputs(tmp_path, "ev", 300_000, "POSITIVE")
    for _ in range(2):  # the reload replaces every post by key
        result = w.load("ev", files)
        assert (result.tweets, result.windows) == (300_000, 1)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        [(rows, ids)] = con.execute(
            "SELECT count(*), count(DISTINCT tweet_id) FROM tweet"
        ).fetchall()
    assert rows == ids == 300_000


def test_a_load_out_of_memory_names_the_setting_and_keeps_what_was_loaded(
    context: Context, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    _warehouse(context, path, "2GB").load("ev", _outputs(tmp_path, "ev", 5, "NEGATIVE"))
    small = _warehouse(context, path, "8MB")
    with pytest.raises(TerminalError, match=r"^warehouse.memory_limit: .* needs more than 8MB"):
        small.load("ev", _outputs(tmp_path, "ev", 300_000, "POSITIVE"))
    kept = _warehouse(context, path, "2GB").tweets("ev", T0, limit=10)
    assert sorted((t["tweet_id"], t["label"]) for t in kept) == [
        (str(i), "NEGATIVE") for i in range(5)
    ]
