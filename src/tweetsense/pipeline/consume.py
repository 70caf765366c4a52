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

from tweetsense.pipeline.consumer_loop import ConsumeReport, run_consumer
from tweetsense.pipeline.core import CONSUMER_GROUP, Pipeline
from tweetsense.pipeline.progress import log
from tweetsense.pipeline.scoring import Scorer
from tweetsense.pipeline.workers import WorkerGroup, per_worker_config

__all__ = ["ConsumeReport", "consume"]


def consume(
    p: Pipeline,
    *,
    follow: bool = False,
    until_drained: bool = False,
    stop: threading.Event | None = None,
    poll_timeout: float = 1.0,
    workers: int = 1,
) -> ConsumeReport:
    """Process records until the stream is drained. With ``until_drained``, an empty stream only
    ends the run once ingestion has marked itself complete (ingest may run on another machine);
    with ``follow``, only ``stop`` (SIGTERM) ends it. ``workers`` > 1 runs as many consumers."""
    stop = stop or threading.Event()
    options: dict[str, Any] = {
        "follow": follow,
        "until_drained": until_drained,
        "poll_timeout": poll_timeout,
    }
    config = per_worker_config(p.config, workers)
    group = WorkerGroup(p, workers, config, options)
    group.start()
    report: ConsumeReport | None = None
    try:
        consumer = p.stream.consumer(CONSUMER_GROUP)
        scorer = Scorer(config, p.context)
        try:
            p.progress.start("consume", consumer.lag())
            group.listen()
            report = run_consumer(p, consumer, scorer, stop=stop, **options)
        finally:
            scorer.close()
            consumer.close()
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
