"""The worker processes of `consume --workers N`: N - 1 members of the group besides the calling
process, their progress fed to its bar, their reports gathered.

SIGTERM is passed on to every worker, which stops after its current batch. A worker that dies
leaves its uncommitted records to the others (or to the next run), which is at-least-once, and
it is reported as an error.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from tweetsense.config import Config
from tweetsense.errors import StageError, TweetsenseError
from tweetsense.pipeline.analyses import Analysis, analyses, analysis
from tweetsense.pipeline.consumer_loop import ConsumeReport, WindowTally, run_consumer
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.scoring import Scorer
from tweetsense.secrets import Secrets

PROGRESS_EVERY = 0.25  # seconds between a worker's progress messages


class _QueueTally:
    """A worker's finished windows, sent to the parent's bar in small batches."""

    def __init__(self, results: Any):
        self._results = results
        self._windows: list[tuple[str, int]] = []
        self._sent = time.monotonic()

    def window(self, key: str, tweets: int) -> None:
        self._windows.append((key, tweets))
        if time.monotonic() - self._sent >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._windows:
            self._results.put(("windows", self._windows))
            self._windows = []
        self._sent = time.monotonic()


def _worker(
    config: dict[str, Any],
    analyzer: str,
    secrets_path: str | None,
    level: int,
    options: dict[str, Any],
    results: Any,
) -> None:
    logging.basicConfig(level=level, format=f"[worker {os.getpid()}] %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The parent decides about Ctrl-C and passes it on as SIGTERM: no half-written batch here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    p = Pipeline(
        Config.model_validate(config), Secrets(Path(secrets_path) if secrets_path else None)
    )
    tally = _QueueTally(results)
    try:
        chosen = analysis(p.config, analyzer)
        scorer = Scorer(p.config, p.context, chosen.section)
        try:
            report = run_consumer(p, scorer, tally, analysis=chosen, stop=stop, **options)
        finally:
            scorer.close()
            tally.flush()  # before the report: the parent stops listening once it has them all
        results.put(("ok", report))
    except TweetsenseError as exc:
        results.put(("error", exc))
    finally:
        p.close()


def per_worker_config(config: Config, workers: int, chosen: Analysis) -> Config:
    """Each consumer of ``chosen`` gets an equal share of its scoring processes (at least one,
    in-process)."""
    total = chosen.section.workers or os.cpu_count() or 1
    share = max(1, total // workers)
    data = config.model_dump(mode="json")
    position = next(i for i, a in enumerate(analyses(config)) if a.name == chosen.name)
    section = data["sentiment"] if position == 0 else data["other_analyzers"][position - 1]
    section["workers"] = share
    return Config.model_validate(data)


class _Collector(threading.Thread):
    """Passes the workers' finished windows on and gathers their final reports."""

    def __init__(self, tally: WindowTally, results: Any, procs: list[BaseProcess]):
        super().__init__(name="tweetsense-consume-collector", daemon=True)
        self._tally, self._results, self._procs = tally, results, procs
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
            if kind == "windows":
                for key, tweets in value:
                    self._tally.window(key, tweets)
            elif kind == "ok":
                self.reports.append(value)
            else:
                self.errors.append(value)


class WorkerGroup:
    """``workers - 1`` consumer processes: started, then listened to, then stopped and joined."""

    def __init__(
        self,
        p: Pipeline,
        workers: int,
        config: Config,
        options: dict[str, Any],
        tally: WindowTally,
        analyzer: str,
    ):
        ctx = multiprocessing.get_context("spawn")  # forking SQLite/DuckDB handles is unsafe
        self._workers = workers
        self._results = ctx.Queue()
        secrets_path = str(p.context.secrets.path) if p.context.secrets.path else None
        level = logging.getLogger().getEffectiveLevel()
        args = (
            config.model_dump(mode="json"),
            analyzer,
            secrets_path,
            level,
            options,
            self._results,
        )
        self._procs = [
            ctx.Process(target=_worker, args=args, name=f"tweetsense-consume-{i}")
            for i in range(1, workers)
        ]
        self._collector = _Collector(tally, self._results, self._procs)

    def start(self) -> None:
        for proc in self._procs:
            proc.start()

    def listen(self) -> None:
        """Pass the workers' finished windows on to the tally from now on."""
        self._collector.start()

    def stop(self) -> None:
        for proc in self._procs:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)

    def join(self) -> None:
        if self._collector.is_alive():
            self._collector.join()
        finished = self._collector.received == len(self._procs)
        for proc in self._procs:
            proc.join(timeout=30 if finished else 5)
            if proc.is_alive():
                proc.terminate()
                proc.join()

    def reports(self) -> list[ConsumeReport]:
        """Every worker's report, once joined; an error if any worker failed or was lost."""
        collector, procs = self._collector, self._procs
        if collector.errors:
            raise collector.errors[0]
        lost = [proc for proc in procs if proc.exitcode not in (0, None)]
        if collector.received < len(procs) or lost:
            codes = ", ".join(str(proc.exitcode) for proc in lost) or "none"
            raise StageError(
                f"{len(procs) - collector.received} of {self._workers} consumers ended without "
                f"finishing (exit codes {codes}); run `tweetsense consume` again to finish their "
                "records"
            )
        return collector.reports
