"""The whole pipeline: ingest, consume, batch, load, and a summary of what it produced."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tweetsense import clock
from tweetsense.errors import StageError, TweetsenseError
from tweetsense.pipeline.analyses import analyses
from tweetsense.pipeline.batch import BatchReport, batch
from tweetsense.pipeline.consume import ConsumeReport, consume
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.ingest import IngestReport, ingest
from tweetsense.pipeline.load import load
from tweetsense.pipeline.markers import clear_ingest_complete, mark_ingest_complete
from tweetsense.pipeline.preflight import preflight
from tweetsense.pipeline.progress import log
from tweetsense.timeutil import format_utc
from tweetsense.warehouse.base import LoadResult

if TYPE_CHECKING:
    from tweetsense.alerts import Alert


@dataclass
class RunReport:
    ingest: IngestReport
    consume: ConsumeReport
    batch: BatchReport
    load: LoadResult
    seconds: dict[str, float] = field(default_factory=dict)
    # The other analyzers' consumers: their reports, and why any of them could not finish.
    analyses: dict[str, ConsumeReport] = field(default_factory=dict)
    analysis_failures: dict[str, str] = field(default_factory=dict)
    # From the first stage's start to the last one's end: stages overlap, so less than their sum.
    wall_seconds: float = 0.0
    alerts: list[Alert] = field(default_factory=list)  # fired by this run's new windows


def run_all(p: Pipeline) -> RunReport:
    """Every stage, after checking every backend so that a broken one (a closed warehouse port)
    stops the run before any request is paid for. The primary analyzer scores windows while
    ingest still fetches; the other stages run in turn. ``seconds`` has each stage's own wall
    time."""
    preflight(p.context)
    started = time.perf_counter()
    seconds: dict[str, float] = {}

    def timed(name, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[name] = time.perf_counter() - start

    ing, con = _ingest_and_consume(p, timed)
    others, failures = _other_analyzers(p, timed)
    if ing.failed:
        window, reason = ing.failed[0]
        raise StageError(
            f"ingest: {len(ing.failed)} windows failed (first {format_utc(window.start)}: "
            f"{reason}); run again to retry them"
        )
    if con.failed:
        raise StageError(
            f"consume: {len(con.failed)} windows could not be scored (first {con.failed[0]}); "
            "run again to retry them"
        )
    bat = timed("batch", batch, p)
    lod = timed("load", load, p)
    bat.ledger.loaded = lod.tweets
    fired = _alerts(p)
    wall = time.perf_counter() - started
    return RunReport(ing, con, bat, lod, seconds, others, failures, wall, fired)


def _alerts(p: Pipeline) -> list[Alert]:
    """The alert rules over the new windows; whatever goes wrong there is logged, never the
    run's failure: its outputs are loaded already."""
    from tweetsense import alerts

    try:
        return alerts.check(p, now=clock.current().now())
    except Exception as exc:
        log.warning("alerts: not evaluated (%s: %s)", type(exc).__name__, exc)
        return []


class _Consumer(threading.Thread):
    """The primary analyzer's consumer, until ingest has marked itself complete and the stream
    is drained, or until ``stop``. Not a daemon: an interpreter that exits waits for its batch
    to be written and committed."""

    def __init__(self, p: Pipeline, timed: Callable[..., Any]):
        super().__init__(name="tweetsense-consume")
        self.stop = threading.Event()
        # Waited on instead of join(): a Ctrl-C that interrupts join() on Python 3.11 leaves a
        # running thread marked as ended, and the interpreter would exit under its batch.
        self.ended = threading.Event()
        self._p = p
        self._timed = timed
        self.report: ConsumeReport | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            # Short polls: once ingest has marked itself complete, the run waits at most one
            # poll before the batch starts.
            self.report = self._timed(
                "consume", consume, self._p, until_drained=True, stop=self.stop, poll_timeout=0.2
            )
        except BaseException as exc:  # handed to the caller of run_all
            self.error = exc
        finally:
            self.ended.set()

    def result(self) -> ConsumeReport:
        """Its report, or what it raised, raised again here."""
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


def _ingest_and_consume(
    p: Pipeline, timed: Callable[..., Any]
) -> tuple[IngestReport, ConsumeReport]:
    """Ingest here and the primary consumer beside it, which scores each window as soon as
    ingest publishes it. An ingest that fails or raises stops the consumer after its current
    batch; so does Ctrl-C. Ingest's exception comes first, then the consumer's."""
    # A marker an earlier run left would end the consumer before this ingest publishes.
    clear_ingest_complete(p)
    consumer = _Consumer(_beside(p), timed)
    consumer.start()
    try:
        ing: IngestReport = timed("ingest", ingest, p)
        if ing.failed:
            consumer.stop.set()
        else:
            mark_ingest_complete(p)
        consumer.ended.wait()
    finally:
        if not consumer.ended.is_set():
            consumer.stop.set()
            consumer.ended.wait()
    consumer.join()
    return ing, consumer.result()


def _beside(p: Pipeline) -> Pipeline:
    """``p`` drawing on a progress lane of its own, for a stage on another thread. Its backends
    are built first, so that both threads share them as stages in turn do."""
    _ = p.store, p.stream, p.slug, p.windows
    twin = copy.copy(p)
    twin.progress = p.progress.lane()
    return twin


def _other_analyzers(
    p: Pipeline, timed: Callable[..., ConsumeReport]
) -> tuple[dict[str, ConsumeReport], dict[str, str]]:
    """Each other analyzer's consumer in turn. One that fails is reported and left for a rerun
    of `consume --analyzer NAME`; it never stops the others, the primary one, or the batch."""
    reports: dict[str, ConsumeReport] = {}
    failures: dict[str, str] = {}
    for other in analyses(p.config)[1:]:
        try:
            report = timed(f"consume {other.name}", consume, p, analyzer=other.name)
        except TweetsenseError as exc:
            failures[other.name] = str(exc)
            log.warning("analyzer %s stopped: %s", other.name, exc)
            continue
        reports[other.name] = report
        if report.failed:
            failures[other.name] = (
                f"{len(report.failed)} windows could not be scored (first {report.failed[0]})"
            )
    return reports, failures
