"""The closing summary of a run: what was produced, how fast, where to find it, what next."""

from __future__ import annotations

import importlib.util
import json
import shlex
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tweetsense.batch.spikes import Found
from tweetsense.cli.dashboard import DEFAULT_PORT
from tweetsense.contracts import LABELS
from tweetsense.pipeline.agreement import of_outputs
from tweetsense.pipeline.analyses import analyses
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.ledger import EXPLAINED, Ledger
from tweetsense.pipeline.run import RunReport

SAMPLE_SQL = "SELECT * FROM sentiment ORDER BY time_window LIMIT 5"


def rerun_options(config: Path | None, data_dir: Path | None, demo: bool) -> list[str]:
    """The options that select this run's config and data again."""
    options = ["--demo"] if demo else ["--config", str(config)] if config is not None else []
    return options + (["--data-dir", str(data_dir)] if data_dir is not None else [])


def program(name: str) -> str:
    """How this shell runs ``name`` of tweetsense's environment: the bare name when the PATH
    finds that one, else its path (``.venv/bin/tweetsense`` after `make demo`)."""
    path = Path(sys.executable).parent / name
    found = shutil.which(name)
    if not path.exists() or (found and Path(found).absolute() == path.absolute()):
        return name
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def next_steps(p: Pipeline, r: RunReport, options: list[str]) -> list[tuple[str, list[str]]]:
    """(what it does, the command line) for each thing to try after a run."""
    tweetsense = [program("tweetsense")]
    dashboard = f"the web dashboard, on http://127.0.0.1:{DEFAULT_PORT}/"
    if not all(importlib.util.find_spec(m) for m in ("starlette", "uvicorn")):
        dashboard += " (needs the extra: pip install 'tweetsense[dashboard]')"
    steps = [
        (dashboard, [*tweetsense, "dashboard", *options]),
        ("done, pending and failed windows per stage", [*tweetsense, "status", *options]),
    ]
    if p.config.warehouse.type == "duckdb":
        # Double quotes inside, so the shell quoting around it stays plain single quotes.
        path, sql = json.dumps(r.load.location), json.dumps(SAMPLE_SQL)
        code = f"import duckdb; print(duckdb.connect({path}, read_only=True).sql({sql}))"
        steps.append(("the warehouse in SQL", [program("python"), "-c", code]))
    steps.append(("a config for your own query: edit it, then run --config", [*tweetsense, "init"]))
    return steps


def add_ledger_rows(table: Table, ledger: Ledger) -> None:
    """Where every fetched post went; the rows add up to ``posts fetched``."""
    table.add_row("posts fetched", f"{ledger.fetched:,}")
    errors = ledger.errors()
    if errors:
        # Text, not a markup string: details such as "[gatewaypundit]" print as the API sent them.
        table.add_row("API errors", Text(errors.line()))
    table.add_row("duplicates", f"{ledger.duplicates:,} ({EXPLAINED['duplicate']})")
    if ledger.edited:
        table.add_row("earlier versions", f"{ledger.edited:,} ({EXPLAINED['edited']})")
    if ledger.outside:
        table.add_row("outside the range", f"{ledger.outside:,} ({EXPLAINED['outside_range']})")
    for reason, n in ledger.lost.items():
        table.add_row(f"dropped: {reason}", f"{n:,} ({EXPLAINED[reason]})")
    if ledger.time_derived:
        table.add_row("time from id", f"{ledger.time_derived:,} posts had no created_at")


def add_insight_rows(table: Table, found: Found) -> None:
    """The true volume the source counted, and the windows that departed from their baseline."""
    if found.volume is not None:
        table.add_row("volume", f"{found.volume:,} matching posts counted (posts read: a sample)")
    if found.spikes:
        first = found.spikes[0]
        table.add_row(
            "spikes",
            f"{len(found.spikes):,} windows (first {first['time_window']:%Y-%m-%d %H:%M} UTC: "
            f"{first['metric'].replace('_', ' ')} {first['direction']})",
        )


def print_run_summary(
    console: Console, p: Pipeline, r: RunReport, options: list[str] | None = None
) -> None:
    stages = Table(title="stages", title_justify="left")
    stages.add_column("stage")
    stages.add_column("windows", justify="right")
    stages.add_column("posts", justify="right")
    stages.add_column("seconds", justify="right")
    stages.add_column("posts/s", justify="right")
    rows = [
        ("ingest", r.ingest.fetched + r.ingest.republished, r.ingest.published_tweets),
        ("consume", r.consume.scored_windows, r.consume.tweets),
        *((f"consume {name}", c.scored_windows, c.tweets) for name, c in r.analyses.items()),
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
    add_ledger_rows(summary, r.batch.ledger)
    names = [a.name for a in analyses(p.config)]
    scores = r.batch.outputs.scores_parquet
    for agreement in of_outputs(p.store, scores, names[0], names[1:]):
        summary.add_row("agreement", agreement.line())
    summary.add_row("posts (unique)", f"{result.tweets:,}")
    summary.add_row("windows", f"{result.windows:,} x {p.config.search.freq // 60} min")
    add_insight_rows(summary, r.batch.insight)
    for label in LABELS:
        share = result.label_counts.get(label, 0) / total
        summary.add_row(label.lower(), f"{share:.1%}")
    summary.add_row("warehouse", f"{r.load.location} (tweet, sentiment, driver, ...)")
    summary.add_row("outputs", p.store.uri(r.batch.outputs.windows_parquet).rsplit("/", 1)[0])
    # Wall time: ingest and consume overlap, so the stages' seconds add up to more.
    summary.add_row("total time", f"{r.wall_seconds:.1f} s")
    console.print(summary)

    # Commands are printed whole, never wrapped, so that they paste into a shell as they are.
    console.print()
    console.print("next", style="bold")
    for what, argv in next_steps(p, r, options or []):
        console.print(f"  {what}:", highlight=False, soft_wrap=True)
        console.print(f"    {shlex.join(argv)}", highlight=False, soft_wrap=True)
