"""What every command shares: the app, consoles, common options, config and error handling."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from tweetsense.config import Config, load_config
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


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
        force=True,
    )


def resolve_config(config: Path | None, data_dir: Path | None, demo: bool) -> Config:
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


def make_pipeline(
    config: Path | None,
    data_dir: Path | None,
    demo: bool,
    secrets: Path | None,
    verbose: int,
    switch: dict[str, tuple[str | None, dict[str, Any]]] | None = None,
) -> Pipeline:
    """The pipeline of the resolved config; ``switch`` maps a stage to (backend, settings) given
    on the command line, e.g. ``{"warehouse": ("postgres", {})}``."""
    from tweetsense.cli.progress import RichProgress
    from tweetsense.registry import with_backend

    setup_logging(verbose)
    cfg = resolve_config(config, data_dir, demo)
    for stage, (name, options) in (switch or {}).items():
        if name or options:
            cfg = with_backend(cfg, stage, name, **options)
    return Pipeline(cfg, Secrets(secrets), RichProgress(err))


def guarded(fn: Callable[[], T]) -> T:
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
def graceful_stop() -> Iterator[threading.Event]:
    """SIGTERM asks the consumer to finish its current batch and stop."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)
