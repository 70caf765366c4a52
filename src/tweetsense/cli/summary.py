"""The closing summary of a run: what was produced, how fast, and where to find it."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tweetsense.contracts import LABELS
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.run import RunReport


def print_run_summary(console: Console, p: Pipeline, r: RunReport) -> None:
    stages = Table(title="stages", title_justify="left")
    stages.add_column("stage")
    stages.add_column("windows", justify="right")
    stages.add_column("posts", justify="right")
    stages.add_column("seconds", justify="right")
    stages.add_column("posts/s", justify="right")
    rows = [
        ("ingest", r.ingest.fetched + r.ingest.republished, r.ingest.tweets),
        ("consume", r.consume.scored_windows, r.consume.tweets),
        ("batch", r.batch.windows_in, r.batch.result.tweets),
        ("load", r.load.windows, r.load.tweets),
    ]
    for name, windows, posts in rows:
        secs = r.seconds.get(name, 0.0)
        rate = f"{posts / secs:,.0f}" if secs > 0 and posts else "-"
        stages.add_row(name, f"{windows:,}", f"{posts:,}", f"{secs:.2f}", rate)
    console.print(stages)

    result = r.batch.result
    total = sum(result.label_counts.values()) or 1
    summary = Table(title=f"{p.query!r}", title_justify="left", show_header=False)
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("posts (unique)", f"{result.tweets:,}")
    summary.add_row("windows", f"{result.windows:,} x {p.config.search.freq // 60} min")
    for label in LABELS:
        share = result.label_counts.get(label, 0) / total
        summary.add_row(label.lower(), f"{share:.1%}")
    summary.add_row("warehouse", f"{r.load.location} (tables tweet, sentiment)")
    summary.add_row("outputs", p.store.uri(r.batch.outputs.windows_parquet).rsplit("/", 1)[0])
    summary.add_row("total time", f"{sum(r.seconds.values()):.1f} s")
    console.print(summary)
