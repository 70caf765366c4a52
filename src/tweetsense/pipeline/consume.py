"""Stage 2: read window records from the stream, score them, write one sentiment file each.

The checkpoint is committed only after the sentiment files of a polled batch are written, so a
killed consumer redoes at most that batch, and rewrites the very same files. A record whose
window already has a sentiment file for the same input and analyzer is acknowledged unscored.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import orjson

from tweetsense import layout
from tweetsense.contracts import SentimentDoc, WindowRecord
from tweetsense.errors import BadInputError, RetryableError
from tweetsense.pipeline.core import CONSUMER_GROUP, Pipeline
from tweetsense.pipeline.markers import ingest_complete
from tweetsense.pipeline.progress import log
from tweetsense.pipeline.scoring import Scorer
from tweetsense.stream.base import Message

POLL_BATCH = 64


@dataclass
class ConsumeReport:
    records: int = 0
    scored_windows: int = 0
    skipped_windows: int = 0
    tweets: int = 0
    dead_letters: int = 0
    failed: list[str] = field(default_factory=list)


def _already_done(p: Pipeline, key: str, existing: set[str], analyzer: str, digest: str) -> bool:
    if key not in existing:
        return False
    try:
        doc = SentimentDoc.decode(p.store.get(key))
    except (KeyError, BadInputError):
        return False
    return doc.analyzer == analyzer and doc.input_digest == digest


def _dead_letter(p: Pipeline, message: Message, reason: str) -> None:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", message.key)[:120] or "record"
    key = f"{layout.ERRORS}/consume/dead-letter/{safe}-{message.position}.json"
    p.store.put(
        key,
        orjson.dumps(
            {
                "key": message.key,
                "position": message.position,
                "error": reason,
                "payload": message.payload.decode("utf-8", "replace"),
            }
        ),
    )
    log.warning("stream record %s moved to %s: %s", message.key, key, reason)


def consume(
    p: Pipeline,
    *,
    follow: bool = False,
    until_drained: bool = False,
    stop: threading.Event | None = None,
    poll_timeout: float = 1.0,
) -> ConsumeReport:
    """Process records until the stream is drained. With ``until_drained``, an empty stream only
    ends the run once ingestion has marked itself complete (ingest may run on another machine);
    with ``follow``, only ``stop`` (SIGTERM) ends it."""
    stop = stop or threading.Event()
    report = ConsumeReport()
    consumer = p.stream.consumer(CONSUMER_GROUP)
    scorer = Scorer(p.config, p.context)
    existing = p.keys(layout.SENTIMENT)
    try:
        p.progress.start("consume", consumer.lag())
        while not stop.is_set():
            waiting = follow or until_drained
            messages = consumer.poll(POLL_BATCH, timeout=poll_timeout if waiting else 0.0)
            if not messages:
                if follow or (until_drained and not ingest_complete(p)):
                    continue
                break
            _process(p, scorer, messages, existing, report)
            consumer.commit(messages)
    finally:
        scorer.close()
        consumer.close()
        p.progress.finish()
    return report


def _process(
    p: Pipeline, scorer: Scorer, messages: list[Message], existing: set[str], report: ConsumeReport
) -> None:
    # Keyed by sentiment file: a window delivered twice in one batch is scored once, latest wins.
    queued: dict[str, tuple[WindowRecord, str, str]] = {}
    for message in messages:
        report.records += 1
        try:
            record = WindowRecord.decode(message.payload, what=f"stream record {message.key}")
        except BadInputError as exc:
            _dead_letter(p, message, str(exc))
            report.dead_letters += 1
            continue
        key = layout.sentiment_key(record.slug, record.window)
        digest = record.digest()
        if key in queued or _already_done(p, key, existing, scorer.name, digest):
            report.skipped_windows += 1
            p.progress.advance(1, 0)
            if key not in queued:
                continue
        queued[key] = (record, key, digest)
    jobs = list(queued.values())
    if not jobs:
        return
    started = time.perf_counter()
    try:
        results = scorer.score([[text for _, text in r.tweets] for r, _, _ in jobs])
    except RetryableError as exc:
        # The windows stay staged but unscored; the next ingest publishes them again.
        for record, _, _ in jobs:
            report.failed.append(record.window.id)
            p.store.put(
                layout.error_key("consume", record.slug, record.window),
                orjson.dumps({"window": record.window.id, "error": str(exc)}),
            )
        log.warning("scoring %d windows failed: %s", len(jobs), exc)
        return
    log.debug("scored %d windows in %.3fs", len(jobs), time.perf_counter() - started)
    for (record, key, digest), scores in zip(jobs, results, strict=True):
        doc = SentimentDoc(
            query=record.query,
            window=record.window,
            analyzer=scorer.name,
            staging_key=record.staging_key,
            input_digest=digest,
            scores=[s.as_dict(tid) for (tid, _), s in zip(record.tweets, scores, strict=True)],
        )
        p.store.put(key, doc.encode())
        existing.add(key)
        report.scored_windows += 1
        report.tweets += len(scores)
        p.progress.advance(1, len(scores))
