"""One member of the consumer group: poll window records, score them, write one sentiment file
each, commit.

The checkpoint is committed only after the sentiment files of a polled batch are written, so a
killed consumer redoes at most that batch, and rewrites the very same files. A record whose
window already has a sentiment file for the same input and analyzer is acknowledged unscored.

A record is tried at most ``stream.max_attempts`` times: a batch that fails is split and each
record retried alone, and a record that still fails, cannot be decoded, or has been delivered
more often than that (it kept killing its consumer) goes to the dead letters in the store with
its reason, and is committed so that it never blocks the records behind it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from tweetsense import columnar, faults
from tweetsense.contracts import SentimentDoc, WindowRecord
from tweetsense.errors import BadInputError, ConfigError, RetryableError
from tweetsense.pipeline.analyses import Analysis
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.markers import ingest_complete
from tweetsense.pipeline.progress import log
from tweetsense.pipeline.scoring import Scorer
from tweetsense.quarantine import write_error
from tweetsense.retry import backoff_delay, with_retries
from tweetsense.sentiment.base import Score
from tweetsense.stream.base import Consumer, Message

DRAIN_PATIENCE = 120
RETRY_BACKOFF = 0.5  # seconds before the first retry of a retryable failure; doubles each round
MAX_RETRY_BACKOFF = 10.0


@dataclass
class ConsumeReport:
    records: int = 0
    scored_windows: int = 0
    skipped_windows: int = 0
    tweets: int = 0
    dead_letters: int = 0
    batches: int = 0
    failed: list[str] = field(default_factory=list)
    # Wall-clock times, comparable across processes: first record received, last batch committed.
    first_record_at: float | None = None
    last_commit_at: float | None = None

    @property
    def busy_seconds(self) -> float | None:
        """From the first record to the last commit: scoring time without start-up or joins."""
        if self.first_record_at is None or self.last_commit_at is None:
            return None
        return self.last_commit_at - self.first_record_at

    def merge(self, other: ConsumeReport) -> None:
        self.records += other.records
        self.scored_windows += other.scored_windows
        self.skipped_windows += other.skipped_windows
        self.tweets += other.tweets
        self.dead_letters += other.dead_letters
        self.batches += other.batches
        self.failed.extend(other.failed)
        starts = [t for t in (self.first_record_at, other.first_record_at) if t is not None]
        ends = [t for t in (self.last_commit_at, other.last_commit_at) if t is not None]
        self.first_record_at = min(starts, default=None)
        self.last_commit_at = max(ends, default=None)


def _already_done(p: Pipeline, key: str, existing: set[str], analyzer: str, digest: str) -> bool:
    if key not in existing:
        return False
    try:
        doc = SentimentDoc.decode(p.store.get(key))
    except (KeyError, BadInputError):
        return False
    return doc.analyzer == analyzer and doc.input_digest == digest


def _dead_letter(
    p: Pipeline, analysis: Analysis, message: Message, reason: str, attempts: int = 1
) -> None:
    key = analysis.dead_letter_key(message.key, message.position)
    write_error(
        p.store,
        key,
        stage="consume",
        reason=reason,
        payload=message.payload,
        key=message.key,
        position=message.position,
        attempts=attempts,
        analyzer=analysis.name,
    )
    log.warning("stream record %s moved to %s: %s", message.key, key, reason)


class WindowTally(Protocol):
    """Hears of every window record a member finishes: its sentiment file and the posts it
    scored (0 when the file was there already)."""

    def window(self, key: str, tweets: int) -> None: ...


def run_consumer(
    p: Pipeline,
    scorer: Scorer,
    tally: WindowTally,
    *,
    analysis: Analysis,
    stop: threading.Event,
    follow: bool,
    until_drained: bool,
    poll_timeout: float,
) -> ConsumeReport:
    """One member of ``analysis``'s group: join it, then poll, score, write, commit, until
    drained or stopped."""
    report = ConsumeReport()
    existing = set(p.store.list(analysis.prefix(p.slug)))
    since_progress = time.monotonic()
    batch = p.config.stream.poll_batch
    consumer = p.stream.consumer(analysis.group)
    try:
        while not stop.is_set():
            waiting = follow or until_drained
            timeout = poll_timeout if waiting else 0.0
            messages = with_retries("polling the stream", consumer.poll, batch, timeout)
            if not messages:
                if follow or (until_drained and not _drained(p, consumer, since_progress)):
                    continue
                break
            since_progress = time.monotonic()
            report.first_record_at = report.first_record_at or time.time()
            _process(p, analysis, scorer, tally, messages, existing, report)
            faults.point("consume.commit.before")
            with_retries(f"committing {len(messages)} records", consumer.commit, messages)
            faults.point("consume.commit.after")
            report.batches += 1
            report.last_commit_at = time.time()
    finally:
        consumer.close()
    return report


def _drained(p: Pipeline, consumer: Consumer, since_progress: float) -> bool:
    """Ingestion is complete and the group has nothing left. Records another member still holds
    (a consumer that died keeps its share until its session or lease expires) count as left,
    unless nothing has moved for DRAIN_PATIENCE seconds, so a stale count cannot hang the run."""
    if not ingest_complete(p):
        return False
    lag = with_retries("counting the records left", consumer.lag)
    if not lag or lag < 0:
        return True
    if time.monotonic() - since_progress > DRAIN_PATIENCE:
        log.warning(
            "stopping with %d records still counted in the group: none arrived for %ds",
            lag,
            DRAIN_PATIENCE,
        )
        return True
    return False


def _process(
    p: Pipeline,
    analysis: Analysis,
    scorer: Scorer,
    tally: WindowTally,
    messages: list[Message],
    existing: set[str],
    report: ConsumeReport,
) -> None:
    max_attempts = p.config.stream.max_attempts
    # Keyed by sentiment file: a window delivered twice in one batch is scored once, latest wins.
    queued: dict[str, _Job] = {}
    for message in messages:
        report.records += 1
        if message.deliveries > max_attempts:
            _dead_letter(
                p,
                analysis,
                message,
                f"delivered {message.deliveries} times without being finished "
                f"(stream.max_attempts is {max_attempts}); its consumer may crash on it",
                message.deliveries,
            )
            report.dead_letters += 1
            continue
        try:
            record = WindowRecord.decode(message.payload, what=f"stream record {message.key}")
        except BadInputError as exc:
            # Retrying cannot repair a malformed record.
            _dead_letter(p, analysis, message, str(exc))
            report.dead_letters += 1
            continue
        key = analysis.key(record.slug, record.window)
        digest = record.digest()
        if key in queued or _already_done(p, key, existing, scorer.name, digest):
            report.skipped_windows += 1
            tally.window(key, 0)
            if key not in queued:
                continue
        queued[key] = _Job(message, record, key, digest)
    jobs = list(queued.values())
    if not jobs:
        return
    started = time.perf_counter()
    for job, scores in _score(p, analysis, scorer, jobs, max_attempts, report):
        record = job.record
        doc = SentimentDoc(
            query=record.query,
            window=record.window,
            analyzer=scorer.name,
            staging_key=record.staging_key,
            input_digest=job.digest,
            scores=[s.as_dict(tid) for (tid, _), s in zip(record.tweets, scores, strict=True)],
        )
        faults.point("consume.scored")
        columnar.put_sentiment(p.store, job.key, doc)
        existing.add(job.key)
        report.scored_windows += 1
        report.tweets += len(scores)
        tally.window(job.key, len(scores))
    log.debug("scored %d windows in %.3fs", len(jobs), time.perf_counter() - started)


@dataclass
class _Job:
    message: Message
    record: WindowRecord
    key: str
    digest: str

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.record.tweets]


def _score(
    p: Pipeline,
    analysis: Analysis,
    scorer: Scorer,
    jobs: list[_Job],
    max_attempts: int,
    report: ConsumeReport,
) -> list[tuple[_Job, list[Score]]]:
    """Scores for every job that succeeds within ``max_attempts``; the others are dead-lettered.
    The first attempt scores the whole batch; later ones score each record alone, so one bad
    record does not take the others down with it."""
    try:
        return list(zip(jobs, scorer.score([j.texts for j in jobs]), strict=True))
    except ConfigError:
        raise  # a setting or credential is wrong: every record would fail the same way
    except Exception as exc:
        errors = {id(j): exc for j in jobs}
    done: list[tuple[_Job, list[Score]]] = []
    remaining = jobs
    for attempt in range(2, max_attempts + 1):
        if any(isinstance(errors[id(j)], RetryableError) for j in remaining):
            time.sleep(backoff_delay(attempt - 1, RETRY_BACKOFF, MAX_RETRY_BACKOFF))
        failing = []
        for job in remaining:
            try:
                done.append((job, scorer.score([job.texts])[0]))
            except ConfigError:
                raise
            except Exception as exc:
                errors[id(job)] = exc
                failing.append(job)
        remaining = failing
        if not remaining:
            break
    for job in remaining:
        error = errors[id(job)]
        reason = f"scoring failed {max_attempts} times: {type(error).__name__}: {error}"
        _dead_letter(p, analysis, job.message, reason, max_attempts)
        write_error(
            p.store,
            analysis.error_key(job.record.slug, job.record.window),
            stage="consume",
            reason=reason,
            window=job.record.window.id,
        )
        report.dead_letters += 1
        report.failed.append(job.record.window.id)
    if remaining:
        log.warning("%d of %d windows failed scoring", len(remaining), len(jobs))
    return done
