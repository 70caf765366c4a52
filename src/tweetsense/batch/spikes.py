"""Windows whose volume or net sentiment departs from the windows before them.

The windows output has one row per window (35,040 a year at 15 minutes), so this runs in
numpy after either engine: both engines give the same spikes because they share this code.
A window's baseline is the previous ``spike_baseline`` values of its metric; its score is the
robust z-score (x - median) / (1.4826 * MAD), the scale floored so that a flat baseline does
not turn noise into spikes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tweetsense.warehouse.dialects import arrow_schema
from tweetsense.warehouse.schema import SENTIMENT_SPIKE

if TYPE_CHECKING:
    import pyarrow as pa

    from tweetsense.config import InsightSection
    from tweetsense.staging.base import Store

MAD_SCALE = 1.4826  # makes the MAD estimate the standard deviation of normal data
NET_FLOOR = 0.02  # net sentiment: a 2-point move is never more than one unit of scale


def spike_rows(
    values: Sequence[float | None],
    *,
    baseline: int,
    min_baseline: int,
    threshold: float,
    floor: float | None = None,
) -> list[tuple[int, float, float, float, str]]:
    """(index, value, baseline median, score, direction) of each value that departs from the
    up to ``baseline`` non-null values before it (at least ``min_baseline`` of them).
    ``floor`` is the least scale (None: the volume floor, from the median)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    at = [i for i, x in enumerate(values) if x is not None and not _nan(x)]
    series = np.asarray([float(values[i]) for i in at], dtype=np.float64)
    n = len(series)
    median = np.full(n, np.nan)
    mad = np.full(n, np.nan)
    # The first windows have a shorter baseline: all the values before them.
    for i in range(min_baseline, min(baseline, n)):
        median[i] = np.median(series[:i])
        mad[i] = np.median(np.abs(series[:i] - median[i]))
    if n > baseline >= min_baseline:
        previous = sliding_window_view(series[:-1], baseline)  # row k: the values before k+b
        median[baseline:] = np.median(previous, axis=1)
        mad[baseline:] = np.median(np.abs(previous - median[baseline:, None]), axis=1)
    known = ~np.isnan(median)
    # Counts vary about as the square root of their mean (Poisson), and at least by one.
    least = np.maximum(np.sqrt(np.abs(median)), 1.0) if floor is None else np.full(n, floor)
    scale = np.maximum(MAD_SCALE * np.nan_to_num(mad), least)
    score = np.where(known, (series - np.nan_to_num(median)) / scale, 0.0)
    return [
        (
            at[k],
            float(series[k]),
            float(median[k]),
            float(score[k]),
            "up" if score[k] > 0 else "down",
        )
        for k in np.flatnonzero(known & (np.abs(score) >= threshold))
    ]


def _nan(x: float) -> bool:
    return isinstance(x, float) and math.isnan(x)


def spikes(windows: pa.Table, insight: InsightSection) -> pa.Table:
    """``SENTIMENT_SPIKE``'s rows from ``SENTIMENT``'s: volume (the counted volume, else the
    posts read) over every window, net sentiment over the windows with posts."""
    import pyarrow as pa

    ordered = windows.sort_by("time_window")

    def column(name: str) -> list[Any]:
        return ordered.column(name).to_pylist()

    # Numbers only: times and names are read for the few windows that spike.
    count = column("count_tweets")
    volume = [v if v is not None else c for v, c in zip(column("volume"), count, strict=True)]
    positive, negative = column("perc_tweet_positive"), column("perc_tweet_negative")
    net = [p - n if c else None for p, n, c in zip(positive, negative, count, strict=True)]
    settings = {
        "baseline": insight.spike_baseline,
        "min_baseline": insight.spike_min_baseline,
        "threshold": insight.spike_threshold,
    }
    found: list[tuple[str, datetime, str, float, float, float, str]] = []
    for metric, series, floor in (("volume", volume, None), ("net_sentiment", net, NET_FLOOR)):
        for i, value, median, score, direction in spike_rows(series, floor=floor, **settings):
            query, at = ordered.column("query")[i].as_py(), ordered.column("time_window")[i].as_py()
            found.append((query, at, metric, value, median, score, direction))
    found.sort(key=lambda f: (f[1], f[2]))
    names = SENTIMENT_SPIKE.column_names
    return pa.Table.from_pylist(
        [dict(zip(names, f, strict=True)) for f in found], schema=arrow_schema(SENTIMENT_SPIKE)
    )


def write(store: Store, windows_key: str, spikes_key: str, insight: InsightSection) -> Found:
    """Reads the windows output and writes its spikes."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    windows = pq.read_table(pa.BufferReader(store.get(windows_key)))
    table = spikes(windows, insight)
    with store.writing(spikes_key) as path:
        pq.write_table(table, path, compression="zstd")
    counted = windows.column("volume")
    volume = pc.sum(counted).as_py() if counted.null_count < len(counted) else None
    return Found(table.to_pylist(), volume)


@dataclass(frozen=True)
class Found:
    spikes: list[dict[str, Any]]  # rows of ``SENTIMENT_SPIKE``, in time order
    volume: int | None  # posts counted in the windows that were counted; None: none was
