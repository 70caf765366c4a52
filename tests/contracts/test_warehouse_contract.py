"""Every warehouse: tables created on first load, reloads replace by key, never duplicate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tweetsense.warehouse.dialects import arrow_schema
from tweetsense.warehouse.schema import SENTIMENT, SENTIMENT_BY_ANALYZER, TWEET, TWEET_SCORE

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _outputs(tmp_path: Path, query: str, n: int, label: str) -> dict[str, str]:
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
        engagement=[0] * n,
    )
    windows: dict[str, list] = {
        c.name: [0.25] if c.type == "double" else [0] for c in SENTIMENT.columns
    }
    windows.update(query=[query], time_window=[T0], count_tweets=[n], volume=[None])
    tp, wp = tmp_path / f"{query}-{label}-t.parquet", tmp_path / f"{query}-{label}-w.parquet"
    pq.write_table(pa.table(tweets, schema=arrow_schema(TWEET)), tp)
    pq.write_table(pa.table(windows, schema=arrow_schema(SENTIMENT)), wp)
    return {TWEET.name: str(tp), SENTIMENT.name: str(wp)}


def test_load_is_idempotent_and_replaces_by_key(warehouse, tmp_path: Path) -> None:
    first = warehouse.load("ev", _outputs(tmp_path, "ev", 5, "POSITIVE"))
    assert (first.tweets, first.windows) == (5, 1)
    again = warehouse.load("ev", _outputs(tmp_path, "ev", 5, "NEGATIVE"))
    assert (again.tweets, again.windows) == (5, 1)
    assert {t["label"] for t in warehouse.tweets("ev", T0, limit=10)} == {"NEGATIVE"}
    more = warehouse.load("ev", _outputs(tmp_path, "ev", 8, "NEGATIVE"))
    assert (more.tweets, more.windows) == (8, 1)
    assert warehouse.loaded_windows("ev") == {T0}


def test_a_post_a_window_no_longer_holds_is_deleted(warehouse, tmp_path: Path) -> None:
    warehouse.load("ev", _outputs(tmp_path, "ev", 8, "POSITIVE"))
    warehouse.load("heat pumps", _outputs(tmp_path, "heat pumps", 3, "POSITIVE"))
    fewer = warehouse.load("ev", _outputs(tmp_path, "ev", 5, "NEGATIVE"))
    assert (fewer.tweets, fewer.windows) == (5, 1)
    ids = {t["tweet_id"] for t in warehouse.tweets("ev", T0, limit=20)}
    assert ids == {str(i) for i in range(5)}
    assert len(warehouse.tweets("heat pumps", T0, limit=20)) == 3


def test_queries_do_not_touch_each_other(warehouse, tmp_path: Path) -> None:
    warehouse.load("ev", _outputs(tmp_path, "ev", 5, "POSITIVE"))
    other = warehouse.load("heat pumps", _outputs(tmp_path, "heat pumps", 3, "POSITIVE"))
    assert (other.tweets, other.windows) == (3, 1)
    assert warehouse.loaded_windows("ev") == {T0}
    assert warehouse.loaded_windows("nothing") == set()


def _write(path: Path, table, rows: list[dict]) -> str:
    schema = arrow_schema(table)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return str(path)


def _tweet(query: str, i: int, window: datetime, label: str, **extra) -> dict:
    row = dict.fromkeys(TWEET.column_names)
    row.update(
        query=query,
        tweet_id=f"{i:04d}",
        created_at=window + timedelta(seconds=i),
        time_window=window,
        text=f"post {i}",
        label=label,
        positive=0.7 if label == "POSITIVE" else 0.1,
        negative=0.7 if label == "NEGATIVE" else 0.1,
        neutral=0.1,
        mixed=0.1,
        verified=i % 2 == 0,
        analyzer="vader",
        post_type="original",
        engagement=0,
    )
    row.update(extra)
    return row


def _window(query: str, window: datetime, labels: list[str]) -> dict:
    n = len(labels)
    row = {
        "query": query,
        "time_window": window,
        "count_tweets": n,
        "avg_positive": None if not n else 0.4,
        "avg_negative": None if not n else 0.4,
        "avg_neutral": None if not n else 0.1,
        "avg_mixed": None if not n else 0.1,
    }
    for label in ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"):
        row[f"perc_tweet_{label.lower()}"] = labels.count(label) / n if n else 0.0
        row[f"perc_opinion_{label.lower()}"] = row[f"perc_tweet_{label.lower()}"]
    row.update(count_reposts=0, count_opinions=n, engagement=0, volume=None, weighted_net=None)
    return row


def _load_days(warehouse, tmp_path: Path, query: str, plan: list[list[str]]) -> None:
    """Loads one window per entry of ``plan`` (15 minutes apart), one post per label listed."""
    tweets, windows, i = [], [], 0
    for w, labels in enumerate(plan):
        start = T0 + timedelta(minutes=15 * w)
        windows.append(_window(query, start, labels))
        for label in labels:
            tweets.append(_tweet(query, i, start, label))
            i += 1
    tag = f"{query}-{len(plan)}".replace(" ", "_")
    warehouse.load(
        query,
        {
            TWEET.name: _write(tmp_path / f"{tag}-t.parquet", TWEET, tweets),
            SENTIMENT.name: _write(tmp_path / f"{tag}-w.parquet", SENTIMENT, windows),
        },
    )


def test_values_round_trip_exactly(warehouse, tmp_path: Path) -> None:
    odd = [
        _tweet("ev", 0, T0, "POSITIVE", text="", location=None, name='say "hi", then\nleave'),
        _tweet("ev", 1, T0, "NEGATIVE", text="café 🚗 \\N ,;\t|", lang="", verified=None),
        _tweet("ev", 2, T0, "NEUTRAL", text=None, referenced_tweets='[{"type": "quoted"}]'),
    ]
    odd[0]["positive"] = 0.1 + 0.2  # not exactly representable: must survive bit for bit
    odd[1]["created_at"] = T0 + timedelta(microseconds=123456)
    warehouse.load(
        "ev",
        {
            TWEET.name: _write(tmp_path / "t.parquet", TWEET, odd),
            SENTIMENT.name: _write(
                tmp_path / "w.parquet", SENTIMENT, [_window("ev", T0, ["POSITIVE"] * 3)]
            ),
        },
    )
    back = {r["tweet_id"]: r for r in warehouse.tweets("ev", T0, limit=10)}
    assert list(back) == ["0000", "0001", "0002"]
    for row in odd:
        assert back[row["tweet_id"]] == row


def test_reads_before_any_load_are_empty(warehouse) -> None:
    assert warehouse.queries() == []
    assert warehouse.windows("ev") == []
    assert warehouse.tweets("ev", T0) == []
    summary = warehouse.summary("ev")
    assert (summary["windows"], summary["tweets"], summary["first_window"]) == (0, 0, None)
    assert set(summary["shares"].values()) == {0.0}


def test_read_api(warehouse, tmp_path: Path) -> None:
    plan = [
        ["POSITIVE", "POSITIVE", "NEGATIVE"],
        [],
        ["NEUTRAL", "NEGATIVE", "NEGATIVE", "MIXED"],
        ["POSITIVE"],
    ]
    _load_days(warehouse, tmp_path, "ev", plan)
    _load_days(warehouse, tmp_path, "heat pumps", [["NEUTRAL"]])
    assert warehouse.queries() == ["ev", "heat pumps"]

    windows = warehouse.windows("ev")
    starts = [T0 + timedelta(minutes=15 * w) for w in range(4)]
    assert [w["time_window"] for w in windows] == starts
    assert all(w["time_window"].utcoffset() == timedelta(0) for w in windows)
    assert [w["count_tweets"] for w in windows] == [3, 0, 4, 1]
    assert windows[1]["avg_positive"] is None and windows[1]["perc_tweet_positive"] == 0.0
    assert windows[0]["perc_tweet_positive"] == pytest.approx(2 / 3)
    middle = warehouse.windows("ev", start=starts[1], end=starts[3])
    assert [w["time_window"] for w in middle] == starts[1:3]

    third = warehouse.tweets("ev", starts[2])
    assert [t["label"] for t in third] == ["NEUTRAL", "NEGATIVE", "NEGATIVE", "MIXED"]
    assert [t["created_at"] for t in third] == sorted(t["created_at"] for t in third)
    assert len(warehouse.tweets("ev", starts[2], limit=2)) == 2
    negatives = warehouse.tweets("ev", starts[2], label="NEGATIVE")
    assert len(negatives) == 2 and {t["label"] for t in negatives} == {"NEGATIVE"}
    assert warehouse.tweets("ev", starts[1]) == []

    whole = warehouse.summary("ev")
    assert (whole["windows"], whole["tweets"]) == (4, 8)
    assert (whole["first_window"], whole["last_window"]) == (starts[0], starts[3])
    assert whole["shares"] == pytest.approx(
        {"POSITIVE": 3 / 8, "NEGATIVE": 3 / 8, "NEUTRAL": 1 / 8, "MIXED": 1 / 8}
    )
    part = warehouse.summary("ev", start=starts[2])
    assert (part["windows"], part["tweets"]) == (2, 5)
    assert part["shares"]["POSITIVE"] == pytest.approx(1 / 5)


def test_hostile_query_text_is_data(warehouse, tmp_path: Path) -> None:
    query = "ev'; DROP TABLE tweet; --"
    _load_days(warehouse, tmp_path, query, [["POSITIVE"]])
    assert warehouse.queries() == [query]
    assert warehouse.summary(query)["tweets"] == 1
    assert len(warehouse.tweets(query, T0)) == 1


ANALYZERS = ("lexicon", "vader")


def _analysis_outputs(tmp_path: Path, query: str, n: int, label: str) -> dict[str, str]:
    """``_outputs`` with every post scored by two analyzers, and two windows per analyzer."""
    files = _outputs(tmp_path, query, n, label)
    scores = [
        {
            "query": query,
            "tweet_id": str(i),
            "analyzer": name,
            "time_window": T0,
            "label": label,
            "positive": 0.1 + 0.2,  # not exactly representable: must survive bit for bit
            "negative": 0.2,
            "neutral": None,
            "mixed": 0.1,
        }
        for name in ANALYZERS
        for i in range(n)
    ]
    windows = [
        {
            **_window(query, start, [label] * (n if start == T0 else 0)),
            "analyzer": name,
        }
        for name in ANALYZERS
        for start in (T0, T0 + timedelta(minutes=15))
    ]
    tag = f"{query}-{label}-{n}".replace(" ", "_")
    files[TWEET_SCORE.name] = _write(tmp_path / f"{tag}-s.parquet", TWEET_SCORE, scores)
    files[SENTIMENT_BY_ANALYZER.name] = _write(
        tmp_path / f"{tag}-a.parquet", SENTIMENT_BY_ANALYZER, windows
    )
    return files


def _table(warehouse, table, query: str) -> list[dict]:
    names = ", ".join(f'"{c}"' for c in table.column_names)
    order = ", ".join(f'"{k}"' for k in table.key)
    sql = f'SELECT {names} FROM "{table.name}" WHERE "query" = {warehouse.mark} ORDER BY {order}'
    return [dict(r) for r in warehouse._rows(sql, [query])]


def test_analysis_tables_load_and_reload_by_key(warehouse, tmp_path: Path) -> None:
    files = _analysis_outputs(tmp_path, "ev", 5, "POSITIVE")
    first = warehouse.load("ev", files)
    assert (first.tweets, first.windows, first.tweet_scores, first.analyzer_windows) == (
        5,
        1,
        10,
        4,
    )
    scores = _table(warehouse, TWEET_SCORE, "ev")
    assert (
        scores
        == pq.read_table(files[TWEET_SCORE.name])
        .sort_by([(k, "ascending") for k in TWEET_SCORE.key])
        .to_pylist()
    )
    by_analyzer = _table(warehouse, SENTIMENT_BY_ANALYZER, "ev")
    assert (
        by_analyzer
        == pq.read_table(files[SENTIMENT_BY_ANALYZER.name])
        .sort_by([(k, "ascending") for k in SENTIMENT_BY_ANALYZER.key])
        .to_pylist()
    )

    again = warehouse.load("ev", files)
    assert again == first
    assert _table(warehouse, TWEET_SCORE, "ev") == scores
    assert _table(warehouse, SENTIMENT_BY_ANALYZER, "ev") == by_analyzer

    changed = warehouse.load("ev", _analysis_outputs(tmp_path, "ev", 8, "NEGATIVE"))
    assert (changed.tweet_scores, changed.analyzer_windows) == (16, 4)
    assert {r["label"] for r in _table(warehouse, TWEET_SCORE, "ev")} == {"NEGATIVE"}
    counts = {
        (r["analyzer"], r["time_window"]): r["count_tweets"]
        for r in _table(warehouse, SENTIMENT_BY_ANALYZER, "ev")
    }
    assert counts == {
        (a, t): 8 if t == T0 else 0 for a in ANALYZERS for t in (T0, T0 + timedelta(minutes=15))
    }

    other = warehouse.load("heat pumps", _analysis_outputs(tmp_path, "heat pumps", 3, "POSITIVE"))
    assert (other.tweet_scores, other.analyzer_windows) == (6, 4)
    assert len(_table(warehouse, TWEET_SCORE, "ev")) == 16


def test_outputs_without_analysis_files_still_load(warehouse, tmp_path: Path) -> None:
    result = warehouse.load("old", _outputs(tmp_path, "old", 5, "POSITIVE"))
    assert (result.tweets, result.windows, result.tweet_scores, result.analyzer_windows) == (
        5,
        1,
        0,
        0,
    )
    assert _table(warehouse, TWEET_SCORE, "old") == []
    with pytest.raises(ValueError, match="missing tables"):
        warehouse.load("old", {TWEET.name: _outputs(tmp_path, "old", 1, "POSITIVE")[TWEET.name]})
