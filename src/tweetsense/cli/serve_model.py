"""`tweetsense serve-model`: the configured local analyzer behind the HTTP analyzer's contract."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from tweetsense.cli.common import TOOLS, PipelineOptions, command, out
from tweetsense.errors import BackendUnavailableError, ConfigError
from tweetsense.pipeline.core import Pipeline


@command(TOOLS, name="serve-model")
def serve_model(
    opts: PipelineOptions,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8008,
) -> None:
    """Serve the configured analyzer over HTTP (POST /v1/sentiment) until SIGTERM or Ctrl-C."""
    from tweetsense.sentiment.modelling.server import PATH, make_server

    config = opts.resolve()
    if config.sentiment.type == "http":
        raise ConfigError(
            "sentiment.type: serve-model serves a local analyzer, not another endpoint; "
            "set sentiment.type to e.g. vader"
        )
    analyzer = Pipeline(config).analyzer()
    try:
        server = make_server(analyzer, host, port)
    except OSError as exc:
        raise BackendUnavailableError(
            f"--port: cannot listen on {host}:{port} ({exc.strerror}); pick another port"
        ) from None
    # serve_forever blocks this thread; SIGTERM shuts it down from another one.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    bound_host, bound_port = server.server_address[:2]
    out.print(f"serving {analyzer.name} on http://{bound_host}:{bound_port}{PATH}", highlight=False)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        analyzer.close()
