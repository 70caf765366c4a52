"""Spikes: robust z-scores against the windows before, on series computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from tweetsense.batch.spikes import NET_FLOOR, spike_rows, spikes
from tweetsense.config import InsightSection
from tweetsense.warehouse.dialects import arrow_schema
from tweetsense.warehouse.schema import SENTIMENT, SENTIMENT_SPIKE

T0 = datetime(2024, 3, 1, tzinfo=UTC)
SETTINGS = {"baseline": 4, "min_baseline": 3, "threshold": 3.5}


def test_a_burst_against_a_noisy_baseline() -> None:
    # Baseline of index 4: [10, 12, 8, 10], median 10, deviations [0, 2, 2, 0], MAD 1:
    # scale max(1.4826, sqrt(10)=3.162, 1) = 3.162; (40 - 10) / 3.162 = 9.487.
    rows = spike_rows([10, 12, 8, 10, 40, 11], **SETTINGS)
    assert len(rows) == 1
    i, value, median, score, direction = rows[0]
    assert (i, value, median, direction) == (4, 40.0, 10.0, "up")
    assert score == pytest.approx(30 / 10**0.5)
    # Index 5's baseline [12, 8, 10, 40]: median 11, MAD 1.5 -> scale 3.317; score 0.


def test_a_wide_baseline_scales_by_its_mad() -> None:
    # Baseline [100, 140, 60, 100]: median 100, MAD 20, scale 29.652 (> sqrt(100) = 10);
    # 0 -> (0 - 100) / 29.652 = -3.372, under the threshold; -10 -> -3.710, a dip.
    assert spike_rows([100, 140, 60, 100, 0], **SETTINGS) == []
    (row,) = spike_rows([100, 140, 60, 100, -10], **SETTINGS)
    assert row[0] == 4 and row[4] == "down"
    assert row[3] == pytest.approx(-110 / (1.4826 * 20))


def test_too_short_a_baseline_flags_nothing_and_nulls_are_skipped() -> None:
    assert spike_rows([1, 1, 1000], **SETTINGS) == []  # two values before: fewer than 3
    # The nulls are neither values nor baseline: index 4's baseline is [1, 1, 1].
    (row,) = spike_rows([1, None, 1, 1, 9, None], **SETTINGS)
    # Flat baseline: MAD 0, scale max(0, sqrt(1), 1) = 1; score 8.
    assert (row[0], row[2], row[3]) == (4, 1.0, 8.0)


def test_net_sentiment_floor() -> None:
    flat = [0.1, 0.1, 0.1, 0.1]
    # Scale is the floor 0.02: a move of 0.06 scores 3 (no spike), one of 0.08 scores 4.
    assert spike_rows([*flat, 0.16], floor=NET_FLOOR, **SETTINGS) == []
    (row,) = spike_rows([*flat, 0.02], floor=NET_FLOOR, **SETTINGS)
    assert row[3] == pytest.approx(-4.0) and row[4] == "down"


def _window(i: int, count: int, positive: float, negative: float, volume: int | None) -> dict:
    row = {c: 0.0 for c in SENTIMENT.column_names}
    row.update(
        query="ev",
        time_window=T0 + timedelta(minutes=15 * i),
        count_tweets=count,
        volume=volume,
        perc_tweet_positive=positive,
        perc_tweet_negative=negative,
    )
    return row


def test_spikes_table_from_the_windows() -> None:
    # Volume: counted where given, else the posts read; window 4 bursts to 400.
    # Net sentiment: 0.2 in windows with posts; window 3 is empty (not in that baseline),
    # window 5 drops to -0.4.
    windows = [
        _window(0, 10, 0.5, 0.3, 100),
        _window(1, 10, 0.5, 0.3, None),  # volume 10
        _window(2, 10, 0.5, 0.3, 100),
        _window(3, 0, 0.0, 0.0, 100),
        _window(4, 10, 0.5, 0.3, 400),
        _window(5, 10, 0.2, 0.6, 100),
    ]
    table = pa.Table.from_pylist(windows[::-1], schema=arrow_schema(SENTIMENT))
    insight = InsightSection(spike_baseline=4, spike_min_baseline=3, spike_threshold=3.5)
    out = spikes(table, insight)
    assert out.schema == arrow_schema(SENTIMENT_SPIKE)
    rows = out.to_pylist()
    # Volume baseline of window 4: [100, 10, 100, 100], median 100, MAD 0 -> scale 10; 30.
    # Window 5: [10, 100, 100, 400], median 100, MAD 45 -> scale 66.7; score 0.
    # Net of window 5: baseline [0.2, 0.2, 0.2, 0.2] (window 3 skipped), scale 0.02; -30.
    assert [(r["time_window"], r["metric"], r["direction"]) for r in rows] == [
        (T0 + timedelta(minutes=60), "volume", "up"),
        (T0 + timedelta(minutes=75), "net_sentiment", "down"),
    ]
    assert rows[0]["value"] == 400 and rows[0]["baseline"] == 100
    assert rows[0]["score"] == pytest.approx(30.0)
    assert rows[1]["value"] == pytest.approx(-0.4) and rows[1]["baseline"] == pytest.approx(0.2)
    assert rows[1]["score"] == pytest.approx(-30.0)
    assert {r["query"] for r in rows} == {"ev"}
