"""`tweetsense serve-model`: the configured local analyzer behind the HTTP analyzer's contract."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from tweetsense.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DemoOpt,
    SecretsOpt,
    VerboseOpt,
    app,
    guarded,
    make_pipeline,
    out,
)
from tweetsense.errors import BackendUnavailableError, ConfigError


@app.command("serve-model")
def serve_model(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8008,
) -> None:
    """Serve the configured analyzer over HTTP (POST /v1/sentiment) until SIGTERM or Ctrl-C."""
    from tweetsense.sentiment.modelling.server import PATH, make_server

    def body() -> None:
        p = make_pipeline(config, data_dir, demo, secrets, verbose)
        if p.config.sentiment.type == "http":
            raise ConfigError(
                "sentiment.type: serve-model serves a local analyzer, not another endpoint; "
                "set sentiment.type to e.g. vader"
            )
        analyzer = p.analyzer()
        try:
            server = make_server(analyzer, host, port)
        except OSError as exc:
            raise BackendUnavailableError(
                f"--port: cannot listen on {host}:{port} ({exc.strerror}); pick another port"
            ) from None
        # serve_forever blocks this thread; SIGTERM shuts it down from another one.
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        bound_host, bound_port = server.server_address[:2]
        out.print(
            f"serving {analyzer.name} on http://{bound_host}:{bound_port}{PATH}", highlight=False
        )
        try:
            server.serve_forever()
        finally:
            server.server_close()
            analyzer.close()

    guarded(body)
