"""The Spark engine computes exactly what DuckDB computes, from the same window files.

One Spark session serves the whole module (a JVM's first job takes seconds). It is started with
a +05:45 local zone in both the environment and the JVM, so any bucketing or formatting in local
time instead of UTC shows up as a difference.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import random
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.conftest import copy_uris
from tests.test_analyses_batch import agreement_of
from tests.test_batch_job import SLUG, T0, stage, tweet
from tweetsense import layout
from tweetsense.batch import spikes
from tweetsense.batch.base import BatchInputs, BatchResult
from tweetsense.batch.job import DROP_REASONS, SNOWFLAKE_EPOCH_MS
from tweetsense.batch.spark_session import find_java_home, start_session
from tweetsense.cli.app import app
from tweetsense.config import BackendSection, InsightSection
from tweetsense.contracts import LABELS, SentimentDoc
from tweetsense.errors import BadInputError, ConfigError
from tweetsense.pipeline.batch import outputs_for
from tweetsense.registry import create, settings_for
from tweetsense.timeutil import Window

LOCAL_ZONE = "Asia/Kathmandu"
N_WINDOWS = 12
WINDOWS = [
    Window(T0 + timedelta(minutes=15 * i), T0 + timedelta(minutes=15 * (i + 1)))
    for i in range(N_WINDOWS)
]


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = LOCAL_ZONE
    time.tzset()
    try:
        session = start_session(
            master="local[2]",
            app_name="tweetsense-tests",
            conf={"spark.driver.extraJavaOptions": f"-Duser.timezone={LOCAL_ZONE}"},
        )
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
    assert session.sparkContext._jvm.java.util.TimeZone.getDefault().getID() == LOCAL_ZONE
    yield session
    session.stop()


def spark_engine(context):
    return create("batch", context, BackendSection(type="spark", shuffle_partitions=3))


def _scores(rng: random.Random, tid: str, labels: tuple[str, ...]) -> dict:
    raw = [rng.random() for _ in range(4)]
    total = sum(raw)
    probs = [r / total for r in raw]
    return {
        "tweet_id": tid,
        "label": rng.choice(labels),
        **dict(zip(("positive", "negative", "neutral", "mixed"), probs, strict=True)),
    }


def _user(uid: str, version: int) -> dict:
    user = {"id": uid, "username": f"user{uid}_{version}", "name": f'Name, "{uid}"\n{version}'}
    if version % 2:
        user["verified"] = bool(int(uid[1:]) % 2)
        user["location"] = f"city {version}"
    return user


def _labels(window_index: int) -> tuple[str, ...]:
    """Window 4's posts are never NEUTRAL and window 9's all POSITIVE, re-scored or not."""
    return {4: ("POSITIVE", "NEGATIVE", "MIXED"), 9: ("POSITIVE",)}.get(window_index, LABELS)


def snowflake(at: datetime) -> str:
    return str((int(at.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22)


def _unplaced_posts(window: Window) -> list[dict]:
    """Posts as some pages hold them: no created_at (its id gives the time), no time at all,
    and one that was never scored."""
    at = window.start + timedelta(minutes=7, milliseconds=250)
    return [
        {"id": snowflake(at), "text": "time from the id", "edit_history_tweet_ids": []},
        {"id": "no-snowflake", "text": "no time anywhere"},
        tweet("unscored", 15 * 6 + 1, "never scored", "u1"),
    ]


LONG = "A long post, cut short in its text. " * 10


def _text_posts(window: Window) -> tuple[list[dict], list[dict]]:
    """Posts whose whole text is elsewhere, and edits; with the page's included posts."""
    minute = (window.start - T0).total_seconds() / 60 + 2
    cut = LONG[:270] + "…"

    def repost(tid: str, original: str) -> dict:
        refs = [{"type": "retweeted", "id": original}]
        return tweet(tid, minute, "RT @a: cut…", "u1", referenced_tweets=refs)

    def edit(tid: str, history: list[str]) -> dict:
        return tweet(tid, minute, f"version {tid}", "u2", edit_history_tweet_ids=history)

    posts = [
        edit("edit-a1", ["edit-a1", "edit-a2"]),  # dropped: its edit is staged
        edit("edit-a2", ["edit-a1", "edit-a2"]),
        edit("edit-b1", ["edit-b1", "edit-b2"]),  # kept: its edit is not staged
        repost("rt-short", "orig-short"),
        repost("rt-long", "orig-long"),
        repost("rt-missing", "orig-missing"),
        repost("rt-short-again", "orig-short"),  # one opinion with rt-short
        tweet("long", minute, cut, "u3", note_tweet={"text": LONG + "&amp;"}),
    ]
    included = [
        {"id": "orig-short", "text": "the original &lt;3"},
        {"id": "orig-long", "text": cut, "note_tweet": {"text": LONG}},
    ]
    return posts, included


def _engagement(tid: str) -> dict:
    """Public metrics for most posts (their own generator, so the other data stays as it
    was), some of them partial; a post without them has none."""
    rng = random.Random(f"metrics {tid}")
    if rng.random() < 0.2:
        return {}
    names = ("like_count", "retweet_count", "reply_count", "quote_count")
    metrics = {n: rng.randint(0, 50) for n in names if rng.random() < 0.9}
    out: dict = {"public_metrics": {**metrics, "impression_count": rng.randint(0, 999)}}
    # Entities as the API writes them, in any case and with repeats; some parts missing.
    pick = rng.sample
    entities = {
        "hashtags": [{"start": 0, "end": 3, "tag": t} for t in pick(["EV", "ev", "Recall"], 2)],
        "mentions": [{"username": u, "id": "1"} for u in pick(["Ana", "bo", "ANA"], 1)],
        "urls": [
            {"url": "https://t.co/x", **({"expanded_url": e} if e else {})}
            for e in pick(["https://www.News.example.com/a", None, "http://x.org:80/"], 2)
        ],
        "annotations": [{"normalized_text": n} for n in pick([" Tesla", "Oslo", "Tesla"], 2)],
    }
    if rng.random() < 0.5:
        del entities[rng.choice(list(entities))]
    out["entities"] = entities
    if rng.random() < 0.5:
        out["context_annotations"] = [
            {
                "domain": {"id": "1", "name": "Brand"},
                "entity": {"name": rng.choice(["Tesla", "Volvo"])},
            }
        ]
    return out


def stage_synthetic(store, seed: int = 7) -> list[Window]:
    """Windows with every case the merge must get right; returns the staged ones, in order."""
    rng = random.Random(seed)
    staged: list[Window] = []
    origin: dict[str, int] = {}  # the window a re-delivered post was first staged in
    seen: list[tuple[str, float, str, int]] = []
    for i, window in enumerate(WINDOWS):
        if i == 5:
            continue  # never staged: no row for it in either output
        staged.append(window)
        if i in (3, 8):  # staged but empty: one row with zero counts
            stage(store, window, [{"meta": {"result_count": 0}}], [])
            continue
        pages, score_rows = [], []
        for page_no in range(rng.randint(1, 3)):
            posts, users = [], []
            for j in range(rng.randint(3, 12)):
                tid = f"{i:02d}{page_no}{j:02d}"
                minute = 15 * i + rng.random() * 15
                if rng.random() < 0.1:  # created before the range: left out of both outputs
                    minute = -rng.random() * 60
                author = f"u{rng.randint(0, 14)}"
                extra = {}
                if rng.random() < 0.3:
                    extra["referenced_tweets"] = [
                        {"type": "quoted", "id": str(rng.randint(1, 99))},
                        {"type": "replied_to"},
                    ]
                if rng.random() < 0.5:
                    extra["conversation_id"] = tid
                text = rng.choice(["plain", 'comma, "quote"', "line\nbreak", "émoji 🚗", ""])
                extra.update(_engagement(tid))
                posts.append(tweet(tid, minute, text, author, **extra))
                seen.append((tid, minute, author, i))
                # Authors u10..u14 never come with metadata.
                if int(author[1:]) < 10:
                    users.append(_user(author, rng.randint(0, 3)))
            # Re-deliveries of earlier posts, from earlier windows and from this page.
            for tid, minute, author, first in rng.sample(seen, min(len(seen), 3)):
                posts.append(tweet(tid, minute, f"again {tid}", author))
                origin[tid] = first
            scored = list(posts)
            if i == 6 and page_no == 0:
                posts.extend(_unplaced_posts(window))
            page = {"data": posts, "meta": {"result_count": len(posts)}}
            if users:
                page["includes"] = {"users": users}
            if i == 7 and page_no == 0:
                more, included = _text_posts(window)
                posts.extend(more)
                page["includes"] = {**page.get("includes", {}), "tweets": included}
                # Its own generator, so the other windows' data stays as it was.
                score_rows.extend(_scores(random.Random(i), p["id"], LABELS) for p in more)
            pages.append(page)
            score_rows.extend(
                _scores(rng, p["id"], _labels(origin.get(p["id"], i))) for p in scored
            )
            if i == 6 and page_no == 0:  # the post without a time is scored, as consume would
                score_rows.extend(_scores(rng, p["id"], LABELS) for p in posts[-3:-1])
        # Some windows were counted: more posts than read, or none (the sample came late).
        volume = {1: 250, 2: 0, 9: 31}.get(i)
        stage(store, window, pages, score_rows, volume)
        analyze(store, i, window, score_rows)
    return staged


OTHER = "other"  # another analyzer: it leaves windows 8 and 10 out and skips some posts


def analyze(store, i: int, window: Window, score_rows: list[dict]) -> None:
    if i in (8, 10):
        return
    # Its own generator, so the primary's data stays as it was.
    rng = random.Random(1000 + i)
    rows = [_scores(rng, r["tweet_id"], LABELS) for r in score_rows if rng.random() < 0.8]
    skey = layout.staging_key(SLUG, window)
    doc = SentimentDoc("ev", window, OTHER, skey, "digest", rows)
    store.put(layout.sentiment_key(SLUG, window, OTHER), doc.encode())


def inputs_for(store, windows: list[Window]) -> BatchInputs:
    return BatchInputs(
        "ev",
        SLUG,
        900,
        copy_uris(store, [layout.staging_key(SLUG, w) for w in windows]),
        copy_uris(store, [layout.sentiment_key(SLUG, w) for w in windows]),
        [int(w.start.timestamp()) for w in windows],
        copy_uris(
            store,
            [
                layout.sentiment_key(SLUG, w, OTHER)
                for w in windows
                if store.exists(layout.sentiment_key(SLUG, w, OTHER))
            ],
        ),
    )


def run_engine(
    engine, store, windows: list[Window], inputs: BatchInputs | None = None
) -> tuple[BatchResult, dict[str, object]]:
    outputs = outputs_for(SLUG)
    result = engine.run(inputs or inputs_for(store, windows), outputs, store)
    files = {
        "tweets": pq.read_table(pa.BufferReader(store.get(outputs.tweets_parquet))),
        "windows": pq.read_table(pa.BufferReader(store.get(outputs.windows_parquet))),
        "tweets_csv": store.get(outputs.tweets_csv).decode(),
        "windows_csv": store.get(outputs.windows_csv).decode(),
        "scores": pq.read_table(pa.BufferReader(store.get(outputs.scores_parquet))),
        "by_analyzer": pq.read_table(pa.BufferReader(store.get(outputs.by_analyzer_parquet))),
        "drivers": pq.read_table(pa.BufferReader(store.get(outputs.drivers_parquet))),
        "agreement": pq.read_table(pa.BufferReader(store.get(outputs.agreement_parquet))),
    }
    # The spikes step after either engine, with a baseline short enough to flag some windows.
    insight = InsightSection(spike_baseline=4, spike_min_baseline=3, spike_threshold=1.0)
    spikes.write(store, outputs.windows_parquet, outputs.spikes_parquet, insight)
    files["spikes"] = pq.read_table(pa.BufferReader(store.get(outputs.spikes_parquet)))
    return result, files


def _same_value(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return a == b


def _same_cell(a: str, b: str) -> bool:
    """CSV cells: identical text, or the same number (engines spell 1e-05 differently)."""
    if a == b:
        return True
    try:
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)
    except ValueError:
        return False


def assert_same_table(duck: pa.Table, spark: pa.Table) -> None:
    # Types and order must match; nullability flags are each writer's own inference.
    assert [(f.name, f.type) for f in spark.schema] == [(f.name, f.type) for f in duck.schema]
    duck_rows, spark_rows = duck.to_pylist(), spark.to_pylist()
    assert len(spark_rows) == len(duck_rows)
    for d, s in zip(duck_rows, spark_rows, strict=True):
        different = [k for k in d if not _same_value(d[k], s[k])]
        assert not different, (different, d, s)


def assert_same_csv(duck: str, spark: str) -> None:
    duck_rows = list(csv.reader(io.StringIO(duck)))
    spark_rows = list(csv.reader(io.StringIO(spark)))
    assert spark_rows[0] == duck_rows[0]
    assert len(spark_rows) == len(duck_rows)
    for d, s in zip(duck_rows, spark_rows, strict=True):
        assert all(_same_cell(a, b) for a, b in zip(d, s, strict=True)), (d, s)


@pytest.fixture
def local_store(context):
    return create("storage", context, BackendSection(type="local"))


@pytest.mark.usefixtures("kathmandu")
def test_spark_matches_duckdb(spark, context, store, local_store) -> None:
    """Spark reads ``store`` (an S3 one is copied through the storage layer, as a local Spark
    has no s3 file system); DuckDB reads the same files from a local store."""
    check_parity(context, store, local_store)


@pytest.mark.usefixtures("utc")
def test_spark_matches_duckdb_in_a_utc_process(spark, context, local_store) -> None:
    check_parity(context, local_store, local_store)


def check_parity(context, store, local_store) -> None:
    staged = stage_synthetic(store)
    if local_store is not store:
        stage_synthetic(local_store)
    duckdb = create("batch", context, BackendSection(type="duckdb"))
    duck_result, duck = run_engine(duckdb, local_store, staged)
    spark_result, sparked = run_engine(spark_engine(context), store, staged)

    assert (spark_result.tweets, spark_result.windows) == (duck_result.tweets, duck_result.windows)
    assert spark_result.label_counts == duck_result.label_counts
    assert spark_result.ledger == duck_result.ledger
    assert_same_table(duck["tweets"], sparked["tweets"])
    assert_same_table(duck["windows"], sparked["windows"])
    assert_same_csv(duck["tweets_csv"], sparked["tweets_csv"])
    assert_same_csv(duck["windows_csv"], sparked["windows_csv"])
    assert sparked["windows_csv"].splitlines()[1].split(",")[1] == "2024-03-01T00:00:00.000Z"
    assert_same_table(duck["scores"], sparked["scores"])
    assert_same_table(duck["by_analyzer"], sparked["by_analyzer"])
    assert_same_table(duck["drivers"], sparked["drivers"])
    assert_same_table(duck["agreement"], sparked["agreement"])
    assert_same_table(duck["spikes"], sparked["spikes"])

    # The data exercised what it is meant to: one row per staged window, empty ones included.
    windows = sparked["windows"].to_pylist()
    assert [w["time_window"] for w in windows] == [w.start for w in staged]
    by_start = {w["time_window"]: w for w in windows}
    assert by_start[WINDOWS[3].start]["count_tweets"] == 0
    assert by_start[WINDOWS[3].start]["avg_positive"] is None
    assert by_start[WINDOWS[4].start]["count_tweets"] > 0
    assert by_start[WINDOWS[4].start]["perc_tweet_neutral"] == 0.0
    assert by_start[WINDOWS[9].start]["perc_tweet_positive"] == 1.0
    tweets = sparked["tweets"].to_pylist()
    ids = [t["tweet_id"] for t in tweets]
    assert len(ids) == len(set(ids))
    assert any(t["text"].startswith("again ") for t in tweets)  # a later copy won
    assert any(t["username"] is None and t["user_id"] >= "u10" for t in tweets)
    assert all(t["created_at"] >= T0 for t in tweets)  # posts before the range left out
    derived = next(t for t in tweets if t["text"] == "time from the id")
    assert derived["created_at"] == WINDOWS[6].start + timedelta(minutes=7, milliseconds=250)
    assert derived["time_window"] == WINDOWS[6].start and derived["user_id"] is None

    # The stored text is the whole one; an edited post counts once.
    texts = {t["tweet_id"]: t["text"] for t in tweets}
    assert "edit-a1" not in texts and texts["edit-a2"] == "version edit-a2"
    assert texts["edit-b1"] == "version edit-b1"
    assert texts["rt-short"] == "the original <3" and texts["rt-long"] == LONG
    assert texts["rt-missing"] == "RT @a: cut…" and texts["long"] == LONG + "&"

    # Post types, metrics, counted volumes and reposts counted once were all exercised.
    assert {t["post_type"] for t in tweets} == {"original", "quote", "repost"}
    assert any(t["like_count"] is None and t["engagement"] > 0 for t in tweets)
    assert any(t["repost_count"] is None and t["like_count"] is None for t in tweets)
    volumes = {w["time_window"]: w["volume"] for w in windows}
    assert [volumes[WINDOWS[i].start] for i in (0, 1, 2, 9)] == [None, 250, 0, 31]
    w7 = by_start[WINDOWS[7].start]
    assert w7["count_reposts"] >= 4 and w7["count_opinions"] < w7["count_tweets"]
    assert by_start[WINDOWS[3].start]["weighted_net"] is None

    # Every kind of driver was found, each post's drivers are in its terms, words only where
    # two posts of the window use them.
    drivers = sparked["drivers"].to_pylist()
    assert {d["kind"] for d in drivers} == {"entity", "hashtag", "mention", "domain", "term"}
    domains = {d["term"] for d in drivers if d["kind"] == "domain"}
    assert domains == {"news.example.com", "x.org", "t.co"}  # t.co: no expanded_url
    assert {d["term"] for d in drivers if d["kind"] == "entity"} == {"Tesla", "Oslo", "Volvo"}
    assert {d["term"] for d in drivers if d["kind"] == "mention"} == {"@ana", "@bo"}
    with_terms = [t for t in tweets if t["terms"]]
    assert with_terms and all(t["terms"].startswith("\n") for t in with_terms)
    for d in drivers[:50]:
        line = f"\n{d['kind']}:{d['term']}\n"
        posts = [
            t
            for t in tweets
            if t["time_window"] == d["time_window"]
            and t["label"] == d["label"]
            and line in (t["terms"] or "")
        ]
        assert len(posts) == d["count"], d
    assert sparked["spikes"].num_rows > 0

    # Every post read is placed or dropped under one reason; the reasons were all exercised.
    ledger = {row["file_epoch"]: row for row in spark_result.ledger}
    assert sum(r["placed"] for r in ledger.values()) == spark_result.tweets
    for row in ledger.values():
        assert row["fetched"] == row["placed"] + sum(row[r] for r in DROP_REASONS)
    window6 = ledger[int(WINDOWS[6].start.timestamp())]
    assert (window6["no_time"], window6["unscored"], window6["time_derived"]) == (1, 1, 1)
    assert sum(r["duplicate"] for r in ledger.values()) > 0
    assert sum(r["outside_range"] for r in ledger.values()) > 0
    assert sum(r["edited"] for r in ledger.values()) == 1

    # Each analyzer scored the placed posts; the other one left some posts and windows out.
    scores = sparked["scores"].to_pylist()
    primary = [s for s in scores if s["analyzer"] != OTHER]
    assert sorted(s["tweet_id"] for s in primary) == sorted(ids)
    other = {s["tweet_id"] for s in scores if s["analyzer"] == OTHER}
    assert other and other < set(ids)
    agreement = sparked["agreement"].to_pylist()
    assert agreement == agreement_of(scores)
    assert {(r["analyzer_a"], r["analyzer_b"]) for r in agreement} == {
        tuple(sorted((OTHER, "test"))),
        (OTHER, OTHER),
        ("test", "test"),
    }
    by_analyzer = sparked["by_analyzer"].to_pylist()
    assert len(by_analyzer) == 2 * len(staged)
    counts = {(r["analyzer"], r["time_window"]): r["count_tweets"] for r in by_analyzer}
    # Window 10's posts come to the other analyzer only when a later window re-delivers them.
    assert counts[(OTHER, WINDOWS[10].start)] < counts[("test", WINDOWS[10].start)]
    assert all(counts[(OTHER, w.start)] <= counts[("test", w.start)] for w in staged)
    assert [w["count_tweets"] for w in windows] == [
        counts[("test", w["time_window"])] for w in windows
    ]


def test_empty_range_and_rerun_are_stable(spark, context, local_store) -> None:
    store = local_store
    staged = [WINDOWS[0], WINDOWS[1]]
    for w in staged:
        stage(store, w, [{"meta": {"result_count": 0}}], [])
    engine = spark_engine(context)
    first = run_engine(engine, store, staged)
    assert first[0] == BatchResult(0, 2, {})
    duck = run_engine(create("batch", context, BackendSection(type="duckdb")), store, staged)
    assert_same_table(duck[1]["tweets"], first[1]["tweets"])
    assert_same_csv(duck[1]["windows_csv"], first[1]["windows_csv"])
    assert run_engine(engine, store, staged) == first
    assert not list(Path(context.data_dir, ".tmp").glob("spark-*"))  # scratch cleaned up


def test_windows_without_files_match_between_engines(spark, context, local_store) -> None:
    """Windows the ingest manifest marks empty: in the spine, with their counted volume and
    every analyzer, without a file to read; beside staged windows, and alone."""
    store = local_store
    staged = stage_synthetic(store)
    empty = [int(w.start.timestamp()) + 86_400 for w in WINDOWS[:3]]
    base = inputs_for(store, staged)
    beside = dataclasses.replace(
        base,
        window_starts=[*base.window_starts, *empty],
        volumes=[(empty[0], 5)],
        analyzers=["test", OTHER],
    )
    alone = dataclasses.replace(
        beside, staging_uris=[], sentiment_uris=[], analysis_uris=[], window_starts=empty
    )
    duckdb = create("batch", context, BackendSection(type="duckdb"))
    for inputs in (beside, alone):
        duck_result, duck = run_engine(duckdb, store, [], inputs)
        spark_result, sparked = run_engine(spark_engine(context), store, [], inputs)
        assert spark_result == duck_result
        for name in ("tweets", "windows", "scores", "by_analyzer", "spikes"):
            assert_same_table(duck[name], sparked[name])
        rows = {r["time_window"].timestamp(): r for r in duck["windows"].to_pylist()}
        assert [(rows[t]["count_tweets"], rows[t]["volume"]) for t in empty] == [
            (0, 5),
            (0, None),
            (0, None),
        ]
        by_analyzer = duck["by_analyzer"].to_pylist()
        assert len(by_analyzer) == 2 * len(inputs.window_starts)
    assert duck_result.windows == 3 and duck_result.tweets == 0


def test_malformed_window_file_is_one_line_error(spark, context, local_store) -> None:
    store = local_store
    stage_synthetic(store)
    store.put(layout.staging_key(SLUG, WINDOWS[1]), b'{"window_start": "2024-03-01T00:15')
    with pytest.raises(BadInputError) as err:
        run_engine(spark_engine(context), store, WINDOWS[:3])
    assert "\n" not in str(err.value) and "rerun ingest" in str(err.value)


def test_cli_batch_engine_spark_with_master(spark, tmp_path: Path) -> None:
    env = {
        "TWEETSENSE_SEARCH__END_TIME": "2024-03-01T02:00:00Z",
        "TWEETSENSE_SENTIMENT__WORKERS": "1",
    }
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(
            app, [*args, "--demo", "--data-dir", str(tmp_path)], env=env, catch_exceptions=False
        )

    assert invoke("ingest").exit_code == 0
    consumed = invoke("consume")
    assert consumed.exit_code == 0, consumed.output
    duck_run = invoke("batch")
    assert duck_run.exit_code == 0
    outputs = outputs_for(layout.query_slug("electric vehicles"))
    duck = pq.read_table(tmp_path / outputs.windows_parquet)
    result = invoke("batch", "--engine", "spark", "--master", "local[2]")
    assert result.exit_code == 0, result.output
    summary = re.findall(r"batch: [\d,]+ posts in \d+ windows", duck_run.output)
    assert summary and summary == re.findall(r"batch: [\d,]+ posts in \d+ windows", result.output)
    assert summary[0].endswith(" in 8 windows")
    assert_same_table(duck, pq.read_table(tmp_path / outputs.windows_parquet))
    bad = invoke("batch", "--master", "local[2]")  # the configured engine is duckdb
    assert bad.exit_code == 2 and "batch.master" in bad.output


def test_settings_errors_name_the_setting(context, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^batch\.shuffle_partitions: "):
        settings_for("batch", BackendSection(type="spark", shuffle_partitions=0))
    with pytest.raises(ConfigError, match=r"^batch\.threads: unknown setting"):
        settings_for("batch", BackendSection(type="spark", threads=2))
    with pytest.raises(ConfigError, match=r"^batch\.java_home: .* no bin/java"):
        find_java_home(str(tmp_path))
    assert Path(find_java_home(None), "bin", "java").exists()
