"""The JSON endpoints' answers, built from the warehouse read API (no SQL of their own).

Every endpoint of windows or posts takes ``analyzer``: absent (or the primary one), the
primary analyzer's tables answer as they always have."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from tweetsense.dashboard import params
from tweetsense.timeutil import format_utc
from tweetsense.warehouse.reads import SqlReads

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


def queries(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    return {"queries": wh.queries()}


def _analyzer(wh: SqlReads, query: str, args: Mapping[str, str]) -> str | None:
    """The ``analyzer`` asked for, as the read API takes it: None for the primary one."""
    if not args.get("analyzer"):
        return None  # no look-up: the answers without it stay as fast as before
    known = wh.analyzers(query)
    name = params.analyzer(args, known)
    return None if name == known[0] else name


def _echo(args: Mapping[str, str]) -> dict[str, Any]:
    return {"analyzer": args["analyzer"]} if args.get("analyzer") else {}


def analyzers(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    query = params.query(args)
    names = wh.analyzers(query)
    return {"query": query, "primary": names[0] if names else None, "analyzers": names}


def summary(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    query = params.query(args)
    start, end = params.time_range(args)
    s = wh.summary(query, start, end, _analyzer(wh, query, args))
    return {
        "query": query,
        **_echo(args),
        "start": _time(start),
        "end": _time(end),
        "windows": s["windows"],
        "tweets": s["tweets"],
        "first_window": _time(s["first_window"]),
        "last_window": _time(s["last_window"]),
        "shares": {k.lower(): round(v, 6) for k, v in s["shares"].items()},
        "averages": {k.lower(): round(v, 6) for k, v in s["averages"].items()},
    }


def windows(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    query = params.query(args)
    start, end = params.time_range(args)
    series = wh.window_series(query, start, end, _analyzer(wh, query, args))
    body: dict[str, Any] = {
        "query": query,
        **_echo(args),
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


def tweets(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    query = params.query(args)
    window = params.time(args, "window", required=True)
    assert window is not None
    analyzer = _analyzer(wh, query, args)
    rows = wh.tweets(query, window, params.limit(args), params.label(args), analyzer)
    out = []
    for row in rows:
        item = {k: row.get(k) for k in TWEET_FIELDS}
        item["created_at"] = _time(item["created_at"])
        out.append(item)
    return {"query": query, **_echo(args), "window": _time(window), "tweets": out}


def agreement(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    query = params.query(args)
    start, end = params.time_range(args)
    known = wh.analyzers(query)
    a = params.analyzer(args, known, "a", required=True)
    b = params.analyzer(args, known, "b", required=True)
    assert a is not None and b is not None
    result = wh.agreement(query, a, b, start, end)
    overall, series = result["overall"], result["series"]
    return {
        "query": query,
        "a": a,
        "b": b,
        "start": _time(start),
        "end": _time(end),
        "n": int(overall["n"]),
        "agreement": _share(overall["agreement"]),
        "kappa": _share(overall["kappa"]),
        "windows": len(series["time"]),
        "time": np.array(series["time"], dtype=np.int64),
        "window_n": np.array(series["n"], dtype=np.int64),
        "window_agreement": _rounded(series["agreement"]),
        "window_kappa": _rounded(series["kappa"]),
    }


def _share(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)
