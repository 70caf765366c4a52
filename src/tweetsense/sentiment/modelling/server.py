"""A small HTTP server for a local analyzer, speaking the ``http_contract`` format, so many
consumers (and machines) share one model process: ``POST /v1/sentiment`` and ``GET /health``.

The standard library's threading server is enough: the analyzer is CPU-bound, so requests are
scored one at a time under a lock while other connections wait on their sockets.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tweetsense.sentiment.base import Analyzer
from tweetsense.sentiment.http_contract import encode_scores

PATH = "/v1/sentiment"
MAX_BODY = 64 * 1024 * 1024
log = logging.getLogger(__name__)


def _handler(analyzer: Analyzer, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, {"status": "ok", "analyzer": analyzer.name})
            else:
                self._send(404, {"error": f"not found; POST texts to {PATH}"})

        def do_POST(self) -> None:
            if self.path != PATH:
                self._send(404, {"error": f"not found; POST texts to {PATH}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, {"error": f"body over {MAX_BODY} bytes; send smaller batches"})
                return
            try:
                texts = json.loads(self.rfile.read(length))["texts"]
                if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                self._send(400, {"error": 'expected {"texts": ["...", ...]}'})
                return
            with lock:
                scores = analyzer.analyze(texts)
            self._send(200, encode_scores(scores))

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    return Handler


def make_server(analyzer: Analyzer, host: str, port: int) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0 picks a free one); call ``serve_forever``."""
    server = ThreadingHTTPServer((host, port), _handler(analyzer, threading.Lock()))
    server.daemon_threads = True
    return server
