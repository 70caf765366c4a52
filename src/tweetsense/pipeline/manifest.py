"""The ingest manifest: which windows of a query are completely fetched and staged.

One JSON object in the store, ``manifests/<slug>/ingest.json``, rewritten atomically after each
batch of finished windows, so it always describes whole windows. A window enters it only after
its staging file is written, and a window is done only when both exist: a run killed mid-window
leaves no entry, and the next run fetches that window from the start. A staging file written
just before a crash (staging writes are atomic, so it is whole) is taken in without a refetch.

A window the source answered with nothing at all (no post, no include, no error) has no staging
file: it is done by a compact marker in ``empty`` (window id -> its counted volume, or null), so
a sparse search of many windows costs a few bytes per empty window. A marker not yet saved when
a run dies only means that window is fetched again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import orjson

from tweetsense.errors import BadInputError
from tweetsense.layout import manifest_key
from tweetsense.sources.api_errors import ApiErrors
from tweetsense.staging.base import Store
from tweetsense.timeutil import Window, format_utc

MANIFEST_SCHEMA = "tweetsense.manifest/1"


class Manifest:
    def __init__(self, store: Store, slug: str, query: str) -> None:
        self.store = store
        self.key = manifest_key(slug)
        self.query = query
        self.windows: dict[str, dict[str, Any]] = {}
        self.empty: dict[str, int | None] = {}
        self._dirty = False

    @classmethod
    def load(cls, store: Store, slug: str, query: str) -> Manifest:
        manifest = cls(store, slug, query)
        try:
            raw = store.get(manifest.key)
        except KeyError:
            return manifest
        try:
            doc = orjson.loads(raw)
            if doc.get("schema") != MANIFEST_SCHEMA or not isinstance(doc["windows"], dict):
                raise ValueError(doc.get("schema"))
            empty = doc.get("empty", {})
            if not isinstance(empty, dict) or not all(
                v is None or (isinstance(v, int) and not isinstance(v, bool))
                for v in empty.values()
            ):
                raise ValueError("empty")
        except (orjson.JSONDecodeError, ValueError, KeyError, AttributeError):
            raise BadInputError(
                f"ingest manifest {store.uri(manifest.key)} is damaged; delete it and rerun "
                "ingest (staged windows are taken in again without a refetch)"
            ) from None
        manifest.windows = doc["windows"]
        manifest.empty = empty
        return manifest

    def __contains__(self, window: Window) -> bool:
        """Staged and listed (an empty window is not: see ``is_empty``)."""
        return window.id in self.windows

    def is_empty(self, window: Window) -> bool:
        return window.id in self.empty

    def add_empty(self, window: Window, volume: int | None) -> None:
        """Marks ``window`` done without a staging file: the source had nothing for it."""
        key = window.id
        self.windows.pop(key, None)
        self.empty[key] = volume
        self._dirty = True

    def add(
        self,
        window: Window,
        *,
        source: str,
        posts: int,
        users: int,
        pages: int,
        api_errors: ApiErrors | None = None,
    ) -> None:
        self.empty.pop(window.id, None)
        self.windows[window.id] = {
            "window_start": format_utc(window.start),
            "window_end": format_utc(window.end),
            "source": source,
            "posts": posts,
            "users": users,
            "pages": pages,
            "at": round(time.time(), 3),
        }
        if api_errors:
            self.windows[window.id]["api_errors"] = asdict(api_errors)
        self._dirty = True

    def api_errors(self, windows: Iterable[Window]) -> ApiErrors:
        """The API's errors in the staged pages of ``windows``."""
        found = ApiErrors()
        if not any("api_errors" in entry for entry in self.windows.values()):
            return found
        for window in windows:
            entry = self.windows.get(window.id, {}).get("api_errors")
            if isinstance(entry, dict):
                found.add(ApiErrors(**entry))
        return found

    def discard(self, window: Window) -> None:
        if self.windows.pop(window.id, None) is not None:
            self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        doc: dict[str, Any] = {"schema": MANIFEST_SCHEMA, "query": self.query}
        doc["windows"] = self.windows
        if self.empty:
            doc["empty"] = self.empty
        self.store.put(self.key, orjson.dumps(doc, option=orjson.OPT_SORT_KEYS))
        self._dirty = False
