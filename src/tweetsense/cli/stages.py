"""The pipeline's commands: `run` (every stage), `init`, `status`, then each stage alone."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tweetsense.cli.common import (
    STAGES,
    START,
    PipelineOptions,
    command,
    err,
    graceful_stop,
    out,
)
from tweetsense.config import DEFAULT_CONFIG, template_path
from tweetsense.errors import ConfigError
from tweetsense.pipeline.ledger import Ledger
from tweetsense.pipeline.markers import mark_ingest_complete

# How long a command that ends waits for its alerts' webhooks (each is retried with backoff).
ALERT_FLUSH_SECONDS = 10.0
# `run --strict` and friends: every stage worked, but posts were dropped (the ledger says why).
DROPPED_EXIT = 4


StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Exit with 4 when any post was dropped (see the ledger).")
]


@command(START)
def run(
    opts: PipelineOptions,
    strict: StrictOpt = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Keep following the topic: a step as each window closes (search.end_time: now).",
        ),
    ] = False,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="With --follow: stop after the step that reaches this UTC time."
        ),
    ] = None,
) -> None:
    """Run every stage: ingest, consume, batch, load; then print a summary."""
    from tweetsense.cli.summary import print_run_summary, rerun_options
    from tweetsense.pipeline.run import run_all

    if follow or until:
        _follow(opts, until)
        return

    from tweetsense import alerts

    with opts.open() as p:
        report = run_all(p)
    print_run_summary(out, p, report, rerun_options(opts.config, opts.data_dir, opts.demo))
    alerts.flush(ALERT_FLUSH_SECONDS)
    for name, reason in report.analysis_failures.items():
        err.print(
            Text.assemble(
                ("warning: ", "bold yellow"),
                f"analyzer {name}: {reason}; its results are left out until "
                f"`tweetsense consume --analyzer {name}` finishes",
            ),
            soft_wrap=True,
        )
    _warn_dropped(report.batch.ledger, strict)


def _follow(opts: PipelineOptions, until: str | None) -> None:
    """`run --follow`: steps until SIGTERM or Ctrl-C (each ends the current step first)."""
    import signal

    from tweetsense.cli.progress import RichProgress
    from tweetsense.clock import current
    from tweetsense.pipeline import Pipeline
    from tweetsense.pipeline.follow import Step, follow
    from tweetsense.secrets import Secrets
    from tweetsense.timeutil import format_utc, parse_utc

    if until is None:
        end = None
    else:
        try:
            end = parse_utc(until)
        except ValueError:
            raise ConfigError(
                f"--until: {until!r} is not a UTC time; write e.g. 2024-03-01T06:00Z"
            ) from None
    config = Pipeline.configure(opts.config, data_dir=opts.data_dir, demo=opts.demo)
    secrets = Secrets(opts.secrets)
    stop = threading.Event()

    def asked(signum: int, _frame: object) -> None:
        if stop.is_set():  # asked twice: stop now
            raise KeyboardInterrupt
        stop.set()
        err.print(f"stopping after the current step ({signal.Signals(signum).name})")

    def shown(step: Step) -> None:
        when = format_utc(step.through)
        if step.error:
            err.print(
                Text.assemble(("step failed: ", "bold yellow"), f"through {when}: {step.error}"),
                soft_wrap=True,
            )
        else:
            out.print(
                f"through {when}: {step.windows} windows, {step.posts} posts in the warehouse "
                f"({step.seconds:.1f} s)",
                soft_wrap=True,
            )

    from tweetsense import alerts

    previous = {sig: signal.signal(sig, asked) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        follow(
            config,
            secrets,
            clock=current(),
            stop=stop,
            until=end,
            progress=lambda: RichProgress(err),
            on_step=shown,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        alerts.flush(ALERT_FLUSH_SECONDS)


def _warn_dropped(ledger: Ledger | None, strict: bool) -> None:
    warning = ledger.warning() if ledger else None
    if warning:
        err.print(Text.assemble(("warning: ", "bold yellow"), warning), soft_wrap=True)
        if strict:
            raise typer.Exit(DROPPED_EXIT)


@command(START)
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the template.")] = Path(
        DEFAULT_CONFIG
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented config template."""
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; pass --force to overwrite it")
    shutil.copyfile(template_path(), path)
    out.print(f"wrote {path}; edit it, then run: tweetsense run --config {path}", soft_wrap=True)


@command(START)
def status(
    opts: PipelineOptions,
    windows: Annotated[
        bool, typer.Option("--windows", help="One line per window that is not done everywhere.")
    ] = False,
    strict: StrictOpt = False,
) -> None:
    """Show, per stage, how many windows are done, pending and failed."""
    from tweetsense.pipeline.status import DONE
    from tweetsense.pipeline.status import STAGES as STATUS_STAGES
    from tweetsense.pipeline.status import status as run_status

    with opts.open() as p:
        r = run_status(p)
    table = Table(title=f"{p.query!r}: {len(r.windows)} windows")
    table.add_column("stage")
    for col in ("done", "pending", "failed"):
        table.add_column(col, justify="right")
    counts = r.counts()
    for stage in STATUS_STAGES:
        c = counts[stage]
        table.add_row(stage, str(c["done"]), str(c["pending"]), str(c["failed"]))
    out.print(table)
    if r.stream_lag is not None:
        out.print(f"stream: {r.stream_lag} records waiting for the consumer")
    if r.quarantined:
        out.print(
            f"quarantined: {r.quarantined} bad records, with reasons, under "
            f"{p.store.uri('errors')}",
            soft_wrap=True,
        )
    for name, counts in r.analyzers.items():
        lag = r.analyzer_lag.get(name)
        waiting = f", {lag} records waiting" if lag is not None else ""
        out.print(
            f"analyzer {name}: {counts['done']} done, {counts['pending']} pending, "
            f"{counts['failed']} failed{waiting}"
        )
    for agreement in r.agreements:
        out.print(f"agreement: {agreement.line()}", soft_wrap=True)
    if r.follow is not None:
        out.print(f"live: {r.follow.line()}", soft_wrap=True)
    for alert in r.alerts:
        out.print(f"alert ({alert.delivery}): {alert.message}", soft_wrap=True)
    if r.ledger is not None:
        out.print(f"ledger: {r.ledger.line()}", soft_wrap=True)
        if r.ledger.errors():
            out.print(f"API errors: {r.ledger.errors().line()}", soft_wrap=True)
    if windows:
        detail = Table("window (UTC)", *STATUS_STAGES)
        for w in r.windows:
            states = [w.stage(s) for s in STATUS_STAGES]
            if any(s != DONE for s in states):
                detail.add_row(w.window.start.strftime("%Y-%m-%d %H:%M"), *states)
        if detail.row_count:
            out.print(detail)
        else:
            out.print(f"every window is done in every stage ({len(r.windows)} windows)")
    _warn_dropped(r.ledger, strict)


@command(STAGES)
def ingest(
    opts: PipelineOptions,
    refetch: Annotated[
        bool, typer.Option("--refetch", help="Fetch windows already staged again.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print windows, requests, posts, cost and time; fetch nothing."
        ),
    ] = False,
    max_posts: Annotated[
        int | None, typer.Option(min=1, help="Stop before reading more posts.", show_default=False)
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option(min=0, help="Stop before spending more dollars.", show_default=False),
    ] = None,
) -> None:
    """Fetch every window of the search into the staging store and publish it to the stream."""
    from tweetsense.pipeline.ingest import ingest as run_ingest

    with opts.open() as p:
        if dry_run:
            from tweetsense.cli.ingest_plan import print_dry_run

            return print_dry_run(out, p, refetch=refetch)
        r = run_ingest(p, refetch=refetch, max_posts=max_posts, max_cost=max_cost)
        errors = f"; API errors: {r.api_errors.line()}" if r.api_errors else ""
        out.print(
            f"ingest: {r.fetched} windows fetched ({r.tweets:,} posts), {r.republished} already "
            f"staged and published again ({r.republished_tweets:,} posts), {r.skipped} already "
            f"done, {len(r.failed)} failed{errors}",
            soft_wrap=True,  # an error detail the API sent stays whole, for grep and copying
        )
        if r.failed:
            raise typer.Exit(1)
        mark_ingest_complete(p)


@command(STAGES)
def consume(
    opts: PipelineOptions,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", help="Keep waiting for new records instead of stopping when drained."
        ),
    ] = False,
    until_drained: Annotated[
        bool,
        typer.Option(
            "--until-drained",
            help="Wait until ingestion is complete, then stop once the stream is empty.",
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="Consumer processes sharing the stream's records.")
    ] = 1,
    analyzer: Annotated[
        str | None,
        typer.Option(
            help="Only this analyzer, by its name (default: every configured one in turn).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Score the posts of every window record in the stream; write one sentiment file each."""
    from tweetsense.pipeline.analyses import analyses
    from tweetsense.pipeline.consume import consume as run_consume

    bad = False
    with opts.open() as p, graceful_stop() as stop:
        names = [analyzer] if analyzer else [a.name for a in analyses(p.config)]
        if follow and len(names) > 1:
            raise ConfigError(
                "--follow: the config has several analyzers; run one consumer per analyzer "
                f"with --analyzer NAME ({', '.join(names)})"
            )
        for name in names:
            r = run_consume(
                p,
                analyzer=name,
                follow=follow,
                until_drained=until_drained,
                stop=stop,
                workers=workers,
            )
            rate = f", {r.tweets / r.busy_seconds:,.0f}/s" if r.tweets and r.busy_seconds else ""
            who = f" {name}" if len(names) > 1 or analyzer else ""
            out.print(
                f"consume{who}: {r.scored_windows} windows scored ({r.tweets:,} posts{rate}), "
                f"{r.skipped_windows} already done, {r.dead_letters} dead letters, "
                f"{len(r.failed)} failed"
            )
            bad = bad or bool(r.failed or r.dead_letters)
    if bad:
        raise typer.Exit(1)


@command(STAGES)
def batch(
    opts: PipelineOptions,
    engine: Annotated[
        str | None, typer.Option(help="Batch engine (overrides batch.type).", show_default=False)
    ] = None,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial", help="Aggregate the scored windows even if some are not scored."
        ),
    ] = False,
    master: Annotated[
        str | None,
        typer.Option(help="Spark master, e.g. local[4] (sets batch.master).", show_default=False),
    ] = None,
    strict: StrictOpt = False,
) -> None:
    """Merge posts with their scores and aggregate them per window into Parquet and CSV."""
    from tweetsense.pipeline.batch import batch as run_batch

    with opts.open(batch=(engine, {"master": master} if master else {})) as p:
        r = run_batch(p, allow_partial=allow_partial)
        out.print(
            f"batch: {r.result.tweets:,} posts in {r.result.windows} windows -> "
            f"{p.store.uri(r.outputs.tweets_parquet)}, {p.store.uri(r.outputs.windows_parquet)}",
            soft_wrap=True,
        )
        out.print(f"ledger: {r.ledger.line()}", soft_wrap=True)
    _warn_dropped(r.ledger, strict)


@command(STAGES)
def load(
    opts: PipelineOptions,
    warehouse: Annotated[
        str | None,
        typer.Option(
            help="Warehouse: duckdb, postgres or redshift (overrides warehouse.type).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Load the batch outputs into the warehouse tables `tweet` and `sentiment`."""
    from tweetsense.pipeline.load import load as run_load

    with opts.open(warehouse=warehouse) as p:
        r = run_load(p)
    out.print(f"load: {r.tweets:,} posts, {r.windows} windows in {r.location}", soft_wrap=True)
