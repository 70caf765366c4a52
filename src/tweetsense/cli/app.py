"""The `tweetsense` command: one subcommand per stage, `run` for all of them, `status`, `init`."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from tweetsense import __version__
from tweetsense.config import Config, load_config, template_path
from tweetsense.errors import ConfigError, TweetsenseError
from tweetsense.pipeline.core import Pipeline
from tweetsense.secrets import Secrets

app = typer.Typer(
    name="tweetsense",
    help="Sentiment of posts about a topic over time: ingest, score, aggregate, load.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML config (default: $TWEETSENSE_CONFIG).",
        dir_okay=False,
        show_default=False,
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        "-d",
        help="Folder for store, stream and warehouse.",
        file_okay=False,
        show_default=False,
    ),
]
DemoOpt = Annotated[
    bool, typer.Option("--demo", help="Synthetic demo data, fixed dates and seed; no config.")
]
SecretsOpt = Annotated[
    Path | None,
    typer.Option(
        "--secrets",
        help="Secrets file (default: $TWEETSENSE_SECRETS_FILE).",
        dir_okay=False,
        show_default=False,
    ),
]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging.")]


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
        force=True,
    )


def _config(config: Path | None, data_dir: Path | None, demo: bool) -> Config:
    if config is None and not demo:
        env = os.environ.get("TWEETSENSE_CONFIG")
        if env:
            config = Path(env)
        elif Path("tweetsense.yaml").exists():
            config = Path("tweetsense.yaml")
        else:
            raise ConfigError(
                "no config: pass --config FILE (create one with `tweetsense init`), "
                "or use --demo for the synthetic demo"
            )
    if demo and config is not None:
        raise ConfigError("--demo and --config exclude each other; pass one of them")
    return load_config(config, demo=demo, data_dir=data_dir)


def _pipeline(
    config: Path | None, data_dir: Path | None, demo: bool, secrets: Path | None, verbose: int
) -> Pipeline:
    from tweetsense.cli.progress import RichProgress

    _setup_logging(verbose)
    cfg = _config(config, data_dir, demo)
    return Pipeline(cfg, Secrets(secrets), RichProgress(err))


def _guarded(fn: Callable[[], T]) -> T:
    """Runs a command body: user errors become one red line and a non-zero exit code."""
    try:
        return fn()
    except TweetsenseError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]; run the same command again to resume")
        raise typer.Exit(130) from None


@contextmanager
def _graceful_stop() -> Iterator[threading.Event]:
    """SIGTERM asks the consumer to finish its current batch and stop."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command()
def run(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
) -> None:
    """Run every stage: ingest, consume, batch, load; then print a summary."""
    from tweetsense.cli.summary import print_run_summary
    from tweetsense.pipeline.run import run_all

    def body() -> None:
        p = _pipeline(config, data_dir, demo, secrets, verbose)
        try:
            report = run_all(p)
        finally:
            p.close()
        print_run_summary(out, p, report)

    _guarded(body)


@app.command()
def ingest(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
    refetch: Annotated[bool, typer.Option(help="Fetch windows already staged again.")] = False,
) -> None:
    """Fetch every window of the search into the staging store and publish it to the stream."""
    from tweetsense.pipeline.ingest import ingest as run_ingest

    def body() -> None:
        p = _pipeline(config, data_dir, demo, secrets, verbose)
        try:
            r = run_ingest(p, refetch=refetch)
        finally:
            p.close()
        out.print(
            f"ingest: {r.fetched} windows fetched ({r.tweets:,} posts), {r.republished} "
            f"published again, {r.skipped} already done, {len(r.failed)} failed"
        )
        if r.failed:
            raise typer.Exit(1)

    _guarded(body)


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
) -> None:
    """Score the posts of every window record in the stream; write one sentiment file each."""
    from tweetsense.pipeline.consume import consume as run_consume

    def body() -> None:
        p = _pipeline(config, data_dir, demo, secrets, verbose)
        with _graceful_stop() as stop:
            try:
                r = run_consume(p, follow=follow, stop=stop)
            finally:
                p.close()
        out.print(
            f"consume: {r.scored_windows} windows scored ({r.tweets:,} posts), "
            f"{r.skipped_windows} already done, {r.dead_letters} dead letters, "
            f"{len(r.failed)} failed"
        )
        if r.failed or r.dead_letters:
            raise typer.Exit(1)

    _guarded(body)


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
) -> None:
    """Merge posts with their scores and aggregate them per window into Parquet and CSV."""
    from tweetsense.pipeline.batch import batch as run_batch

    def body() -> None:
        p = _pipeline(config, data_dir, demo, secrets, verbose)
        if engine:
            p = Pipeline(
                p.config.model_copy(
                    update={"batch": p.config.batch.model_copy(update={"type": engine})}
                ),
                p.context.secrets,
                p.progress,
            )
        r = run_batch(p, allow_partial=allow_partial)
        out.print(
            f"batch: {r.result.tweets:,} posts in {r.result.windows} windows -> "
            f"{p.store.uri(r.outputs.tweets_parquet)}, {p.store.uri(r.outputs.windows_parquet)}"
        )

    _guarded(body)


@app.command()
def load(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
) -> None:
    """Load the batch outputs into the warehouse tables `tweet` and `sentiment`."""
    from tweetsense.pipeline.load import load as run_load

    def body() -> None:
        p = _pipeline(config, data_dir, demo, secrets, verbose)
        try:
            r = run_load(p)
        finally:
            p.close()
        out.print(f"load: {r.tweets:,} tweets, {r.windows} windows in {r.location}")

    _guarded(body)


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
        p = _pipeline(config, data_dir, demo, secrets, verbose)
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
        if windows:
            detail = Table("window", *STAGES)
            for w in r.windows:
                states = [w.stage(s) for s in STAGES]
                if any(s != DONE for s in states):
                    detail.add_row(w.window.start.strftime("%Y-%m-%d %H:%M"), *states)
            out.print(detail)

    _guarded(body)


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

    _guarded(body)


def _version(value: bool) -> None:
    if value:
        out.print(f"tweetsense {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    pass


def main() -> None:
    app(prog_name="tweetsense")


if __name__ == "__main__":
    sys.exit(main())
