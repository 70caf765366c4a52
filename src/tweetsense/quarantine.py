"""Error documents in the store: bad input set aside with the reason, instead of stopping a run
or vanishing, and the record of a window or stream record that failed.

Every one has the same shape (``stage``, ``error``, ``at``, the ``payload`` when there is one,
plus fields of its own, such as a dead letter's ``key``, ``position`` and ``attempts``), and is
written by ``write_error``. ``errors/quarantine/<stage>/<slug>/<name>.json`` holds what could
not be processed and why; ``tweetsense status`` counts these files and the consumer's dead
letters.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import orjson

from tweetsense import layout
from tweetsense.staging.base import Store

log = logging.getLogger("tweetsense")


def _encode(doc: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(doc)
    except TypeError:
        # Lone surrogates cannot be UTF-8; JSON's \\u escapes keep them, so nothing is lost.
        return json.dumps(doc, ensure_ascii=True, default=repr).encode("ascii")


def write_error(
    store: Store, key: str, /, *, stage: str, reason: str, payload: Any = None, **fields: Any
) -> None:
    """Store the error document of ``stage`` at ``key``; bytes in ``payload`` are kept as text."""
    doc: dict[str, Any] = {"stage": stage, "error": reason, "at": time.time(), **fields}
    if payload is not None:
        doc["payload"] = (
            payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        )
    store.put(key, _encode(doc))


def quarantine(store: Store, stage: str, slug: str, name: str, payload: Any, reason: str) -> str:
    """Store ``payload`` with ``reason``; returns its key."""
    key = layout.quarantine_key(stage, slug, name)
    write_error(store, key, stage=stage, reason=reason, payload=payload)
    log.warning("%s: %s; moved to %s", stage, reason, store.uri(key))
    return key


def count(store: Store, slug: str) -> int:
    """Quarantined records of ``slug`` plus the stream's dead letters."""
    found = 0
    for stage_dir in (layout.SOURCE_RECORDS, "ingest", "consume", "batch"):
        found += sum(1 for _ in store.list(layout.quarantine_dir(stage_dir, slug)))
    return found + sum(1 for _ in store.list(layout.DEAD_LETTERS))
