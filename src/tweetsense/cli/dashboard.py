"""`tweetsense dashboard`: serve the web dashboard over the configured warehouse."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from tweetsense.cli.common import START, PipelineOptions, command, err
from tweetsense.errors import TweetsenseError
from tweetsense.extras import check_installed

DEFAULT_PORT = 8050


def _check_port(host: str, port: int) -> None:
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.bind((host, port))
    except OSError as exc:
        raise TweetsenseError(
            f"--port: cannot listen on {host}:{port} ({exc.strerror}); "
            "pass another --port or --host"
        ) from None


@command(START)
def dashboard(
    opts: PipelineOptions,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    warehouse: Annotated[
        str | None,
        typer.Option(help="Warehouse: duckdb or postgres (overrides warehouse.type)."),
    ] = None,
) -> None:
    """Serve the web dashboard of the warehouse's topics (Ctrl+C stops it)."""
    check_installed(("starlette", "uvicorn"), "tweetsense dashboard")
    with opts.open(warehouse=warehouse) as p:
        _check_port(host, port)
        from tweetsense.dashboard.server import serve

        shown = f"[{host}]" if ":" in host else host
        err.print(f"dashboard on http://{shown}:{port}/ (Ctrl+C stops it)", highlight=False)
        serve(p.warehouse, host, port, p.config.insight.reposts)
