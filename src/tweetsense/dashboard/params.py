"""Query-string parameters of the JSON endpoints, checked with one-line messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from tweetsense.contracts import LABELS
from tweetsense.timeutil import parse_utc

MAX_TWEETS = 100


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


def time_range(args: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    start, end = time(args, "start"), time(args, "end")
    if start is not None and end is not None and start >= end:
        raise BadParam("start: must be before end")
    return start, end


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
