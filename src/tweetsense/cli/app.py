"""The `tweetsense` command. Each module below adds its commands to the shared app."""

from __future__ import annotations

from typing import Annotated

import typer

from tweetsense import __version__
from tweetsense.cli import (  # noqa: F401  (registers their commands)
    dashboard,
    doctor,
    grafana,
    model,
    serve_model,
    stages,
)
from tweetsense.cli.common import app, out

# --help lists commands in the order a user needs them: first steps, stages, tools.
ORDER = [
    "run",
    "init",
    "status",
    "dashboard",
    "ingest",
    "consume",
    "batch",
    "load",
    "doctor",
    "eval",
    "train",
    "serve-model",
]
app.registered_commands.sort(
    key=lambda c: ORDER.index(c.name or (c.callback.__name__ if c.callback else ""))
)


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
    main()
