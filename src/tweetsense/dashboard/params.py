"""Query-string parameters of the JSON endpoints, checked with one-line messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from tweetsense.contracts import LABELS
from tweetsense.timeutil import parse_utc

MAX_TWEETS = 100
MAX_QUERIES = 10


class BadParam(ValueError):
    """A parameter is missing or malformed; the message is the 400 answer."""


def query(args: Mapping[str, str]) -> str:
    value = args.get("query", "")
    if not value.strip():
        raise BadParam("query: required; pick one from /api/queries")
    if len(value) > 1024:
        raise BadParam("query: longer than 1024 characters")
    return value


def time(args: Mapping[str, str], name: str, required: bool = False) -> datetime | None:
    value = args.get(name, "")
    if not value:
        if required:
            raise BadParam(f"{name}: required; write a UTC time such as 2024-03-01T00:15:00Z")
        return None
    try:
        return parse_utc(value)
    except ValueError:
        raise BadParam(
            f"{name}: {value[:40]!r} is not a time; write UTC ISO 8601 such as 2024-03-01T00:15:00Z"
        ) from None


def _bound(args: Mapping[str, str], name: str, alias: str) -> datetime | None:
    if args.get(name) and args.get(alias) and args[name] != args[alias]:
        raise BadParam(f"{alias}: the same bound as {name}; give one of them")
    return time(args, alias) if args.get(alias) else time(args, name)


def time_range(args: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    """``start`` and ``end`` (or ``from`` and ``to``), UTC; the range is [start, end)."""
    start, end = _bound(args, "start", "from"), _bound(args, "end", "to")
    if start is not None and end is not None and start >= end:
        raise BadParam("start: must be before end")
    return start, end


def choice(args: Mapping[str, str], name: str, options: tuple[str, ...], default: str) -> str:
    value = args.get(name, "") or default
    if value not in options:
        raise BadParam(f"{name}: {value[:40]!r} is not one of {', '.join(options)}")
    return value


def whole(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = args.get(name, "")
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadParam(f"{name}: write a whole number from {low} to {high}")
    return int(value)


def driver(args: Mapping[str, str], kinds: tuple[str, ...]) -> tuple[str, str] | None:
    """``driver=<kind>:<term>``, as the drivers list names it (hashtag:#ev); None if absent."""
    value = args.get("driver", "")
    if not value:
        return None
    kind, _, term = value.partition(":")
    if kind not in kinds or not term or len(term) > 300 or "\n" in term:
        raise BadParam(f"driver: write <kind>:<term> with a kind of {', '.join(kinds)}")
    return kind, term


def queries(args: Mapping[str, str]) -> list[str]:
    """``queries=a,b`` or ``queries`` repeated (a query holding a comma: repeat it); without
    them, ``query``."""
    getlist = getattr(args, "getlist", None)
    values = getlist("queries") if getlist is not None else [args.get("queries", "")]
    if not any(values) and args.get("query"):
        values = [query(args), ""]  # taken whole, as a repeated one
    names = values if len(values) > 1 else [q for q in values[0].split(",")] if values else []
    names = list(dict.fromkeys(q.strip() for q in names if q.strip()))
    if not names:
        raise BadParam("queries: required; name one or more queries from /api/queries")
    if len(names) > MAX_QUERIES or any(len(q) > 1024 for q in names):
        raise BadParam(f"queries: at most {MAX_QUERIES}, each of 1024 characters at most")
    return names


def limit(args: Mapping[str, str], default: int = 20) -> int:
    value = args.get("limit", "")
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= MAX_TWEETS:
        raise BadParam(f"limit: write a whole number from 1 to {MAX_TWEETS}")
    return int(value)


def label(args: Mapping[str, str]) -> str | None:
    value = args.get("label", "")
    if not value:
        return None
    if value.upper() not in LABELS:
        raise BadParam(f"label: choose one of {', '.join(LABELS)}")
    return value.upper()


def analyzer(
    args: Mapping[str, str], known: list[str], name: str = "analyzer", required: bool = False
) -> str | None:
    """One of ``known``, the query's analyzers; None when not given."""
    value = args.get(name, "")
    if not value:
        if required:
            raise BadParam(f"{name}: required; pick one from /api/analyzers")
        return None
    if value not in known:
        have = ", ".join(known) if known else "none"
        raise BadParam(
            f"{name}: {value[:40]!r} has no results for this query (its analyzers: {have}); "
            "pick one from /api/analyzers"
        )
    return value
