"""The whole pipeline: ingest, consume, batch, load, and a summary of what it produced."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tweetsense.errors import StageError, TweetsenseError
from tweetsense.pipeline.analyses import analyses
from tweetsense.pipeline.batch import BatchReport, batch
from tweetsense.pipeline.consume import ConsumeReport, consume
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.ingest import IngestReport, ingest
from tweetsense.pipeline.load import load
from tweetsense.pipeline.markers import mark_ingest_complete
from tweetsense.pipeline.preflight import preflight
from tweetsense.pipeline.progress import log
from tweetsense.timeutil import format_utc
from tweetsense.warehouse.base import LoadResult


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


def run_all(p: Pipeline) -> RunReport:
    """Every stage in turn, after checking every backend so that a broken one (a closed
    warehouse port) stops the run before any request is paid for."""
    preflight(p.context)
    seconds: dict[str, float] = {}

    def timed(name, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[name] = time.perf_counter() - start

    ing = timed("ingest", ingest, p)
    if not ing.failed:
        mark_ingest_complete(p)
    con = timed("consume", consume, p)
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
    return RunReport(ing, con, bat, lod, seconds, others, failures)


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
