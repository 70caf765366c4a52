"""Stage 2: the consumer group that scores the stream's window records.

``workers`` consumers of one group: this process and ``workers - 1`` worker processes (none for
one). The stream backend splits the records (SQLite leases, Redis consumer-group deliveries,
Kafka partitions, Kinesis shard leases), so the consumers need no coordination of their own; the
same holds for N invocations on different machines. This process consumes too, so it starts
scoring while the others boot. What one member does is in ``consumer_loop``.
"""

from __future__ import annotations

import threading
from typing import Any

from tweetsense.pipeline.analyses import Analysis, analysis
from tweetsense.pipeline.consumer_loop import ConsumeReport, run_consumer
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.manifest import Manifest
from tweetsense.pipeline.progress import log
from tweetsense.pipeline.scoring import Scorer
from tweetsense.pipeline.workers import WorkerGroup, per_worker_config

__all__ = ["ConsumeReport", "consume"]


class _WindowBar:
    """The consume bar: one step per window of the search, scored before or now. The stream may
    hold a window's record more than once (a rerun publishes again what was not scored), and
    each member sees only its own records, so steps are counted here, once per window. A window
    the ingest manifest marks empty has nothing to score: it counts as done."""

    def __init__(self, p: Pipeline, analysis: Analysis):
        self._p = p
        self._analysis = analysis
        self._left: set[str] = set()
        self._lock = threading.Lock()

    def start(self, label: str) -> None:
        p = self._p
        empty = Manifest.load(p.store, p.slug, p.query).empty
        to_score = {self._analysis.key(p.slug, w) for w in p.windows if w.id not in empty}
        self._left = to_score - set(p.store.list(self._analysis.prefix(p.slug)))
        p.progress.start(label, len(p.windows))
        done = len(p.windows) - len(self._left)
        if done:
            p.progress.advance(done, 0)

    def settle(self) -> None:
        """Windows the manifest marked empty since ``start`` (ingest may run beside this
        consumer) have no record to wait for: they count as done."""
        p = self._p
        empty = Manifest.load(p.store, p.slug, p.query).empty
        keys = {self._analysis.key(p.slug, w) for w in p.windows if w.id in empty}
        with self._lock:
            found = keys & self._left
            self._left -= found
        if found:
            p.progress.advance(len(found), 0)

    def window(self, key: str, tweets: int) -> None:
        with self._lock:
            new = key in self._left
            self._left.discard(key)
        if new or tweets:
            self._p.progress.advance(int(new), tweets)


def consume(
    p: Pipeline,
    *,
    analyzer: str | None = None,
    follow: bool = False,
    until_drained: bool = False,
    stop: threading.Event | None = None,
    poll_timeout: float = 1.0,
    workers: int = 1,
) -> ConsumeReport:
    """Process records until the stream is drained, for the analyzer called ``analyzer`` (None:
    the primary one). With ``until_drained``, an empty stream only ends the run once ingestion
    has marked itself complete (ingest may run on another machine); with ``follow``, only
    ``stop`` (SIGTERM) ends it. ``workers`` > 1 runs as many consumers."""
    stop = stop or threading.Event()
    options: dict[str, Any] = {
        "follow": follow,
        "until_drained": until_drained,
        "poll_timeout": poll_timeout,
    }
    chosen = analysis(p.config, analyzer)
    config = per_worker_config(p.config, workers, chosen)
    bar = _WindowBar(p, chosen)
    group = WorkerGroup(p, workers, config, options, bar, chosen.name)
    group.start()
    report: ConsumeReport | None = None
    try:
        scorer = Scorer(config, p.context, analysis(config, chosen.name).section)
        try:
            bar.start("consume" if chosen.primary else f"consume {chosen.name}")
            group.listen()
            report = run_consumer(p, scorer, bar, analysis=chosen, stop=stop, **options)
            bar.settle()
        finally:
            scorer.close()
    finally:
        if report is None or stop.is_set():
            group.stop()
        group.join()
        p.progress.finish()
    for other in group.reports():
        report.merge(other)
    if workers > 1:
        log.info("consume: %d consumers, %d batches", workers, report.batches)
    return report
