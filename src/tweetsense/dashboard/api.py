"""The JSON endpoints' answers, built from the warehouse read API (no SQL of their own).

Every endpoint of windows or posts takes ``analyzer``: absent (or the primary one), the
primary analyzer's tables answer as they always have."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from tweetsense.contracts import LABELS
from tweetsense.dashboard import drivers, params
from tweetsense.timeutil import format_utc
from tweetsense.warehouse.reads import POST_SORTS, SqlReads

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


def _figures(s: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a ``summary`` read, as the endpoint answers them."""
    shares = {k.lower(): round(v, 6) for k, v in s["shares"].items()}
    opinion = s["opinion_shares"]
    volume = s["volume"]
    return {
        "windows": s["windows"],
        "tweets": s["tweets"],
        "volume": volume,
        "engagement": s["engagement"],
        "reposts": s["reposts"],
        "opinions": s["opinions"],
        "shares": shares,
        "opinion_shares": None
        if opinion is None
        else {k.lower(): round(v, 6) for k, v in opinion.items()},
        "averages": {k.lower(): round(v, 6) for k, v in s["averages"].items()},
        "net": round(s["shares"]["POSITIVE"] - s["shares"]["NEGATIVE"], 6),
        "net_opinion": None
        if opinion is None
        else round(opinion["POSITIVE"] - opinion["NEGATIVE"], 6),
        "weighted_net": None if s["weighted_net"] is None else round(s["weighted_net"], 6),
        # What the counted volume holds of each label, at the sample's shares.
        "estimated": None
        if volume is None
        else {k.lower(): round(v * volume, 1) for k, v in s["shares"].items()},
    }


def _delta(now: Any, before: Any) -> Any:
    """``now - before`` for every number both have, keeping the shape; None where one lacks."""
    if isinstance(now, dict) and isinstance(before, dict):
        return {k: _delta(v, before.get(k)) for k, v in now.items()}
    if isinstance(now, int | float) and isinstance(before, int | float):
        return round(now - before, 6)
    return None


def summary(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    """Totals over the range and, for a bounded range, the period of the same length before
    it (``previous``) and the differences (``deltas``, now minus then)."""
    query = params.query(args)
    start, end = params.time_range(args)
    analyzer = _analyzer(wh, query, args)
    s = wh.summary(query, start, end, analyzer)
    now = _figures(s)
    previous = deltas = None
    if start is not None and end is not None:
        before = start - (end - start)
        then = _figures(wh.summary(query, before, start, analyzer))
        previous = {"start": _time(before), "end": _time(start), **then}
        deltas = _delta(now, then)
    return {
        "query": query,
        **_echo(args),
        "start": _time(start),
        "end": _time(end),
        "first_window": _time(s["first_window"]),
        "last_window": _time(s["last_window"]),
        **now,
        "previous": previous,
        "deltas": deltas,
    }


# The roll-ups of the windows: native 15-minute windows, hours and days (from UTC midnight).
BUCKETS = {"15m": None, "1h": 3600, "1d": 86400}
BUCKET_SECONDS = {"15m": 900, "1h": 3600, "1d": 86400}
MAX_POINTS = 3000  # what "auto" keeps a chart under


def _bucket(
    wh: SqlReads, queries: list[str], start: datetime | None, end: datetime | None, name: str
) -> str:
    """The bucket asked for; "auto" is the finest that keeps the range under MAX_POINTS."""
    if name != "auto":
        return name
    if start is None or end is None:
        firsts, lasts = zip(*(wh.extent(q, start, end) for q in queries), strict=True)
        known = [t for t in (*firsts, *lasts) if t is not None]
        if not known:
            return "15m"
        start, end = start or min(known), end or max(known)
    span = (end - start).total_seconds()
    return next((b for b, sec in BUCKET_SECONDS.items() if span / sec <= MAX_POINTS), "1d")


def _counts(values: list[Any]) -> list[int | None]:
    return [None if v is None else int(v) for v in values]


_COUNT_COLUMNS = ("count_tweets", "volume", "count_reposts", "count_opinions", "engagement")


def windows(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    """Each window (or bucket, with ``bucket``) of the range, by column; ``net`` is the share
    of positive minus negative posts, ``net_opinion`` the same over opinions."""
    query = params.query(args)
    start, end = params.time_range(args)
    # auto by default: a range of up to a month keeps its windows, a year comes in days.
    asked = params.choice(args, "bucket", (*BUCKETS, "auto"), "auto")
    bucket = _bucket(wh, [query], start, end, asked)
    series = wh.window_series(query, start, end, _analyzer(wh, query, args), BUCKETS[bucket])
    body: dict[str, Any] = {
        "query": query,
        **_echo(args),
        "start": _time(start),
        "end": _time(end),
        "bucket": bucket,
        "bucket_seconds": BUCKET_SECONDS[bucket],
        "windows": len(series["time"]),
        "time": np.array(series["time"], dtype=np.int64),
    }
    for name, values in series.items():
        if name in _COUNT_COLUMNS:
            body[name] = _counts(values)
        elif name not in body:
            body[name] = _rounded(values)
    for net, kind in (("net", "tweet"), ("net_opinion", "opinion")):
        pos, neg = (
            np.array(series[f"perc_{kind}_{x}"], np.float64) for x in ("positive", "negative")
        )
        body[net] = np.round(pos - neg, 4)
    return body


POST_TYPES = ("original", "reply", "quote", "repost")
POST_URL = "https://x.com/i/web/status/"
REPOSTS = ("each", "once")  # a repost as its own opinion, or left out for its original
DRIVER_LABELS = tuple(x.lower() for x in LABELS)
POST_FIELDS = (
    *TWEET_FIELDS,
    "post_type",
    "repost_of",
    "like_count",
    "repost_count",
    "reply_count",
    "quote_count",
    "engagement",
)


def tweets(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    """Posts of a ``window``, or of a range (``start``, ``end``): sorted by ``sort`` (time,
    engagement, or score of ``score_label``), filtered by ``label``, ``post_type`` and
    ``driver``; ``reposts=once`` leaves out reposts."""
    query = params.query(args)
    start, end = params.time_range(args)
    window = params.time(args, "window", required=start is None and end is None)
    analyzer = _analyzer(wh, query, args)
    sort = params.choice(args, "sort", POST_SORTS, "time")
    score_label = params.choice(args, "score_label", tuple(x.lower() for x in LABELS), "negative")
    post_type = args.get("post_type") or None
    if post_type is not None:
        post_type = params.choice(args, "post_type", POST_TYPES, "")
    reposts = params.choice(args, "reposts", REPOSTS, "each")
    rows = wh.tweets(
        query,
        window,
        params.limit(args),
        params.label(args),
        analyzer,
        start=start,
        end=end,
        sort=sort,
        score_label=score_label.upper(),
        post_type=post_type,
        driver=params.driver(args, drivers.KINDS),
        reposts_once=reposts == "once",
    )
    out = []
    for row in rows:
        item = {k: row.get(k) for k in POST_FIELDS}
        item["created_at"] = _time(item["created_at"])
        item["url"] = POST_URL + str(row["tweet_id"])
        out.append(item)
    return {
        "query": query,
        **_echo(args),
        "window": _time(window),
        "start": _time(start),
        "end": _time(end),
        "sort": sort,
        "tweets": out,
    }


def drivers_of(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    """The terms most over-represented among the range's posts of ``label`` (negative by
    default) against the rest of the query's posts; see ``tweetsense.dashboard.drivers``."""
    query = params.query(args)
    start, end = params.time_range(args)
    label = params.choice(args, "label", DRIVER_LABELS, "negative")
    kind = args.get("kind") or None
    if kind is not None:
        kind = params.choice(args, "kind", drivers.KINDS, "")
    limit = params.limit(args)
    min_count = params.whole(args, "min_count", 3, 1, 1_000_000)
    totals = drivers.TOTALS.get(wh, query)
    rows = wh.driver_counts(query, start, end, label.upper(), kind, min_count)
    return {
        "query": query,
        "start": _time(start),
        "end": _time(end),
        "label": label,
        "kind": kind,
        "min_count": min_count,
        "drivers": drivers.ranked(rows, totals, limit),
    }


SPIKE_DRIVERS = 3


def spikes(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    """The range's flagged windows, each with its top drivers: negative ones for a fall of net
    sentiment, positive ones for a rise, over every post for volume."""
    query = params.query(args)
    start, end = params.time_range(args)
    min_count = params.whole(args, "min_count", 3, 1, 1_000_000)
    rows = wh.spikes(query, start, end)
    top: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    if rows:
        cols = wh.spike_driver_counts(query, start, end, min_count)
        if cols["time"]:
            totals = drivers.TOTALS.get(wh, query)
            top = drivers.ranked_by(cols, ("time", "metric"), totals, SPIKE_DRIVERS)
    out = []
    for row in rows:
        time = int(row["time_window"].timestamp())
        out.append(
            {
                "time_window": _time(row["time_window"]),
                "time": time,
                "metric": row["metric"],
                "value": round(float(row["value"]), 6),
                "baseline": round(float(row["baseline"]), 6),
                "score": round(float(row["score"]), 3),
                "direction": row["direction"],
                "label": None
                if row["metric"] == "volume"
                else ("negative" if row["direction"] == "down" else "positive"),
                "drivers": top.get((time, row["metric"]), []),
            }
        )
    return {"query": query, "start": _time(start), "end": _time(end), "spikes": out}


def share(wh: SqlReads, args: Mapping[str, str]) -> dict[str, Any]:
    """Share of voice: per bucket and query, ``volume`` (counted, else the posts read) and
    ``net`` sentiment, on one time axis (null where a query has no window)."""
    names = params.queries(args)
    start, end = params.time_range(args)
    asked = params.choice(args, "bucket", (*BUCKETS, "auto"), "auto")
    bucket = _bucket(wh, names, start, end, asked)
    reposts = params.choice(args, "reposts", REPOSTS, "each")
    cols = wh.share(names, start, end, BUCKET_SECONDS[bucket], reposts == "once")
    times = sorted(set(cols["time"]))
    at = {t: i for i, t in enumerate(times)}
    series = {q: {"volume": [None] * len(times), "net": [None] * len(times)} for q in names}
    for q, t, volume, net in zip(
        cols["query"], cols["time"], cols["volume"], cols["net"], strict=True
    ):
        series[q]["volume"][at[t]] = None if volume is None else int(volume)
        series[q]["net"][at[t]] = None if net is None else round(float(net), 4)
    total = {q: sum(v for v in s["volume"] if v is not None) for q, s in series.items()}
    whole = sum(total.values())
    return {
        "queries": names,
        "start": _time(start),
        "end": _time(end),
        "bucket": bucket,
        "bucket_seconds": BUCKET_SECONDS[bucket],
        "time": times,
        "series": [
            {
                "query": q,
                "total": total[q],
                "share": round(total[q] / whole, 6) if whole else None,
                **series[q],
            }
            for q in names
        ],
    }


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
