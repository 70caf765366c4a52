"""A small warehouse built by the demo pipeline (8 hours of 15-minute windows) for the
dashboard and Grafana tests, plus SQL that recomputes what the panels must show.

A second analyzer, ``contrarian``, can be added to it: it swaps every positive and negative
label and score of the primary one, so its numbers differ and are known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tests.conftest import make_config
from tweetsense.pipeline.batch import outputs_for
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.run import run_all
from tweetsense.warehouse.dialects import DUCKDB, POSTGRES, Dialect
from tweetsense.warehouse.schema import ANALYSIS_TABLES, SENTIMENT

QUERY = "electric vehicles"
START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2024, 3, 1, 8, tzinfo=UTC)
XSS = "<img src=x onerror=alert(1)>"
XSS_WINDOW = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
PRIMARY = "fast"  # the analyzer tests/conftest.py sets
CONTRARIAN = "contrarian"


@dataclass(frozen=True)
class DemoWarehouse:
    data_dir: Path
    path: Path
    tweets_uri: str
    windows_uri: str

    @property
    def files(self) -> dict[str, str]:
        """The seed tables' outputs, as ``Warehouse.load`` takes them."""
        return {"tweet": self.tweets_uri, "sentiment": self.windows_uri}


def build(root: Path) -> DemoWarehouse:
    config = make_config(
        root, search__end_time=END.isoformat(), sentiment__workers="1", source__concurrency="2"
    )
    p = Pipeline(config)
    try:
        run_all(p)
        outputs = outputs_for(p.slug)
        uris = p.store.uri(outputs.tweets_parquet), p.store.uri(outputs.windows_parquet)
    finally:
        p.close()
    return DemoWarehouse(config.data_dir, config.data_dir / "warehouse.duckdb", *uris)


def insert_xss_tweet(path: Path) -> None:
    """A tweet whose text is markup, first of its window, written by a read-write connection."""
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "INSERT INTO tweet (query, tweet_id, created_at, time_window, text, username, label, "
            "positive, negative, neutral, mixed, analyzer) "
            "VALUES (?, '1', ?, ?, ?, 'mallory', 'NEUTRAL', 0.1, 0.1, 0.8, 0.0, 'default')",
            [QUERY, XSS_WINDOW, XSS_WINDOW, XSS],
        )
    finally:
        con.close()


def expected(path: Path, start: datetime | None = None, end: datetime | None = None) -> dict:
    """Totals over a range straight from the table, independent of the read API."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(
            "SELECT count(*), sum(count_tweets), "
            "sum(perc_tweet_positive * count_tweets) / sum(count_tweets), "
            "sum(perc_tweet_neutral * count_tweets) / sum(count_tweets), "
            "sum(perc_tweet_negative * count_tweets) / sum(count_tweets), "
            "sum(perc_tweet_mixed * count_tweets) / sum(count_tweets), "
            "sum(avg_positive * count_tweets) / sum(count_tweets), "
            "sum(avg_neutral * count_tweets) / sum(count_tweets), "
            "sum(avg_negative * count_tweets) / sum(count_tweets), "
            "sum(avg_mixed * count_tweets) / sum(count_tweets) "
            "FROM sentiment WHERE query = ? AND time_window >= ? AND time_window < ?",
            [QUERY, start or START, end or END],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    labels = ("positive", "neutral", "negative", "mixed")
    return {
        "windows": row[0],
        "tweets": int(row[1]),
        "shares": dict(zip(labels, row[2:6], strict=True)),
        "averages": dict(zip(labels, row[6:10], strict=True)),
    }


def execute(target: Path | str, statements: list[tuple[str, list]]) -> None:
    """Runs ``statements`` (SQL with ? placeholders, and its values) in one transaction on a
    DuckDB file (a Path) or a PostgreSQL DSN (a str)."""
    if isinstance(target, Path):
        con = duckdb.connect(str(target))
        try:
            con.execute("BEGIN TRANSACTION")
            for sql, values in statements:
                con.execute(sql, values)
            con.execute("COMMIT")
        finally:
            con.close()
        return
    import psycopg

    with psycopg.connect(target) as pg:
        for sql, values in statements:
            pg.execute(sql.replace("?", "%s"), values)


def dialect(target: Path | str) -> Dialect:
    return DUCKDB if isinstance(target, Path) else POSTGRES


def analysis_tables(target: Path | str) -> list[tuple[str, list]]:
    return [(dialect(target).create_table(t), []) for t in ANALYSIS_TABLES]


def _swap(column: str) -> str:
    for a, b in (("positive", "negative"), ("negative", "positive")):
        if column.endswith(a):
            return column.removesuffix(a) + b
    return column


def add_contrarian(target: Path | str) -> None:
    """Both analyses tables, holding the primary analyzer and ``contrarian``."""
    labels = (
        "CASE label WHEN 'POSITIVE' THEN 'NEGATIVE' WHEN 'NEGATIVE' THEN 'POSITIVE' ELSE label END"
    )
    window_cols = SENTIMENT.column_names[1:]
    cols = ", ".join(window_cols)
    mirrored = ", ".join(f"{_swap(c)} AS {c}" for c in window_cols)
    execute(
        target,
        [
            *analysis_tables(target),
            # The load may have written the primary's rows already: these replace them.
            ("DELETE FROM tweet_score", []),
            ("DELETE FROM sentiment_by_analyzer", []),
            (
                "INSERT INTO tweet_score SELECT query, tweet_id, ?, time_window, label, "
                "positive, negative, neutral, mixed FROM tweet",
                [PRIMARY],
            ),
            (
                f"INSERT INTO tweet_score SELECT query, tweet_id, ?, time_window, {labels}, "
                "negative, positive, neutral, mixed FROM tweet",
                [CONTRARIAN],
            ),
            (
                f"INSERT INTO sentiment_by_analyzer SELECT query, ?, {cols} FROM sentiment",
                [PRIMARY],
            ),
            (
                f"INSERT INTO sentiment_by_analyzer SELECT query, ?, {mirrored} FROM sentiment",
                [CONTRARIAN],
            ),
        ],
    )


def swapped(totals: dict) -> dict:
    """``expected``'s totals as ``contrarian`` has them."""
    return {
        **totals,
        "shares": {_swap(k): v for k, v in totals["shares"].items()},
        "averages": {_swap(k): v for k, v in totals["averages"].items()},
    }


def agreement(target: Path, a: str, b: str) -> dict:
    """Agreement over the whole demo, counted in Python from ``tweet_score`` rows."""
    con = duckdb.connect(str(target), read_only=True)
    try:
        rows = con.execute(
            "SELECT x.label, y.label FROM tweet_score x JOIN tweet_score y "
            "ON x.query = y.query AND x.tweet_id = y.tweet_id "
            "WHERE x.query = ? AND x.analyzer = ? AND y.analyzer = ?",
            [QUERY, a, b],
        ).fetchall()
    finally:
        con.close()
    return kappa([r[0] for r in rows], [r[1] for r in rows])


def kappa(a: list[str], b: list[str]) -> dict:
    """Cohen's kappa of two label lists, written out as the textbook has it."""
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pe = sum((a.count(label) / n) * (b.count(label) / n) for label in set(a) | set(b))
    return {"n": n, "agreement": po, "kappa": None if pe == 1 else (po - pe) / (1 - pe)}
