"""Conservation: over random window files, every post read is a row of `tweet` or is counted
under one named reason, with the same counts a plain-Python model of the rules gives, on DuckDB
and on Spark alike."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.test_spark_parity as parity
from tests.conftest import copy_uris, make_config
from tests.test_batch_job import SLUG, T0, W, stage
from tweetsense.batch.base import BatchInputs
from tweetsense.batch.job import DROP_REASONS, PLACED, SNOWFLAKE_EPOCH_MS, SNOWFLAKE_MIN_ID
from tweetsense.config import BackendSection
from tweetsense.pipeline.batch import outputs_for
from tweetsense.registry import Context, create
from tweetsense.timeutil import format_utc, parse_utc

spark = parity.spark  # the module's Spark session fixture
FREQ = 900
MALFORMED_TIMES = ("not a time", "2024-13-45T99:00:00Z", "", "yesterday")


def snowflake(at: datetime) -> str:
    return str((int(at.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22)


minutes = st.floats(min_value=-40, max_value=100, allow_nan=False).map(
    lambda m: T0 + timedelta(milliseconds=round(m * 60_000))
)
small_ids = st.integers(1, 12).map(str)
post = st.fixed_dictionaries(
    {
        # A small pool of plain ids makes duplicates within and across windows common.
        "id": st.one_of(small_ids, st.integers(1, 12), minutes.map(snowflake)),
        "created_at": st.one_of(
            minutes.map(format_utc), st.sampled_from(MALFORMED_TIMES), st.none()
        ),
        "text": st.one_of(st.none(), st.sampled_from(["", "ok", "émoji 🚗", "a\nb"])),
        "scored": st.booleans(),
        # edit_history_tweet_ids: ids before and after the post's own one (which a malformed
        # history may lack), drawn from the same small pool so edits meet staged posts.
        "history": st.one_of(
            st.none(),
            st.tuples(
                st.lists(small_ids, max_size=2), st.booleans(), st.lists(small_ids, max_size=2)
            ),
        ),
    }
)
window_files = st.lists(
    st.tuples(st.booleans(), st.lists(st.lists(post, max_size=6), max_size=3)),
    min_size=len(W),
    max_size=len(W),
)


def staged_files(store: Any, files: list[tuple[bool, list[list[dict]]]]) -> list:
    windows = []
    for window, (is_staged, pages) in zip(W, files, strict=True):
        if not is_staged:
            continue
        windows.append(window)
        data = [[_page_post(p) for p in page] for page in pages]
        scores = [
            {"tweet_id": str(p["id"]), "label": "NEUTRAL", "positive": 0.2, "negative": 0.2,
             "neutral": 0.6, "mixed": 0.0}
            for page in pages for p in page if p["scored"]
        ]  # fmt: skip
        stage(store, window, [{"data": d} if d else {"meta": {}} for d in data], scores)
    return windows


def _page_post(p: dict) -> dict:
    out = {"id": p["id"]}
    if p["created_at"] is not None:
        out["created_at"] = p["created_at"]
    if p["text"] is not None:
        out["text"] = p["text"]
    if p["history"] is not None:
        out["edit_history_tweet_ids"] = _history(p)
    return out


def _history(p: dict) -> list[str]:
    before, has_own, after = p["history"]
    return [*before, *([str(p["id"])] if has_own else []), *after]


def model(files: list[tuple[bool, list[list[dict]]]]) -> tuple[Counter[str], set[str]]:
    """The rules in plain Python: the fate of every post, and the ids placed."""
    rows, scored = [], set()
    for window, (is_staged, pages) in zip(W, files, strict=True):
        if not is_staged:
            continue
        order = int(window.start.timestamp())
        for page_no, page in enumerate(pages, start=1):
            for pos, p in enumerate(page, start=1):
                rows.append(((order, page_no * 1_000_000 + pos), p))
                if p["scored"]:
                    scored.add(str(p["id"]))
    latest = {}
    for key, p in sorted(rows, key=lambda r: r[0]):
        latest[str(p["id"])] = key
    # Earlier versions: the ids a staged post lists before its own in its edit history.
    superseded = set()
    for _, p in rows:
        history = _history(p) if p["history"] is not None else []
        if str(p["id"]) in history:
            superseded.update(history[: history.index(str(p["id"]))])
    staged = {int(w.start.timestamp()) for w, (s, _) in zip(W, files, strict=True) if s}
    fates: Counter[str] = Counter()
    placed = set()
    for key, p in rows:
        tid = str(p["id"])
        at = _time(p)
        if latest[tid] != key:
            fate = "duplicate"
        elif tid in superseded:
            fate = "edited"
        elif at is None:
            fate = "no_time"
        elif tid not in scored:
            fate = "unscored"
        elif int(at.timestamp()) // FREQ * FREQ not in staged:
            fate = "outside_range"
        else:
            fate = PLACED
            placed.add(tid)
        fates[fate] += 1
    return fates, placed


def _time(p: dict) -> datetime | None:
    if p["created_at"] not in (None, *MALFORMED_TIMES):
        return parse_utc(p["created_at"])
    number = int(p["id"])
    if number < SNOWFLAKE_MIN_ID:
        return None
    return datetime.fromtimestamp(((number >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, T0.tzinfo)


def run(engine: Any, store: Any, windows: list) -> tuple[list[dict], list[dict]]:
    outputs = outputs_for(SLUG)
    inputs = BatchInputs(
        "ev",
        SLUG,
        FREQ,
        copy_uris(store, [f"staging/{SLUG}/{w.start:%Y-%m-%d/%H%M}.json" for w in windows]),
        copy_uris(store, [f"sentiment/{SLUG}/{w.start:%Y-%m-%d/%H%M}.json" for w in windows]),
        [int(w.start.timestamp()) for w in windows],
    )
    result = engine.run(inputs, outputs, store)
    tweets = pq.read_table(pa.BufferReader(store.get(outputs.tweets_parquet))).to_pylist()
    return result.ledger, tweets


def check(engine_of: Any, files: list[tuple[bool, list[list[dict]]]]) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        context = Context(make_config(folder))
        store = create("storage", context, BackendSection(type="local"))
        windows = staged_files(store, files)
        if not windows:
            return
        ledger, tweets = run(engine_of(context), store, windows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    fates, placed = model(files)
    totals: Counter[str] = Counter()
    for row in ledger:
        assert row["fetched"] == row[PLACED] + sum(row[r] for r in DROP_REASONS)
        totals.update({k: v for k, v in row.items() if k != "file_epoch"})
    posts = sum(len(page) for s, pages in files if s for page in pages)
    assert totals["fetched"] == posts
    assert {r: totals[r] for r in (PLACED, *DROP_REASONS) if totals[r]} == dict(fates)
    assert sorted(t["tweet_id"] for t in tweets) == sorted(placed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=window_files)
def test_every_post_is_placed_or_counted_on_duckdb(files: list) -> None:
    check(lambda context: create("batch", context, BackendSection(type="duckdb")), files)


@pytest.mark.slow
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(files=window_files)
def test_every_post_is_placed_or_counted_on_spark(spark: Any, files: list) -> None:
    check(parity.spark_engine, files)
