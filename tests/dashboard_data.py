"""A small warehouse built by the demo pipeline (8 hours of 15-minute windows) for the
dashboard and Grafana tests, plus SQL that recomputes what the panels must show.

A second analyzer, ``contrarian``, can be added to it: it swaps every positive and negative
label and score of the primary one, so its numbers differ and are known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from tests.conftest import make_config
from tweetsense.pipeline.batch import outputs_for
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.run import run_all
from tweetsense.warehouse.dialects import (
    DUCKDB,
    POSTGRES,
    Dialect,
    agreement_from_scores_sql,
    quote,
)
from tweetsense.warehouse.schema import (
    ANALYSIS_TABLES,
    INSIGHT_TABLES,
    SENTIMENT_BY_ANALYZER,
    TABLES,
)

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


# The demo story's recall breaks at 13:00 on its third day: six hours around it.
RECALL_START = datetime(2024, 3, 3, 11, tzinfo=UTC)
RECALL_END = datetime(2024, 3, 3, 17, tzinfo=UTC)
RECALL_BREAKS = datetime(2024, 3, 3, 13, tzinfo=UTC)


def build(root: Path, start: datetime | None = None, end: datetime = END) -> DemoWarehouse:
    """The demo pipeline's warehouse of [start, end) (start: the demo's own)."""
    bounds = {"search__end_time": end.isoformat()}
    if start is not None:
        bounds["search__start_time"] = start.isoformat()
    config = make_config(root, **bounds, sentiment__workers="1", source__concurrency="2")
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
            "positive, negative, neutral, mixed, analyzer, engagement) "
            "VALUES (?, '1', ?, ?, ?, 'mallory', 'NEUTRAL', 0.1, 0.1, 0.8, 0.0, 'default', 0)",
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
    """The analyses tables, holding the primary analyzer and ``contrarian``."""
    labels = (
        "CASE label WHEN 'POSITIVE' THEN 'NEGATIVE' WHEN 'NEGATIVE' THEN 'POSITIVE' ELSE label END"
    )
    window_cols = [c for c in SENTIMENT_BY_ANALYZER.column_names if c not in ("query", "analyzer")]
    cols = ", ".join(window_cols)
    mirrored = ", ".join(f"{_swap(c)} AS {c}" for c in window_cols)
    execute(
        target,
        [
            *analysis_tables(target),
            # The load may have written the primary's rows already: these replace them.
            ("DELETE FROM tweet_score", []),
            ("DELETE FROM sentiment_by_analyzer", []),
            ("DELETE FROM analyzer_agreement", []),
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
            (agreement_from_scores_sql(), []),
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


# A small warehouse with every insight column and table, for the endpoints of volume, drivers,
# spikes, posts and share of voice: INSIGHT_WINDOWS windows of 12 posts from INSIGHT_START; in
# windows 5 and 6 most posts are negative and about a recall (term:recall, entity:Acme,
# domain:news.example); window 0 was not counted (volume null). A spike of net sentiment (down)
# at window 5 and of volume (up) at window 6.
INSIGHT = "recall check"
INSIGHT_START = datetime(2024, 3, 1, tzinfo=UTC)
INSIGHT_WINDOWS = 8
POSTS_PER_WINDOW = 12
CYCLE = ("POSITIVE", "NEUTRAL", "NEGATIVE", "POSITIVE", "NEUTRAL", "MIXED")
POST_TYPES = ("original", "quote", "reply", "repost")
RECALL = ("term:recall", "entity:Acme", "domain:news.example")


def insight_window(i: int) -> datetime:
    return INSIGHT_START + timedelta(minutes=15 * i)


def insight_posts(query: str = INSIGHT, recall: bool = True) -> list[dict]:
    """The posts, as ``tweet`` rows (dicts by column)."""
    posts = []
    for i in range(INSIGHT_WINDOWS):
        for k in range(POSTS_PER_WINDOW):
            burst = recall and i in (5, 6) and k < 8
            label = "NEGATIVE" if burst else CYCLE[k % len(CYCLE)]
            terms = ["term:battery"] if k % 2 == 0 else []
            terms += ["hashtag:#ev"] if k % 3 == 0 else []
            terms += list(RECALL) if burst else []
            terms += ["term:range", "mention:@maker"] if label == "POSITIVE" else []
            post_type = POST_TYPES[k % 4]
            tweet_id = f"{i * 100 + k + 1}"
            metrics = None if k == 5 else ((i * 7 + k * 3) % 11, k % 3, k % 2, int(k == 4))
            posts.append(
                {
                    "query": query,
                    "tweet_id": tweet_id,
                    "created_at": insight_window(i) + timedelta(seconds=30 * k),
                    "time_window": insight_window(i),
                    "text": f"post {tweet_id} " + " ".join(t.split(":", 1)[1] for t in terms),
                    "username": f"user{k}",
                    "name": f"User {k}",
                    "label": label,
                    **{s.lower(): 0.7 if s == label else 0.1 for s in ("POSITIVE", "NEGATIVE")},
                    "neutral": 0.7 if label == "NEUTRAL" else 0.1,
                    "mixed": 0.7 if label == "MIXED" else 0.1,
                    "analyzer": "default",
                    "post_type": post_type,
                    # A repost repeats the original three posts before it, in the same window.
                    "repost_of": f"{i * 100 + k - 2}" if post_type == "repost" else None,
                    "like_count": None if metrics is None else metrics[0],
                    "repost_count": None if metrics is None else metrics[1],
                    "reply_count": None if metrics is None else metrics[2],
                    "quote_count": None if metrics is None else metrics[3],
                    "engagement": 0 if metrics is None else sum(metrics),
                    "terms": "\n" + "\n".join(terms) + "\n" if terms else None,
                }
            )
    return posts


def insight_windows(posts: list[dict]) -> list[dict]:
    """``sentiment`` rows of ``posts``, as the batch defines them (reposts' originals are in
    their window, so the opinions are the posts other than reposts)."""
    labels = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
    rows = []
    for w in sorted({p["time_window"] for p in posts}):
        ps = [p for p in posts if p["time_window"] == w]
        ops = [p for p in ps if p["post_type"] != "repost"]
        i = (w - INSIGHT_START) // timedelta(minutes=15)
        weights = [1 + p["engagement"] for p in ps]
        signs = [(p["label"] == "POSITIVE") - (p["label"] == "NEGATIVE") for p in ps]
        rows.append(
            {
                "query": ps[0]["query"],
                "time_window": w,
                "count_tweets": len(ps),
                **{f"avg_{x.lower()}": sum(p[x.lower()] for p in ps) / len(ps) for x in labels},
                **{
                    f"perc_tweet_{x.lower()}": sum(p["label"] == x for p in ps) / len(ps)
                    for x in labels
                },
                "volume": None if i == 0 else 100 + 10 * i + (400 if i == 6 else 0),
                "count_reposts": len(ps) - len(ops),
                "count_opinions": len(ops),
                **{
                    f"perc_opinion_{x.lower()}": sum(p["label"] == x for p in ops) / len(ops)
                    for x in labels
                },
                "engagement": sum(p["engagement"] for p in ps),
                "weighted_net": sum(a * b for a, b in zip(weights, signs, strict=True))
                / sum(weights),
            }
        )
    return rows


def insight_drivers(posts: list[dict]) -> list[dict]:
    """``driver`` rows of ``posts``: per window, kind, term and label, the posts using it."""
    counts: dict[tuple, int] = {}
    for p in posts:
        for line in (p["terms"] or "").strip("\n").split("\n"):
            if line:
                kind, term = line.split(":", 1)
                key = (p["query"], p["time_window"], kind, term, p["label"])
                counts[key] = counts.get(key, 0) + 1
    names = ("query", "time_window", "kind", "term", "label")
    return [{**dict(zip(names, k, strict=True)), "count": n} for k, n in counts.items()]


def insight_spikes(query: str = INSIGHT) -> list[dict]:
    return [
        {
            "query": query,
            "time_window": insight_window(5),
            "metric": "net_sentiment",
            "value": -0.6,
            "baseline": 0.1,
            "score": -5.2,
            "direction": "down",
        },
        {
            "query": query,
            "time_window": insight_window(6),
            "metric": "volume",
            "value": 560.0,
            "baseline": 130.0,
            "score": 8.1,
            "direction": "up",
        },
    ]


def inserts(table: str, rows: list[dict]) -> list[tuple[str, list]]:
    return [
        (
            f"INSERT INTO {table} ({', '.join(quote(c) for c in row)}) "
            f"VALUES ({', '.join('?' for _ in row)})",
            list(row.values()),
        )
        for row in rows
    ]


def add_insight(target: Path | str, query: str = INSIGHT, recall: bool = True) -> list[dict]:
    """The insight warehouse's rows of ``query`` (its tables created as needed); its posts."""
    posts = insight_posts(query, recall)
    execute(
        target,
        [
            *[(dialect(target).create_table(t), []) for t in (*TABLES, *INSIGHT_TABLES)],
            *inserts("tweet", posts),
            *inserts("sentiment", insight_windows(posts)),
            *inserts("driver", insight_drivers(posts)),
            *(inserts("sentiment_spike", insight_spikes(query)) if recall else []),
        ],
    )
    return posts


def fetch(target: Path | str, sql: str, values: list) -> list[tuple]:
    """The rows of one query (? placeholders) on a DuckDB file or a PostgreSQL DSN."""
    if isinstance(target, Path):
        con = duckdb.connect(str(target), read_only=True)
        try:
            con.execute("SET TimeZone = 'UTC'")
            return con.execute(sql, values).fetchall()
        finally:
            con.close()
    import psycopg

    with psycopg.connect(target) as pg:
        return pg.execute(sql.replace("?", "%s"), values).fetchall()
