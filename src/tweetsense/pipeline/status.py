"""Where every window stands in every stage: done, pending or failed. A window the ingest
manifest marks empty is done in ingest and consume (it has nothing to score)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import tweetsense.pipeline.ledger as ledgers
from tweetsense import alerts, layout, quarantine
from tweetsense.pipeline.agreement import Agreement, of_outputs
from tweetsense.pipeline.analyses import Analysis, analyses
from tweetsense.pipeline.batch import outputs_for, read_manifest
from tweetsense.pipeline.core import CONSUMER_GROUP, Pipeline
from tweetsense.pipeline.follow import FollowState
from tweetsense.pipeline.ledger import Ledger
from tweetsense.pipeline.manifest import Manifest
from tweetsense.timeutil import Window

if TYPE_CHECKING:
    from tweetsense.alerts import Alert

STAGES = ("ingest", "consume", "batch", "load")
DONE, PENDING, FAILED = "done", "pending", "failed"


@dataclass(frozen=True)
class WindowStatus:
    window: Window
    ingest: str
    consume: str
    batch: str
    load: str

    def stage(self, name: str) -> str:
        return getattr(self, name)


@dataclass(frozen=True)
class StatusReport:
    windows: list[WindowStatus]
    stream_lag: int | None
    quarantined: int = 0  # bad records set aside (errors/quarantine, dead letters)
    ledger: Ledger | None = None  # where the posts of the last batch went
    agreements: list[Agreement] = field(default_factory=list)  # primary vs each other analyzer
    # The other analyzers' consumers: done / pending / failed windows, and records waiting.
    analyzers: dict[str, Counter[str]] = field(default_factory=dict)
    analyzer_lag: dict[str, int | None] = field(default_factory=dict)
    follow: FollowState | None = None  # the live run's last step and next one (`run --follow`)
    alerts: list[Alert] = field(default_factory=list)  # the latest alerts fired, newest first

    def counts(self) -> dict[str, Counter[str]]:
        return {s: Counter(w.stage(s) for w in self.windows) for s in STAGES}


def status(p: Pipeline) -> StatusReport:
    done = {
        "ingest": p.keys(layout.STAGING),
        "consume": p.keys(layout.SENTIMENT),
    }
    failed = {s: p.keys(layout.error_dir(s)) for s in done}
    output_key = {"ingest": layout.staging_key, "consume": layout.sentiment_key}
    empty = Manifest.load(p.store, p.slug, p.query).empty

    def state(stage: str, w: Window) -> str:
        if output_key[stage](p.slug, w) in done[stage] or w.id in empty:
            return DONE
        return FAILED if layout.error_key(stage, p.slug, w) in failed[stage] else PENDING

    batched = set((read_manifest(p) or {}).get("window_ids", ()))
    loaded = p.warehouse.loaded_windows(p.query)
    rows = [
        WindowStatus(
            w,
            state("ingest", w),
            state("consume", w),
            DONE if w.id in batched else PENDING,
            DONE if w.start in loaded else PENDING,
        )
        for w in p.windows
    ]
    consumer = p.stream.consumer(CONSUMER_GROUP)
    try:
        lag = consumer.lag()
    finally:
        consumer.close()
    ledger = ledgers.load(p.store, p.slug)
    others, others_lag = {}, {}
    for other in analyses(p.config)[1:]:
        others[other.name], others_lag[other.name] = _analysis_status(p, other, empty)
    names = [a.name for a in analyses(p.config)]
    scores = outputs_for(p.slug).scores_parquet
    agreements = of_outputs(p.store, scores, names[0], names[1:])
    return StatusReport(
        rows,
        lag,
        quarantine.count(p.store, p.slug),
        ledger,
        agreements,
        others,
        others_lag,
        FollowState.read(p),
        alerts.recent(p, limit=5),
    )


def _analysis_status(
    p: Pipeline, analysis: Analysis, empty: Container[str]
) -> tuple[Counter[str], int | None]:
    done = set(p.store.list(analysis.prefix(p.slug)))
    failed = p.keys(layout.error_dir(analysis.error_stage))
    counts: Counter[str] = Counter()
    for w in p.windows:
        if analysis.key(p.slug, w) in done or w.id in empty:
            counts[DONE] += 1
        else:
            counts[FAILED if analysis.error_key(p.slug, w) in failed else PENDING] += 1
    consumer = p.stream.consumer(analysis.group)
    try:
        return counts, consumer.lag()
    finally:
        consumer.close()
