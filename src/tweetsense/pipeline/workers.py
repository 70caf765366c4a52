"""`consume --workers N`: N consumers of one group, this process and N - 1 worker processes
(none for N = 1).

The stream backend splits the records (SQLite leases, Redis consumer-group deliveries, Kafka
partitions, Kinesis shard leases), so the consumers need no coordination of their own; the same
holds for N invocations on different machines. This process consumes too, so it starts scoring
while the others boot. SIGTERM is passed on to every worker, which stops after its current
batch. A worker that dies leaves its uncommitted records to the others (or to the next run),
which is at-least-once, and it is reported as an error.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from tweetsense.config import Config
from tweetsense.errors import StageError, TweetsenseError
from tweetsense.pipeline.core import CONSUMER_GROUP, Pipeline
from tweetsense.pipeline.progress import log
from tweetsense.pipeline.scoring import Scorer
from tweetsense.secrets import Secrets

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from tweetsense.pipeline.consume import ConsumeReport

PROGRESS_EVERY = 0.25  # seconds between a worker's progress messages


class _QueueProgress:
    """A worker's progress, sent to the parent's bar in small sums."""

    def __init__(self, results: Any):
        self._results = results
        self._windows = self._tweets = 0
        self._sent = time.monotonic()

    def start(self, stage: str, total: int | None, unit: str = "windows") -> None:
        pass

    def advance(self, windows: int = 1, tweets: int = 0) -> None:
        self._windows += windows
        self._tweets += tweets
        if time.monotonic() - self._sent >= PROGRESS_EVERY:
            self.finish()

    def finish(self) -> None:
        if self._windows or self._tweets:
            self._results.put(("progress", (self._windows, self._tweets)))
            self._windows = self._tweets = 0
        self._sent = time.monotonic()


def _worker(
    config: dict[str, Any],
    secrets_path: str | None,
    level: int,
    options: dict[str, Any],
    results: Any,
) -> None:
    from pathlib import Path

    from tweetsense.pipeline.consume import consume

    logging.basicConfig(level=level, format=f"[worker {os.getpid()}] %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The parent decides about Ctrl-C and passes it on as SIGTERM: no half-written batch here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    p = Pipeline(
        Config.model_validate(config),
        Secrets(Path(secrets_path) if secrets_path else None),
        progress=_QueueProgress(results),
    )
    try:
        results.put(("ok", consume(p, stop=stop, **options)))
    except TweetsenseError as exc:
        results.put(("error", exc))
    finally:
        p.close()


def _per_worker_config(config: Config, workers: int) -> dict[str, Any]:
    """Each consumer gets an equal share of the scoring processes (at least one, in-process)."""
    section = config.sentiment
    total = section.workers or os.cpu_count() or 1
    share = max(1, total // workers)
    data = config.model_dump(mode="json")
    data["sentiment"]["workers"] = share
    return data


class _Collector(threading.Thread):
    """Feeds the workers' progress to the bar and gathers their final reports."""

    def __init__(self, p: Pipeline, results: Any, procs: list[BaseProcess]):
        super().__init__(name="tweetsense-consume-collector", daemon=True)
        self._p, self._results, self._procs = p, results, procs
        self.reports: list[ConsumeReport] = []
        self.errors: list[TweetsenseError] = []

    @property
    def received(self) -> int:
        return len(self.reports) + len(self.errors)

    def run(self) -> None:
        while self.received < len(self._procs):
            try:
                kind, value = self._results.get(timeout=0.2)
            except queue.Empty:  # a worker may have died without a word
                if all(not proc.is_alive() for proc in self._procs) and self._results.empty():
                    return
                continue
            if kind == "progress":
                self._p.progress.advance(*value)
            elif kind == "ok":
                self.reports.append(value)
            else:
                self.errors.append(value)


def consume_in_workers(
    p: Pipeline,
    workers: int,
    *,
    follow: bool,
    until_drained: bool,
    stop: threading.Event,
    poll_timeout: float,
) -> ConsumeReport:
    from tweetsense.pipeline.consume import run_consumer

    ctx = multiprocessing.get_context("spawn")  # forking SQLite/DuckDB handles is unsafe
    results = ctx.Queue()
    options = {"follow": follow, "until_drained": until_drained, "poll_timeout": poll_timeout}
    config = _per_worker_config(p.config, workers)
    secrets_path = str(p.context.secrets.path) if p.context.secrets.path else None
    level = logging.getLogger().getEffectiveLevel()
    procs = [
        ctx.Process(
            target=_worker,
            args=(config, secrets_path, level, options, results),
            name=f"tweetsense-consume-{i}",
        )
        for i in range(1, workers)
    ]
    for proc in procs:
        proc.start()
    collector = _Collector(p, results, procs)
    report: ConsumeReport | None = None
    try:
        consumer = p.stream.consumer(CONSUMER_GROUP)
        scorer = Scorer(Config.model_validate(config), p.context)
        try:
            p.progress.start("consume", consumer.lag())
            collector.start()
            report = run_consumer(p, consumer, scorer, stop=stop, **options)
        finally:
            scorer.close()
            consumer.close()
    finally:
        if report is None or stop.is_set():
            for proc in procs:
                if proc.is_alive() and proc.pid is not None:
                    os.kill(proc.pid, signal.SIGTERM)
        if collector.is_alive():
            collector.join()
        for proc in procs:
            proc.join(timeout=30 if collector.received == len(procs) else 5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        p.progress.finish()
    if collector.errors:
        raise collector.errors[0]
    lost = [proc for proc in procs if proc.exitcode not in (0, None)]
    if collector.received < len(procs) or lost:
        codes = ", ".join(str(proc.exitcode) for proc in lost) or "none"
        raise StageError(
            f"{len(procs) - collector.received} of {workers} consumers ended without finishing "
            f"(exit codes {codes}); run `tweetsense consume` again to finish their records"
        )
    for other in collector.reports:
        report.merge(other)
    if procs:
        log.info("consume: %d consumers, %d batches", workers, report.batches)
    return report
