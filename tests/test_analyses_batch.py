"""The batch job's per-analyzer outputs, ``tweet_score``, ``sentiment_by_analyzer`` and
``analyzer_agreement``, on hand-made windows scored by the primary analyzer and by others, one
of them missing a window."""

from __future__ import annotations

import math
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import copy_uris
from tests.test_batch_job import SLUG, USERS, W, scores, stage, tweet
from tweetsense import columnar, layout
from tweetsense.batch.base import BatchInputs
from tweetsense.config import BackendSection
from tweetsense.contracts import SentimentDoc
from tweetsense.pipeline.batch import outputs_for
from tweetsense.registry import create
from tweetsense.timeutil import Window
from tweetsense.warehouse.schema import (
    AGREEMENT,
    SENTIMENT,
    SENTIMENT_BY_ANALYZER,
    TWEET_SCORE,
)

STAGED = [W[0], W[1], W[2]]


def analyze(store, name: str, window: Window, score_rows: list[dict]) -> str:
    """Writes analyzer ``name``'s sentiment file of ``window``, as consume does; returns the
    URI of its columnar copy, which the engines read."""
    skey = layout.staging_key(SLUG, window)
    doc = SentimentDoc("ev", window, name, skey, "digest", score_rows)
    key = layout.sentiment_key(SLUG, window, name)
    columnar.put_sentiment(store, key, doc)
    return store.uri(columnar.copy_key(key))


def stage_primary(store) -> None:
    """The primary analyzer ("test"): window 1 is empty, window 2 re-delivers post 1."""
    stage(
        store,
        W[0],
        [{"data": [tweet("1", 1, "a", "u1"), tweet("2", 2, "b", "u2")]}],
        scores(("1", "POSITIVE", 0.9, 0.0, 0.1, 0.0), ("2", "NEGATIVE", 0.0, 0.8, 0.2, 0.0)),
    )
    stage(store, W[1], [{"meta": {"result_count": 0}}], [])
    stage(
        store,
        W[2],
        [
            {
                "data": [tweet("1", 1, "a", "u1"), tweet("3", 31, "c", "u1")],
                "includes": {"users": [USERS["u1"]]},
            }
        ],
        scores(("1", "MIXED", 0.3, 0.3, 0.0, 0.4), ("3", "POSITIVE", 0.6, 0.1, 0.3, 0.0)),
    )


def stage_analyses(store) -> list[str]:
    """ "vader" scores every window (and a post the primary never placed); "lexicon" only window
    0, and not post 2; "quiet" has only the empty window's file."""
    return [
        analyze(
            store,
            "vader",
            W[0],
            scores(
                ("1", "NEUTRAL", 0.1, 0.1, 0.8, 0.0),
                ("2", "NEGATIVE", 0.1, 0.7, 0.2, 0.0),
                ("99", "POSITIVE", 1.0, 0.0, 0.0, 0.0),
            ),
        ),
        analyze(store, "vader", W[1], []),
        analyze(
            store,
            "vader",
            W[2],
            scores(("1", "POSITIVE", 0.7, 0.1, 0.2, 0.0), ("3", "NEGATIVE", 0.2, 0.6, 0.2, 0.0)),
        ),
        analyze(store, "lexicon", W[0], scores(("1", "NEGATIVE", 0.2, 0.5, 0.3, 0.0))),
        analyze(store, "quiet", W[1], []),
    ]


def run(context, store, analysis_uris: list[str]) -> dict[str, list[dict]]:
    engine = create("batch", context, BackendSection(type="duckdb", csv=False))
    inputs = BatchInputs(
        "ev",
        SLUG,
        900,
        copy_uris(store, [layout.staging_key(SLUG, w) for w in STAGED]),
        copy_uris(store, [layout.sentiment_key(SLUG, w) for w in STAGED]),
        [int(w.start.timestamp()) for w in STAGED],
        analysis_uris,
    )
    outputs = outputs_for(SLUG)
    engine.run(inputs, outputs, store)

    def read(key: str) -> list[dict]:
        return pq.read_table(pa.BufferReader(store.get(key))).to_pylist()

    return {
        "tweets": read(outputs.tweets_parquet),
        "windows": read(outputs.windows_parquet),
        "scores": read(outputs.scores_parquet),
        "by_analyzer": read(outputs.by_analyzer_parquet),
        "agreement": read(outputs.agreement_parquet),
    }


def agreement_of(scores: list[dict]) -> list[dict]:
    """``analyzer_agreement`` counted from ``tweet_score`` rows: every pair of one post's
    scores, the analyzers in (code point) order, a pair of one analyzer with itself included."""
    by_post: dict[tuple, list[dict]] = {}
    for s in scores:
        by_post.setdefault((s["query"], s["tweet_id"]), []).append(s)
    counts: Counter[tuple] = Counter()
    for rows in by_post.values():
        for x in rows:
            for y in rows:
                if x["analyzer"] <= y["analyzer"]:
                    key = (x["query"], x["time_window"], x["analyzer"], y["analyzer"])
                    counts[(*key, x["label"], y["label"])] += 1
    names = AGREEMENT.column_names
    return [dict(zip(names, (*k, n), strict=True)) for k, n in sorted(counts.items())]


def _score(tid: str, analyzer: str, window: Window, label: str, *values: float) -> dict:
    names = ("positive", "negative", "neutral", "mixed")
    return {
        "query": "ev",
        "tweet_id": tid,
        "analyzer": analyzer,
        "time_window": window.start,
        "label": label,
        **dict(zip(names, values, strict=True)),
    }


def _window(analyzer: str, window: Window, labels: list[str], *averages: float) -> dict:
    n = len(labels)
    row = {"query": "ev", "analyzer": analyzer, "time_window": window.start, "count_tweets": n}
    for i, name in enumerate(("positive", "negative", "neutral", "mixed")):
        row[f"avg_{name}"] = averages[i] if n else None
    for label in ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"):
        row[f"perc_tweet_{label.lower()}"] = labels.count(label) / n if n else 0.0
    return row


def assert_rows(got: list[dict], expected: list[dict]) -> None:
    assert len(got) == len(expected), (got, expected)
    for g, e in zip(got, expected, strict=True):
        assert list(g) == list(e)
        for k, v in e.items():
            same = math.isclose(g[k], v, abs_tol=1e-12) if isinstance(v, float) else g[k] == v
            assert same, (k, g, e)


@pytest.mark.usefixtures("kathmandu")
def test_every_analyzer_scores_the_placed_posts(context, store) -> None:
    stage_primary(store)
    out = run(context, store, stage_analyses(store))

    # Post 1 was created in window 0 and re-scored in window 2: each analyzer's latest wins.
    # Post 99 was never placed by the primary; lexicon never scored posts 2 and 3.
    assert_rows(
        out["scores"],
        [
            _score("1", "lexicon", W[0], "NEGATIVE", 0.2, 0.5, 0.3, 0.0),
            _score("1", "test", W[0], "MIXED", 0.3, 0.3, 0.0, 0.4),
            _score("1", "vader", W[0], "POSITIVE", 0.7, 0.1, 0.2, 0.0),
            _score("2", "test", W[0], "NEGATIVE", 0.0, 0.8, 0.2, 0.0),
            _score("2", "vader", W[0], "NEGATIVE", 0.1, 0.7, 0.2, 0.0),
            _score("3", "test", W[2], "POSITIVE", 0.6, 0.1, 0.3, 0.0),
            _score("3", "vader", W[2], "NEGATIVE", 0.2, 0.6, 0.2, 0.0),
        ],
    )
    assert list(out["scores"][0]) == TWEET_SCORE.column_names

    # Every analyzer with a file gets a row per staged window, windows it never scored included.
    assert_rows(
        out["by_analyzer"],
        [
            _window("lexicon", W[0], ["NEGATIVE"], 0.2, 0.5, 0.3, 0.0),
            _window("lexicon", W[1], []),
            _window("lexicon", W[2], []),
            _window("quiet", W[0], []),
            _window("quiet", W[1], []),
            _window("quiet", W[2], []),
            _window("test", W[0], ["MIXED", "NEGATIVE"], 0.15, 0.55, 0.1, 0.2),
            _window("test", W[1], []),
            _window("test", W[2], ["POSITIVE"], 0.6, 0.1, 0.3, 0.0),
            _window("vader", W[0], ["POSITIVE", "NEGATIVE"], 0.4, 0.4, 0.2, 0.0),
            _window("vader", W[1], []),
            _window("vader", W[2], ["NEGATIVE"], 0.2, 0.6, 0.2, 0.0),
        ],
    )
    assert list(out["by_analyzer"][0]) == SENTIMENT_BY_ANALYZER.column_names

    # The analyzers' confusion counts are those of the scores' pairs, post 1 in window 0 once.
    assert out["agreement"] == agreement_of(out["scores"])
    w0 = {
        tuple(r.values())[2:6]: r["count"]
        for r in out["agreement"]
        if r["time_window"] == W[0].start
    }
    assert w0[("lexicon", "test", "NEGATIVE", "MIXED")] == 1
    assert w0[("test", "vader", "NEGATIVE", "NEGATIVE")] == 1
    assert w0[("test", "test", "MIXED", "MIXED")] == 1

    # The primary's own outputs are those of a run without the other analyzers.
    alone = run(context, store, [])
    assert (out["tweets"], out["windows"]) == (alone["tweets"], alone["windows"])


def test_one_analyzer_gives_the_primary_rows(context, store) -> None:
    stage_primary(store)
    out = run(context, store, [])
    columns = TWEET_SCORE.column_names
    expected = sorted(
        ({c: t[c] for c in columns} for t in out["tweets"]),
        key=lambda r: (r["time_window"], r["tweet_id"]),
    )
    assert out["scores"] == expected
    shared = [c for c in SENTIMENT_BY_ANALYZER.column_names if c != "analyzer"]
    assert [{k: r[k] for k in shared} for r in out["by_analyzer"]] == [
        {k: r[k] for k in shared} for r in out["windows"]
    ]
    assert {r["analyzer"] for r in out["by_analyzer"]} == {"test"}
    assert list(out["windows"][0]) == SENTIMENT.column_names


def test_only_empty_windows_still_get_a_row_per_analyzer(context, store) -> None:
    for w in STAGED:
        stage(store, w, [{"meta": {"result_count": 0}}], [])
    out = run(context, store, [analyze(store, "vader", W[2], [])])
    assert out["scores"] == []
    assert [(r["analyzer"], r["count_tweets"]) for r in out["by_analyzer"]] == [
        ("test", 0),
        ("test", 0),
        ("test", 0),
        ("vader", 0),
        ("vader", 0),
        ("vader", 0),
    ]
    shared = [c for c in SENTIMENT_BY_ANALYZER.column_names if c != "analyzer"]
    without = [{k: r[k] for k in shared} for r in out["by_analyzer"]]
    assert without[:3] == [{k: r[k] for k in shared} for r in out["windows"]]
