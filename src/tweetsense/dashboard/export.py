"""The JSON answers of the data endpoints as CSV tables, for a panel's download link."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

from tweetsense.timeutil import format_utc

Table = tuple[list[str], list[list[Any]]]


def _iso(sec: int) -> str:
    from datetime import UTC, datetime

    return format_utc(datetime.fromtimestamp(int(sec), UTC))


def _columnar(body: dict[str, Any]) -> Table:
    """Answers of one list per column, ``time`` first (epoch seconds, written as UTC)."""
    n = len(body["time"])
    names = [k for k, v in body.items() if k != "time" and _is_list(v) and len(v) == n]
    columns = [[_iso(t) for t in body["time"]], *([_plain(x) for x in body[k]] for k in names)]
    return ["time", *names], [list(row) for row in zip(*columns, strict=True)]


def _is_list(value: Any) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, str | dict)


def _plain(value: Any) -> Any:
    """numpy's scalars as Python's, NaN as an empty cell."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value


def _records(rows: list[dict[str, Any]], flat: Callable[[dict[str, Any]], dict[str, Any]]) -> Table:
    flattened = [flat(r) for r in rows]
    names = list(flattened[0]) if flattened else []
    return names, [[r.get(k) for k in names] for r in flattened]


def _numbers(prefix: str, value: Any) -> dict[str, Any]:
    """A nested dict of numbers as one level: shares.positive -> shares_positive."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for k, v in value.items():
        out.update(_numbers(f"{prefix}_{k}" if prefix else k, v))
    return out


def _summary(body: dict[str, Any]) -> Table:
    skip = ("query", "analyzer", "previous", "deltas", "first_window", "last_window")
    keep = {k: v for k, v in body.items() if k not in skip}
    periods = [("range", keep)]
    if body.get("previous"):
        periods.append(("previous", body["previous"]))
        periods.append(("change", {"start": None, "end": None, **body["deltas"]}))
    rows = [{"period": name, **_numbers("", figures)} for name, figures in periods]
    return _records(rows, lambda r: r)


def _spike(row: dict[str, Any]) -> dict[str, Any]:
    top = "; ".join(f"{d['kind']}:{d['term']} ({d['count']})" for d in row["drivers"])
    return {k: v for k, v in row.items() if k not in ("drivers", "time")} | {"drivers": top}


def _share(body: dict[str, Any]) -> Table:
    names = ["time", "query", "volume", "net"]
    rows = [
        [_iso(t), s["query"], s["volume"][i], s["net"][i]]
        for i, t in enumerate(body["time"])
        for s in body["series"]
    ]
    return names, rows


TABLES: dict[str, Callable[[dict[str, Any]], Table]] = {
    "summary": _summary,
    "windows": _columnar,
    "agreement": _columnar,
    "tweets": lambda b: _records(b["tweets"], lambda r: r),
    "posts": lambda b: _records(b["tweets"], lambda r: r),
    "drivers": lambda b: _records(b["drivers"], lambda r: r),
    "spikes": lambda b: _records(b["spikes"], _spike),
    "share": _share,
}


def csv_text(name: str, body: dict[str, Any]) -> str:
    names, rows = TABLES[name](body)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _cell(value: Any) -> Any:
    # A cell a spreadsheet would run as a formula starts with a quote instead.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "\t", "\r"):
        return "'" + value
    return value


def filename(name: str, body: dict[str, Any]) -> str:
    """tweetsense-<endpoint>-<query>[-<start>][-<end>].csv, in safe characters only."""
    topic = body.get("query") or "-".join(body.get("queries", []))
    parts = ["tweetsense", name, _slug(topic)]
    for bound in ("window", "start", "end"):
        if body.get(bound):
            parts.append(re.sub(r"[^0-9TZ]", "", body[bound]).replace("000Z", "Z"))
    return "-".join(p for p in parts if p) + ".csv"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
