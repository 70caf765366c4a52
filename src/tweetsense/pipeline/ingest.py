"""Stage 1: fetch each window's pages, stage them atomically, publish one record per window.

Resumable: a staged window is not fetched again; a staged window without a sentiment file is
published again (the consumer skips work it has already done), so a run killed between staging
and publishing loses nothing.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson

from tweetsense import layout
from tweetsense.contracts import StagingDoc, WindowRecord
from tweetsense.errors import RetryableError
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.progress import log
from tweetsense.sources.base import Source
from tweetsense.timeutil import Window, format_utc

PUBLISH_BATCH = 64


@dataclass
class IngestReport:
    windows: int = 0
    fetched: int = 0
    skipped: int = 0
    republished: int = 0
    tweets: int = 0
    failed: list[tuple[Window, str]] = field(default_factory=list)


def _record(doc: StagingDoc, slug: str, key: str) -> tuple[str, bytes]:
    record = WindowRecord(doc.query, slug, doc.window, key, doc.tweet_texts())
    return record.key, record.encode()


def _fetch_and_stage(
    p: Pipeline, source: Source, window: Window
) -> tuple[tuple[str, bytes], int] | str:
    """Stage one window; returns its stream message and post count, or the reason it failed."""
    search = p.config.search
    try:
        pages = source.fetch_window(search.query, window, search.max_per_window)
    except RetryableError as exc:
        return str(exc)
    doc = StagingDoc(search.query, window, p.config.source.type, pages)
    key = layout.staging_key(p.slug, window)
    p.store.put(key, doc.encode())
    return _record(doc, p.slug, key), doc.tweet_count


def ingest(p: Pipeline, *, refetch: bool = False) -> IngestReport:
    staged = p.keys(layout.STAGING)
    scored = p.keys(layout.SENTIMENT)
    errors = p.keys(f"{layout.ERRORS}/ingest")
    report = IngestReport(windows=len(p.windows))
    to_fetch: list[Window] = []
    to_republish: list[Window] = []
    for window in p.windows:
        if refetch or layout.staging_key(p.slug, window) not in staged:
            to_fetch.append(window)
        elif layout.sentiment_key(p.slug, window) not in scored:
            to_republish.append(window)
        else:
            report.skipped += 1

    pending: list[tuple[str, bytes]] = []

    def flush(force: bool = False) -> None:
        if pending and (force or len(pending) >= PUBLISH_BATCH):
            p.stream.publish(pending)
            pending.clear()

    p.progress.start("ingest", len(to_fetch) + len(to_republish))
    for window in to_republish:
        key = layout.staging_key(p.slug, window)
        doc = StagingDoc.decode(p.store.get(key), what=f"staging file {p.store.uri(key)}")
        pending.append(_record(doc, p.slug, key))
        report.republished += 1
        p.progress.advance(1, doc.tweet_count)
        flush()

    source, store = p.source, p.store  # built once, before threads share them
    concurrency = p.config.source.concurrency
    # Chunks bound how many fetched windows wait in memory for their in-order publish.
    chunk = concurrency * 16
    with ThreadPoolExecutor(concurrency, thread_name_prefix="ingest") as pool:
        for i in range(0, len(to_fetch), chunk):
            part = to_fetch[i : i + chunk]
            for window, result in zip(
                part, pool.map(lambda w: _fetch_and_stage(p, source, w), part), strict=True
            ):
                error_key = layout.error_key("ingest", p.slug, window)
                if isinstance(result, str):
                    report.failed.append((window, result))
                    log.warning("ingest of window %s failed: %s", window.id, result)
                    store.put(error_key, _error_doc(window, result))
                    p.progress.advance(1, 0)
                    continue
                message, count = result
                pending.append(message)
                report.fetched += 1
                report.tweets += count
                if error_key in errors:
                    store.delete(error_key)
                p.progress.advance(1, count)
                flush()
    flush(force=True)
    p.progress.finish()
    return report


def _error_doc(window: Window, reason: str) -> bytes:
    return orjson.dumps(
        {"window_start": format_utc(window.start), "error": reason, "at": time.time()}
    )
