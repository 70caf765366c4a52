"""The JSON endpoints' answers, built from the warehouse read API (no SQL of their own)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from tweetsense.dashboard import params
from tweetsense.timeutil import format_utc
from tweetsense.warehouse.base import Warehouse

TWEET_FIELDS = (
    "tweet_id",
    "created_at",
    "username",
    "name",
    "lang",
    "text",
    "label",
    "positive",
    "negative",
    "neutral",
    "mixed",
)


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)


def _rounded(values: list[Any]) -> np.ndarray:
    # Four decimals are finer than any chart shows and halve the payload of a year of windows;
    # missing averages become NaN, which the JSON writer turns into null.
    return np.round(np.array(values, dtype=np.float64), 4)


def queries(wh: Warehouse, args: Mapping[str, str]) -> dict[str, Any]:
    return {"queries": wh.queries()}


def summary(wh: Warehouse, args: Mapping[str, str]) -> dict[str, Any]:
    query = params.query(args)
    start, end = params.time_range(args)
    s = wh.summary(query, start, end)
    return {
        "query": query,
        "start": _time(start),
        "end": _time(end),
        "windows": s["windows"],
        "tweets": s["tweets"],
        "first_window": _time(s["first_window"]),
        "last_window": _time(s["last_window"]),
        "shares": {k.lower(): round(v, 6) for k, v in s["shares"].items()},
        "averages": {k.lower(): round(v, 6) for k, v in s["averages"].items()},
    }


def windows(wh: Warehouse, args: Mapping[str, str]) -> dict[str, Any]:
    query = params.query(args)
    start, end = params.time_range(args)
    series = wh.window_series(query, start, end)
    body: dict[str, Any] = {
        "query": query,
        "start": _time(start),
        "end": _time(end),
        "windows": len(series["time"]),
        "time": np.array(series["time"], dtype=np.int64),
        "count_tweets": np.array(series["count_tweets"], dtype=np.int64),
    }
    for name, values in series.items():
        if name not in body:
            body[name] = _rounded(values)
    return body


def tweets(wh: Warehouse, args: Mapping[str, str]) -> dict[str, Any]:
    query = params.query(args)
    window = params.time(args, "window", required=True)
    assert window is not None
    rows = wh.tweets(query, window, params.limit(args), params.label(args))
    out = []
    for row in rows:
        item = {k: row.get(k) for k in TWEET_FIELDS}
        item["created_at"] = _time(item["created_at"])
        out.append(item)
    return {"query": query, "window": _time(window), "tweets": out}
