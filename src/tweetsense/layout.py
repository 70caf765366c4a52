"""Where every artefact lives in the store: deterministic keys, one file per window and stage.

Every key the pipeline writes is built here; stored data of earlier versions is found at the same
keys, so these paths do not change.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from tweetsense.timeutil import Window

STAGING = "staging"
SENTIMENT = "sentiment"
ANALYSES = "analyses"
ERRORS = "errors"
OUTPUTS = "outputs"
MANIFESTS = "manifests"
QUARANTINE = f"{ERRORS}/quarantine"
DEAD_LETTERS = f"{ERRORS}/consume/dead-letter"
# The quarantine stage of single records a source could not read (a window's are "ingest").
SOURCE_RECORDS = "source"


def query_slug(query: str) -> str:
    """A readable, collision-safe folder name for a query."""
    words = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:48].strip("-") or "query"
    digest = hashlib.sha256(query.encode("utf-8")).hexdigest()[:8]
    return f"{words}-{digest}"


def _window_part(window: Window) -> str:
    return window.start.strftime("%Y-%m-%d/%H%M")


def staging_key(slug: str, window: Window) -> str:
    return f"{STAGING}/{slug}/{_window_part(window)}.json"


def sentiment_key(slug: str, window: Window, analyzer: str | None = None) -> str:
    """The sentiment file of the primary analyzer (``analyzer`` None: the reference design's
    ``sentiment/``), or of another analyzer, by its name, under ``analyses/<name>/``."""
    if analyzer is None:
        return f"{SENTIMENT}/{slug}/{_window_part(window)}.json"
    return f"{ANALYSES}/{analyzer}/{slug}/{_window_part(window)}.json"


def error_dir(stage: str) -> str:
    """The folder of a stage's failed windows, one sub-folder per query slug."""
    return f"{ERRORS}/{stage}"


def error_key(stage: str, slug: str, window: Window) -> str:
    return f"{error_dir(stage)}/{slug}/{_window_part(window)}.json"


def _safe(text: str) -> str:
    """A file name from any text (record keys and names come from outside)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:120]


def quarantine_dir(stage: str, slug: str) -> str:
    return f"{QUARANTINE}/{stage}/{slug}"


def quarantine_key(stage: str, slug: str, name: str) -> str:
    return f"{quarantine_dir(stage, slug)}/{_safe(name) or 'record'}.json"


def dead_letter_key(record_key: str, position: str) -> str:
    return f"{DEAD_LETTERS}/{_safe(record_key) or 'record'}-{_safe(position)}.json"


def ingest_complete_key(slug: str) -> str:
    return f"{STAGING}/{slug}/_ingest_complete.json"


def manifest_key(slug: str) -> str:
    return f"{MANIFESTS}/{slug}/ingest.json"


def output_key(slug: str, name: str) -> str:
    return f"{OUTPUTS}/{slug}/{name}"


# A window file or its columnar copy (``columnar.copy_key``).
_WINDOW_IN_KEY = re.compile(r"(\d{4}-\d{2}-\d{2})/(\d{4})\.(json|parquet)$")


def window_starts(keys: Iterable[str]) -> set[datetime]:
    """The starts of the windows whose files are among ``keys``: what a sparse search checks
    its windows against, instead of building every window's key."""
    return {start for key in keys if (start := window_start_from_key(key))}


def window_start_from_key(key: str) -> datetime | None:
    match = _WINDOW_IN_KEY.search(key)
    if not match:
        return None
    return datetime.strptime(f"{match.group(1)} {match.group(2)}", "%Y-%m-%d %H%M").replace(
        tzinfo=UTC
    )
