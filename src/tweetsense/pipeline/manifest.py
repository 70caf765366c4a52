"""The ingest manifest: which windows of a query are completely fetched and staged.

One JSON object in the store, ``manifests/<slug>/ingest.json``, rewritten atomically after each
batch of finished windows, so it always describes whole windows. A window enters it only after
its staging file is written, and a window is done only when both exist: a run killed mid-window
leaves no entry, and the next run fetches that window from the start. A staging file written
just before a crash (staging writes are atomic, so it is whole) is taken in without a refetch.
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
        except (orjson.JSONDecodeError, ValueError, KeyError, AttributeError):
            raise BadInputError(
                f"ingest manifest {store.uri(manifest.key)} is damaged; delete it and rerun "
                "ingest (staged windows are taken in again without a refetch)"
            ) from None
        manifest.windows = doc["windows"]
        return manifest

    def __contains__(self, window: Window) -> bool:
        return window.id in self.windows

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
        doc = {"schema": MANIFEST_SCHEMA, "query": self.query, "windows": self.windows}
        self.store.put(self.key, orjson.dumps(doc, option=orjson.OPT_SORT_KEYS))
        self._dirty = False
