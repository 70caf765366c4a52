"""Where every window stands in every stage: done, pending or failed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tweetsense import layout
from tweetsense.pipeline.batch import read_manifest
from tweetsense.pipeline.core import Pipeline
from tweetsense.timeutil import Window

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

    def counts(self) -> dict[str, Counter[str]]:
        return {s: Counter(w.stage(s) for w in self.windows) for s in STAGES}


def status(p: Pipeline) -> StatusReport:
    staged = p.keys(layout.STAGING)
    scored = p.keys(layout.SENTIMENT)
    failed = {s: p.keys(f"{layout.ERRORS}/{s}") for s in ("ingest", "consume")}
    manifest = read_manifest(p) or {}
    batched = set(manifest.get("window_ids", ()))
    loaded = p.warehouse.loaded_windows(p.query)
    rows = []
    for w in p.windows:
        sk, rk = layout.staging_key(p.slug, w), layout.sentiment_key(p.slug, w)
        ingest = (
            DONE
            if sk in staged
            else FAILED
            if layout.error_key("ingest", p.slug, w) in failed["ingest"]
            else PENDING
        )
        consume = (
            DONE
            if rk in scored
            else FAILED
            if layout.error_key("consume", p.slug, w) in failed["consume"]
            else PENDING
        )
        rows.append(
            WindowStatus(
                w,
                ingest,
                consume,
                DONE if w.id in batched else PENDING,
                DONE if w.start in loaded else PENDING,
            )
        )
    consumer = p.stream.consumer("tweetsense-sentiment")
    try:
        lag = consumer.lag()
    finally:
        consumer.close()
    return StatusReport(rows, lag)
