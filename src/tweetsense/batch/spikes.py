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


def _volume_floor(median: float) -> float:
    # Counts vary about as the square root of their mean (Poisson), and at least by one.
    return max(math.sqrt(median), 1.0)


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

    out = []
    history: list[float] = []
    flat = 0  # how many of the latest values equal the last one
    for i, x in enumerate(values):
        if x is None or (isinstance(x, float) and math.isnan(x)):
            continue
        window = history[-baseline:]
        if len(window) >= min_baseline:
            if flat >= len(window):  # one value throughout (a sparse series' zeros): no numpy
                median, mad = window[-1], 0.0
            else:
                base = np.asarray(window, dtype=np.float64)
                median = float(np.median(base))
                mad = float(np.median(np.abs(base - median)))
            least = _volume_floor(median) if floor is None else floor
            scale = max(MAD_SCALE * mad, least)
            score = (float(x) - median) / scale
            if abs(score) >= threshold:
                out.append((i, float(x), median, score, "up" if score > 0 else "down"))
        flat = flat + 1 if history and history[-1] == float(x) else 1
        history.append(float(x))
    return out


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
