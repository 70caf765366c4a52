"""Every warehouse: tables created on first load, reloads replace by key, never duplicate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tweetsense.warehouse.schema import SENTIMENT, TWEET

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _outputs(tmp_path: Path, query: str, n: int, label: str) -> tuple[str, str]:
    tweets = {c: [None] * n for c in TWEET.column_names}
    tweets.update(
        query=[query] * n,
        tweet_id=[str(i) for i in range(n)],
        created_at=[T0] * n,
        time_window=[T0] * n,
        text=["café 🚗"] * n,
        label=[label] * n,
        positive=[0.5] * n,
        negative=[0.2] * n,
        neutral=[0.2] * n,
        mixed=[0.1] * n,
        verified=[True] * n,
    )
    windows = {c: [0.25] for c in SENTIMENT.column_names}
    windows.update(query=[query], time_window=[T0], count_tweets=[n])
    tp, wp = tmp_path / f"{query}-{label}-t.parquet", tmp_path / f"{query}-{label}-w.parquet"
    ts = pa.timestamp("us", tz="UTC")
    tschema = pa.schema(
        [
            (
                c,
                ts
                if c in ("created_at", "time_window")
                else pa.bool_()
                if c == "verified"
                else pa.float64()
                if c in ("positive", "negative", "neutral", "mixed")
                else pa.string(),
            )
            for c in TWEET.column_names
        ]
    )
    pq.write_table(pa.table(tweets, schema=tschema), tp)
    wschema = pa.schema(
        [
            (
                c,
                ts
                if c == "time_window"
                else pa.int64()
                if c == "count_tweets"
                else pa.string()
                if c == "query"
                else pa.float64(),
            )
            for c in SENTIMENT.column_names
        ]
    )
    pq.write_table(pa.table(windows, schema=wschema), wp)
    return str(tp), str(wp)


def test_load_is_idempotent_and_replaces_by_key(warehouse, tmp_path: Path) -> None:
    first = warehouse.load("ev", *_outputs(tmp_path, "ev", 5, "POSITIVE"))
    assert (first.tweets, first.windows) == (5, 1)
    again = warehouse.load("ev", *_outputs(tmp_path, "ev", 5, "NEGATIVE"))
    assert (again.tweets, again.windows) == (5, 1)
    more = warehouse.load("ev", *_outputs(tmp_path, "ev", 8, "NEGATIVE"))
    assert (more.tweets, more.windows) == (8, 1)
    assert warehouse.loaded_windows("ev") == {T0}


def test_queries_do_not_touch_each_other(warehouse, tmp_path: Path) -> None:
    warehouse.load("ev", *_outputs(tmp_path, "ev", 5, "POSITIVE"))
    other = warehouse.load("heat pumps", *_outputs(tmp_path, "heat pumps", 3, "POSITIVE"))
    assert (other.tweets, other.windows) == (3, 1)
    assert warehouse.loaded_windows("ev") == {T0}
    assert warehouse.loaded_windows("nothing") == set()
