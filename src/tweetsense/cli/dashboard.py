"""`tweetsense dashboard`: serve the web dashboard over the configured warehouse."""

from __future__ import annotations

import importlib.util
import socket
from typing import Annotated

import typer

from tweetsense.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DemoOpt,
    SecretsOpt,
    VerboseOpt,
    app,
    err,
    guarded,
    make_pipeline,
)
from tweetsense.errors import ConfigError, TweetsenseError

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


@app.command()
def dashboard(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    warehouse: Annotated[
        str | None,
        typer.Option(help="Warehouse: duckdb or postgres (overrides warehouse.type)."),
    ] = None,
) -> None:
    """Serve the web dashboard of the warehouse's topics (Ctrl+C stops it)."""

    def body() -> None:
        if not all(importlib.util.find_spec(m) for m in ("starlette", "uvicorn")):
            raise ConfigError(
                "dashboard: needs starlette and uvicorn; run: pip install 'tweetsense[dashboard]'"
            )
        switch = {"warehouse": (warehouse, {})}
        p = make_pipeline(config, data_dir, demo, secrets, verbose, switch)
        _check_port(host, port)
        from tweetsense.dashboard.server import serve

        shown = f"[{host}]" if ":" in host else host
        err.print(f"dashboard on http://{shown}:{port}/ (Ctrl+C stops it)", highlight=False)
        serve(p.warehouse, host, port)

    guarded(body)
