"""Where every artefact lives in the store: deterministic keys, one file per window and stage."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from tweetsense.timeutil import Window

STAGING = "staging"
SENTIMENT = "sentiment"
ERRORS = "errors"
OUTPUTS = "outputs"


def query_slug(query: str) -> str:
    """A readable, collision-safe folder name for a query."""
    words = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:48].strip("-") or "query"
    digest = hashlib.sha256(query.encode("utf-8")).hexdigest()[:8]
    return f"{words}-{digest}"


def _window_part(window: Window) -> str:
    return window.start.strftime("%Y-%m-%d/%H%M")


def staging_key(slug: str, window: Window) -> str:
    return f"{STAGING}/{slug}/{_window_part(window)}.json"


def sentiment_key(slug: str, window: Window) -> str:
    return f"{SENTIMENT}/{slug}/{_window_part(window)}.json"


def error_key(stage: str, slug: str, window: Window) -> str:
    return f"{ERRORS}/{stage}/{slug}/{_window_part(window)}.json"


def output_key(slug: str, name: str) -> str:
    return f"{OUTPUTS}/{slug}/{name}"


_WINDOW_IN_KEY = re.compile(r"(\d{4}-\d{2}-\d{2})/(\d{4})\.json$")


def window_start_from_key(key: str) -> datetime | None:
    match = _WINDOW_IN_KEY.search(key)
    if not match:
        return None
    return datetime.strptime(f"{match.group(1)} {match.group(2)}", "%Y-%m-%d %H%M").replace(
        tzinfo=UTC
    )
