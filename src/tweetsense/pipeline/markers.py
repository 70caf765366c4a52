"""Markers in the store that let stages on different machines coordinate without a server."""

from __future__ import annotations

import orjson

from tweetsense import layout
from tweetsense.pipeline.core import Pipeline
from tweetsense.timeutil import format_utc


def mark_ingest_complete(p: Pipeline) -> None:
    """Every window of the search is staged and published: consumers may stop once drained."""
    s = p.config.search
    p.store.put(
        layout.ingest_complete_key(p.slug),
        orjson.dumps(
            {
                "query": p.query,
                "start_time": format_utc(s.start_time),
                "end_time": format_utc(s.end_time),
                "windows": len(p.windows),
            }
        ),
    )


def clear_ingest_complete(p: Pipeline) -> None:
    """An ingest is under way again: consumers must wait for its marker, not an earlier one."""
    p.store.delete(layout.ingest_complete_key(p.slug))


def ingest_complete(p: Pipeline) -> bool:
    return p.store.exists(layout.ingest_complete_key(p.slug))
