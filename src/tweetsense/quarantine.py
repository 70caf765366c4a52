"""Bad input set aside in the store, with the reason, instead of stopping a run or vanishing.

``errors/quarantine/<stage>/<slug>/<name>.json`` holds what could not be processed and why;
``tweetsense status`` counts these files and the consumer's dead letters.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import orjson

from tweetsense import layout
from tweetsense.staging.base import Store

log = logging.getLogger("tweetsense")

QUARANTINE = f"{layout.ERRORS}/quarantine"
DEAD_LETTERS = f"{layout.ERRORS}/consume/dead-letter"


def _name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:120] or "record"


def quarantine_key(stage: str, slug: str, name: str) -> str:
    return f"{QUARANTINE}/{stage}/{slug}/{_name(name)}.json"


def _encode(doc: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(doc)
    except TypeError:
        # Lone surrogates cannot be UTF-8; JSON's \\u escapes keep them, so nothing is lost.
        return json.dumps(doc, ensure_ascii=True, default=repr).encode("ascii")


def quarantine(store: Store, stage: str, slug: str, name: str, payload: Any, reason: str) -> str:
    """Store ``payload`` (bytes are kept as text) with ``reason``; returns its key."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "replace")
    key = quarantine_key(stage, slug, name)
    doc = {"stage": stage, "error": reason, "at": time.time(), "payload": payload}
    store.put(key, _encode(doc))
    log.warning("%s: %s; moved to %s", stage, reason, store.uri(key))
    return key


def count(store: Store, slug: str) -> int:
    """Quarantined records of ``slug`` plus the stream's dead letters."""
    found = 0
    for stage_dir in ("ingest", "consume", "batch"):
        found += sum(1 for _ in store.list(f"{QUARANTINE}/{stage_dir}/{slug}"))
    return found + sum(1 for _ in store.list(DEAD_LETTERS))
