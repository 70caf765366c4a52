"""Several analyzers on the same posts: independent consumers, each with its own files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from tweetsense import registry
from tweetsense.config import build_config
from tweetsense.errors import ConfigError
from tweetsense.layout import sentiment_key
from tweetsense.pipeline import Pipeline, run_all
from tweetsense.pipeline.agreement import from_pairs
from tweetsense.pipeline.analyses import analyses
from tweetsense.pipeline.ingest import ingest
from tweetsense.pipeline.markers import mark_ingest_complete
from tweetsense.pipeline.status import status
from tweetsense.warehouse.schema import SENTIMENT_BY_ANALYZER

SEARCH = {
    "query": "electric vehicles",
    "start_time": "2024-03-01T00:00:00Z",
    "end_time": "2024-03-01T02:00:00Z",
}
THREE = [{"type": "fast"}, {"type": "vader"}, {"type": "fast", "name": "fast-2"}]


def config_data(data_dir: Path, sentiment: Any) -> dict[str, Any]:
    # workers: 1 keeps each analyzer in-process, so the test does not fork model processes.
    if isinstance(sentiment, list):
        sentiment = [{**s, "workers": 1} for s in sentiment]
    else:
        sentiment = {**sentiment, "workers": 1}
    return {"data_dir": str(data_dir), "search": SEARCH, "sentiment": sentiment}


def pipeline(data_dir: Path, sentiment: Any) -> Pipeline:
    return Pipeline(build_config(config_data(data_dir, sentiment), environ={}))


def table(root: Path, name: str) -> list[dict[str, Any]]:
    """An output's rows, floats rounded: DuckDB's parallel sums may differ in the last bit."""
    rows = pq.read_table(next((root / "outputs").rglob(name))).to_pylist()
    return [{k: round(v, 12) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def rounded(rows: list[tuple]) -> list[tuple]:
    return [tuple(round(v, 12) if isinstance(v, float) else v for v in r) for r in rows]


def files(root: Path, folder: str) -> dict[str, bytes]:
    base = root / folder
    return {str(f.relative_to(base)): f.read_bytes() for f in base.rglob("*") if f.is_file()}


def test_sentiment_may_be_a_list_of_named_analyzers() -> None:
    config = build_config(config_data(Path("d"), THREE), environ={})
    assert [a.name for a in analyses(config)] == ["fast", "vader", "fast-2"]
    assert [a.primary for a in analyses(config)] == [True, False, False]
    primary, vader, _ = analyses(config)
    assert primary.group == "tweetsense-sentiment" and vader.group == "tweetsense-sentiment-vader"
    window = Pipeline(config).windows[0]
    assert primary.key("s", window) == sentiment_key("s", window)
    assert vader.key("s", window).startswith("analyses/vader/s/")
    single = build_config(config_data(Path("d"), {"type": "vader"}), environ={})
    assert [a.name for a in analyses(single)] == ["vader"]
    with pytest.raises(ConfigError, match=r"sentiment\[1\]: the name 'fast' is taken"):
        build_config(config_data(Path("d"), [{"type": "fast"}, {"type": "fast"}]), environ={})
    with pytest.raises(ConfigError, match=r"sentiment\[2\]\.colour: unknown setting"):
        registry.validate_all(
            build_config(
                config_data(Path("d"), [*THREE[:2], {"type": "vader", "name": "v", "colour": 1}]),
                environ={},
            )
        )


def test_three_analyzers_leave_the_primary_results_as_one_would(tmp_path: Path) -> None:
    with pipeline(tmp_path / "three", THREE) as p:
        report = run_all(p)
    with pipeline(tmp_path / "one", THREE[0]) as p:
        run_all(p)
    assert set(report.analyses) == {"vader", "fast-2"} and not report.analysis_failures
    assert report.analyses["vader"].scored_windows == 8
    # The seed-shaped outputs and the primary's files are those of a run with it alone.
    assert files(tmp_path / "three", "sentiment") == files(tmp_path / "one", "sentiment")
    for name in ("tweets.parquet", "windows.parquet"):
        assert table(tmp_path / "three", name) == table(tmp_path / "one", name), name
    # Every analyzer's rows are in the warehouse; the primary's aggregates are `sentiment`'s.
    con = duckdb.connect(str(tmp_path / "three" / "warehouse.duckdb"), read_only=True)
    try:
        per = dict(con.sql("SELECT analyzer, count(*) FROM tweet_score GROUP BY 1").fetchall())
        assert per == {
            "fast": report.load.tweets,
            "vader": report.load.tweets,
            "fast-2": report.load.tweets,
        }
        primary = con.sql(
            "SELECT * EXCLUDE (analyzer) FROM sentiment_by_analyzer WHERE analyzer = 'fast' "
            "ORDER BY time_window"
        ).fetchall()
        # The columns the two tables share: sentiment has the insight columns besides.
        shared = ", ".join(f'"{c}"' for c in SENTIMENT_BY_ANALYZER.column_names if c != "analyzer")
        seed = con.sql(f"SELECT {shared} FROM sentiment ORDER BY time_window").fetchall()
        assert rounded(primary) == rounded(seed)
        same = con.execute(
            "SELECT avg((a.label = b.label)::DOUBLE) FROM tweet_score a JOIN tweet_score b "
            "USING (query, tweet_id) WHERE a.analyzer = 'fast' AND b.analyzer = 'vader'"
        ).fetchone()[0]
    finally:
        con.close()
    with pipeline(tmp_path / "three", THREE) as p:
        (vader, twin) = status(p).agreements
    assert vader.b == "vader" and vader.same == pytest.approx(same)
    assert (twin.same, twin.kappa) == (1.0, 1.0)  # the same model twice agrees with itself
    scored = files(tmp_path / "three", "analyses")
    assert len([k for k in scored if k.startswith("vader/")]) == 8
    assert len([k for k in scored if k.startswith("fast-2/")]) == 8
    # A rerun scores nothing and rewrites nothing.
    with pipeline(tmp_path / "three", THREE) as p:
        again = run_all(p)
    assert again.consume.scored_windows == 0
    assert all(r.scored_windows == 0 for r in again.analyses.values())
    assert files(tmp_path / "three", "analyses") == scored


def test_an_analyzer_added_later_scores_only_its_own_windows(tmp_path: Path) -> None:
    with pipeline(tmp_path, THREE[0]) as p:
        run_all(p)
    primary = files(tmp_path, "sentiment")
    with pipeline(tmp_path, THREE[:2]) as p:
        report = run_all(p)
    assert report.consume.scored_windows == 0 and report.analyses["vader"].scored_windows == 8
    assert files(tmp_path, "sentiment") == primary
    # Removing it leaves its files alone.
    with pipeline(tmp_path, THREE[0]) as p:
        run_all(p)
    assert len(files(tmp_path, "analyses")) == 8


@pytest.fixture
def broken():
    registry.register("sentiment", "broken", "tests.poisoned_analyzer:BrokenAnalyzer")
    yield
    registry._REGISTRY["sentiment"].pop("broken")


@pytest.mark.usefixtures("broken")
def test_a_failing_analyzer_never_stops_the_others(tmp_path: Path) -> None:
    sentiment = [THREE[0], {"type": "broken"}, THREE[1]]
    with pipeline(tmp_path / "a", sentiment) as p:
        report = run_all(p)
    assert set(report.analysis_failures) == {"broken"}
    assert report.analyses["vader"].scored_windows == 8
    assert report.batch.result.tweets > 0 and report.load.tweets == report.batch.result.tweets
    with pipeline(tmp_path / "b", [THREE[0], THREE[1]]) as p:
        run_all(p)
    assert files(tmp_path / "a", "analyses/vader") == files(tmp_path / "b", "analyses/vader")
    assert files(tmp_path / "a", "sentiment") == files(tmp_path / "b", "sentiment")


def _cli(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TWEETSENSE_")}
    return subprocess.Popen(
        [sys.executable, "-m", "tweetsense.cli.app", *args, "--config", str(config)],
        env={**environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_separate_consumers_one_killed_and_restarted(tmp_path: Path) -> None:
    """Two `consume --analyzer` processes side by side; one is SIGKILLed mid-run and restarted:
    the files and the warehouse equal those of one uninterrupted run."""
    sentiment = THREE[:2]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config_data(tmp_path / "data", sentiment)), encoding="utf-8")
    with pipeline(tmp_path / "data", sentiment) as p:
        ingest(p)
        mark_ingest_complete(p)
    killed = _cli(
        path, "consume", "--analyzer", "vader", env={"TWEETSENSE_FAULT_KILL_AT": "consume.scored:3"}
    )
    other = _cli(path, "consume", "--analyzer", "fast")
    assert killed.wait(timeout=300) == -signal.SIGKILL, killed.stdout.read()
    assert other.wait(timeout=300) == 0, other.stdout.read()
    restarted = _cli(path, "consume", "--analyzer", "vader")
    assert restarted.wait(timeout=300) == 0, restarted.stdout.read()
    for stage in ("batch", "load"):
        done = _cli(path, stage)
        assert done.wait(timeout=300) == 0, done.stdout.read()

    with pipeline(tmp_path / "clean", sentiment) as p:
        run_all(p)
    for folder in ("sentiment", "analyses"):
        assert files(tmp_path / "data", folder) == files(tmp_path / "clean", folder), folder
    names = ("tweets.parquet", "windows.parquet", "tweet_scores.parquet")
    for name in (*names, "sentiment_by_analyzer.parquet"):
        assert table(tmp_path / "data", name) == table(tmp_path / "clean", name), name


def test_agreement_and_kappa_by_hand() -> None:
    pos, neg, neu = "POSITIVE", "NEGATIVE", "NEUTRAL"
    # 10 posts, 8 given the same label; each analyzer says positive half the time: chance
    # agreement 0.5, so kappa = (0.8 - 0.5) / (1 - 0.5) = 0.6.
    a = from_pairs("a", "b", {(pos, pos): 4, (neg, neg): 4, (pos, neg): 1, (neg, pos): 1})
    assert (a.posts, a.same) == (10, 0.8) and a.kappa == pytest.approx(0.6)
    # Always the same single label: chance explains everything, kappa is undefined.
    assert from_pairs("a", "b", {(neu, neu): 5}).kappa is None
    assert from_pairs("a", "b", {}).posts == 0
    # Never agreeing where chance would half the time: below zero.
    assert from_pairs("a", "b", {(pos, neg): 5, (neg, pos): 5}).kappa == pytest.approx(-1.0)
