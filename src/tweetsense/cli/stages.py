"""Stage commands: `run` (every stage), `ingest`, `consume`, `batch`, `load`, `status`, `init`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tweetsense.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DemoOpt,
    SecretsOpt,
    VerboseOpt,
    app,
    graceful_stop,
    guarded,
    make_pipeline,
    out,
)
from tweetsense.config import template_path
from tweetsense.errors import ConfigError
from tweetsense.pipeline.markers import mark_ingest_complete


@app.command()
def run(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
) -> None:
    """Run every stage: ingest, consume, batch, load; then print a summary."""
    from tweetsense.cli.summary import print_run_summary, rerun_options
    from tweetsense.pipeline.run import run_all

    def body() -> None:
        p = make_pipeline(config, data_dir, demo, secrets, verbose)
        try:
            report = run_all(p)
        finally:
            p.close()
        print_run_summary(out, p, report, rerun_options(config, data_dir, demo))

    guarded(body)


@app.command()
def ingest(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
    refetch: Annotated[bool, typer.Option(help="Fetch windows already staged again.")] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Print windows, requests, posts, cost and time; fetch nothing.")
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

    def body() -> None:
        p = make_pipeline(config, data_dir, demo, secrets, verbose)
        if dry_run:
            from tweetsense.cli.ingest_plan import print_dry_run

            return print_dry_run(out, p, refetch=refetch)
        try:
            r = run_ingest(p, refetch=refetch, max_posts=max_posts, max_cost=max_cost)
        finally:
            p.close()
        out.print(
            f"ingest: {r.fetched} windows fetched ({r.tweets:,} posts), {r.republished} "
            f"published again, {r.skipped} already done, {len(r.failed)} failed"
        )
        if r.failed:
            raise typer.Exit(1)
        mark_ingest_complete(p)

    guarded(body)


@app.command()
def consume(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
    follow: Annotated[
        bool, typer.Option(help="Keep waiting for new records instead of stopping when drained.")
    ] = False,
    until_drained: Annotated[
        bool,
        typer.Option(help="Wait until ingestion is complete, then stop once the stream is empty."),
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="Consumer processes sharing the stream's records.")
    ] = 1,
) -> None:
    """Score the posts of every window record in the stream; write one sentiment file each."""
    from tweetsense.pipeline.consume import consume as run_consume

    def body() -> None:
        p = make_pipeline(config, data_dir, demo, secrets, verbose)
        with graceful_stop() as stop:
            try:
                r = run_consume(
                    p, follow=follow, until_drained=until_drained, stop=stop, workers=workers
                )
            finally:
                p.close()
        rate = f", {r.tweets / r.busy_seconds:,.0f}/s" if r.tweets and r.busy_seconds else ""
        out.print(
            f"consume: {r.scored_windows} windows scored ({r.tweets:,} posts{rate}), "
            f"{r.skipped_windows} already done, {r.dead_letters} dead letters, "
            f"{len(r.failed)} failed"
        )
        if r.failed or r.dead_letters:
            raise typer.Exit(1)

    guarded(body)


@app.command()
def batch(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
    engine: Annotated[
        str | None, typer.Option(help="Batch engine (overrides batch.type).", show_default=False)
    ] = None,
    allow_partial: Annotated[
        bool, typer.Option(help="Aggregate the scored windows even if some are not scored.")
    ] = False,
    master: Annotated[
        str | None,
        typer.Option(help="Spark master, e.g. local[4] (sets batch.master).", show_default=False),
    ] = None,
) -> None:
    """Merge posts with their scores and aggregate them per window into Parquet and CSV."""
    from tweetsense.pipeline.batch import batch as run_batch

    def body() -> None:
        settings = {"master": master} if master else {}
        switch = {"batch": (engine, settings)}
        p = make_pipeline(config, data_dir, demo, secrets, verbose, switch)
        r = run_batch(p, allow_partial=allow_partial)
        out.print(
            f"batch: {r.result.tweets:,} posts in {r.result.windows} windows -> "
            f"{p.store.uri(r.outputs.tweets_parquet)}, {p.store.uri(r.outputs.windows_parquet)}"
        )

    guarded(body)


@app.command()
def load(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
    warehouse: Annotated[
        str | None,
        typer.Option(help="Warehouse: duckdb, postgres or redshift (overrides warehouse.type)."),
    ] = None,
) -> None:
    """Load the batch outputs into the warehouse tables `tweet` and `sentiment`."""
    from tweetsense.pipeline.load import load as run_load

    def body() -> None:
        switch = {"warehouse": (warehouse, {})}
        p = make_pipeline(config, data_dir, demo, secrets, verbose, switch)
        try:
            r = run_load(p)
        finally:
            p.close()
        out.print(f"load: {r.tweets:,} tweets, {r.windows} windows in {r.location}")

    guarded(body)


@app.command()
def status(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
    windows: Annotated[
        bool, typer.Option("--windows", help="One line per window that is not done everywhere.")
    ] = False,
) -> None:
    """Show, per stage, how many windows are done, pending and failed."""
    from tweetsense.pipeline.status import DONE, STAGES
    from tweetsense.pipeline.status import status as run_status

    def body() -> None:
        p = make_pipeline(config, data_dir, demo, secrets, verbose)
        try:
            r = run_status(p)
        finally:
            p.close()
        table = Table(title=f"{p.query!r}: {len(r.windows)} windows")
        table.add_column("stage")
        for col in ("done", "pending", "failed"):
            table.add_column(col, justify="right")
        counts = r.counts()
        for stage in STAGES:
            c = counts[stage]
            table.add_row(stage, str(c["done"]), str(c["pending"]), str(c["failed"]))
        out.print(table)
        if r.stream_lag is not None:
            out.print(f"stream: {r.stream_lag} records waiting for the consumer")
        if r.quarantined:
            out.print(
                f"quarantined: {r.quarantined} bad records, with reasons, under "
                f"{p.store.uri('errors')}"
            )
        if windows:
            detail = Table("window", *STAGES)
            for w in r.windows:
                states = [w.stage(s) for s in STAGES]
                if any(s != DONE for s in states):
                    detail.add_row(w.window.start.strftime("%Y-%m-%d %H:%M"), *states)
            out.print(detail)

    guarded(body)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the template.")] = Path(
        "tweetsense.yaml"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented config template."""

    def body() -> None:
        if path.exists() and not force:
            raise ConfigError(f"{path} exists; pass --force to overwrite it")
        shutil.copyfile(template_path(), path)
        out.print(f"wrote {path}; edit it, then run `tweetsense run --config {path}`")

    guarded(body)
