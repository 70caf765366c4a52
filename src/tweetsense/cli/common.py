"""What every command shares: the app, consoles, the pipeline options and error handling."""

from __future__ import annotations

import functools
import inspect
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text
from typer.core import TyperOption

from tweetsense.config import DEFAULT_CONFIG, Config, load_config, locate_config
from tweetsense.errors import TweetsenseError
from tweetsense.extras import EXTRA_OF, missing_hint
from tweetsense.pipeline.core import Pipeline

app = typer.Typer(
    name="tweetsense",
    help="Sentiment of posts about a topic over time: ingest, score, aggregate, load.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# User text (paths, queries, error details such as "[dashboard]") is printed as it is: with
# markup or emoji codes on, Rich would eat brackets and turn ":100:" into an emoji.
out = Console(markup=False, emoji=False)
err = Console(stderr=True, markup=False, emoji=False)
T = TypeVar("T")

# Help panels, listed in the order a user needs them.
START = "Start here"
STAGES = "Stages, one at a time"
TOOLS = "Tools"


def _flag_without_metavar(display: Callable[[Any, Any], str | None]) -> Any:
    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag or self.count else display(self, ctx)

    return display_type_rich


# A flag takes no value, so "<bool>" beside it only misleads.
TyperOption.display_type_rich = _flag_without_metavar(TyperOption.display_type_rich)  # type: ignore[method-assign]


@dataclass(frozen=True)
class PipelineOptions:
    """The options of every command that works on a pipeline."""

    config: Path | None = None
    data_dir: Path | None = None
    demo: bool = False
    secrets: Path | None = None
    verbose: int = 0

    def resolve(self) -> Config:
        return load_config(
            locate_config(self.config, demo=self.demo), demo=self.demo, data_dir=self.data_dir
        )

    def open(self, **backends: str | tuple[str | None, dict[str, Any]] | None) -> Pipeline:
        """The pipeline, with a stage's backend switched from the command line when given."""
        from tweetsense.cli.progress import RichProgress

        return Pipeline.open(
            self.config,
            data_dir=self.data_dir,
            demo=self.demo,
            secrets=self.secrets,
            progress=RichProgress(err),
            backends={stage: b for stage, b in backends.items() if b},
        )


_OPTIONS: dict[str, Any] = {
    "config": Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help=f"YAML config (default: $TWEETSENSE_CONFIG, else ./{DEFAULT_CONFIG}).",
            dir_okay=False,
            show_default=False,
        ),
    ],
    "data_dir": Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            "-d",
            help="Folder for store, stream and warehouse (overrides data_dir).",
            file_okay=False,
            show_default=False,
        ),
    ],
    "demo": Annotated[
        bool, typer.Option("--demo", help="Synthetic demo data, fixed dates and seed; no config.")
    ],
    "secrets": Annotated[
        Path | None,
        typer.Option(
            "--secrets",
            help="Secrets file (default: $TWEETSENSE_SECRETS_FILE).",
            dir_okay=False,
            show_default=False,
        ),
    ],
    "verbose": Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, show_default=False, help="More logging: -v, -vv."
        ),
    ],
}
_DEFAULTS = {f.name: f.default for f in fields(PipelineOptions)}


def command(
    panel: str, *, name: str | None = None, on: typer.Typer | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Registers a command whose errors print as one line. When its first parameter is
    annotated ``PipelineOptions``, the command also takes --config, --data-dir, --demo,
    --secrets and -v, and receives them in that one object, with logging set up."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        sig = inspect.signature(fn, eval_str=True)
        params = list(sig.parameters.values())
        takes_options = bool(params) and params[0].annotation is PipelineOptions
        if takes_options:
            common = [
                inspect.Parameter(
                    n, inspect.Parameter.KEYWORD_ONLY, default=_DEFAULTS[n], annotation=a
                )
                for n, a in _OPTIONS.items()
            ]
            params = common + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params[1:]]

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> None:
            if not takes_options:
                return guarded(lambda: fn(**kwargs))
            options = PipelineOptions(**{n: kwargs.pop(n) for n in _OPTIONS})
            setup_logging(options.verbose)
            return guarded(lambda: fn(options, **kwargs))

        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return (on or app).command(name=name, rich_help_panel=panel)(wrapper)

    return decorate


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, markup=False)],
        force=True,
    )


def print_error(message: str) -> None:
    # soft_wrap: a path or command in the message stays whole for copying.
    err.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def guarded(fn: Callable[[], T]) -> T:
    """Runs a command body: user errors become one red line and a non-zero exit code."""
    try:
        return fn()
    except TweetsenseError as exc:
        print_error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except ModuleNotFoundError as exc:
        # Backends check their extras when chosen; this catches any import that slipped by.
        if not exc.name or exc.name.split(".")[0] not in EXTRA_OF:
            raise
        print_error(missing_hint(exc.name, "this command"))
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print(
            Text.assemble(("interrupted", "yellow"), "; run the same command again to resume")
        )
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
