"""`consume --workers N`: N consumer processes of one group, each scoring what it is handed.

The stream backend splits the records (SQLite leases, Redis consumer-group deliveries, Kafka
partitions), so the processes need no coordination of their own; the same holds for N
invocations on different machines. SIGTERM to the parent is passed on to every worker, which
stops after its current batch. A worker that dies leaves its uncommitted records to the others
(or to the next run), which is at-least-once, and the parent reports it as an error.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
from typing import TYPE_CHECKING, Any

from tweetsense.config import Config
from tweetsense.errors import StageError, TweetsenseError
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.progress import log
from tweetsense.secrets import Secrets

if TYPE_CHECKING:
    from tweetsense.pipeline.consume import ConsumeReport


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
        Config.model_validate(config), Secrets(Path(secrets_path) if secrets_path else None)
    )
    try:
        results.put(("ok", consume(p, stop=stop, **options)))
    except TweetsenseError as exc:
        results.put(("error", exc))
    finally:
        p.close()


def _per_worker_config(config: Config, workers: int) -> dict[str, Any]:
    """Each worker gets an equal share of the scoring processes (at least one, in-process)."""
    section = config.sentiment
    total = section.workers or os.cpu_count() or 1
    share = max(1, total // workers)
    data = config.model_dump(mode="json")
    data["sentiment"]["workers"] = share
    return data


def consume_in_workers(
    p: Pipeline,
    workers: int,
    *,
    follow: bool,
    until_drained: bool,
    stop: threading.Event,
    poll_timeout: float,
) -> ConsumeReport:
    from tweetsense.pipeline.consume import ConsumeReport

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
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    p.progress.start("consume", None)
    report = ConsumeReport()
    errors: list[TweetsenseError] = []
    received = 0
    signalled = False
    try:
        while received < workers:
            if stop.is_set() and not signalled:
                for proc in procs:
                    if proc.is_alive() and proc.pid is not None:
                        os.kill(proc.pid, signal.SIGTERM)
                signalled = True
            try:
                kind, value = results.get(timeout=0.2)
            except queue.Empty:  # a worker may have died without a word
                if all(not proc.is_alive() for proc in procs) and results.empty():
                    break
                continue
            received += 1
            if kind == "ok":
                report.merge(value)
                p.progress.advance(value.scored_windows + value.skipped_windows, value.tweets)
            else:
                errors.append(value)
    finally:
        for proc in procs:
            proc.join(timeout=30 if received >= workers else 5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        p.progress.finish()
    if errors:
        raise errors[0]
    lost = [proc for proc in procs if proc.exitcode not in (0, None)]
    if received < workers or lost:
        codes = ", ".join(str(proc.exitcode) for proc in lost) or "none"
        raise StageError(
            f"{workers - received} of {workers} consume workers ended without finishing "
            f"(exit codes {codes}); run `tweetsense consume` again to finish their records"
        )
    log.info("consume: %d workers, %d batches", workers, report.batches)
    return report
