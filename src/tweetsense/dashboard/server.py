"""The dashboard's web server: one static page, its assets, and the JSON endpoints (the data
ones also as CSV, with ``format=csv``).

Every read goes through the warehouse interface; the DuckDB warehouse opens its file read-only
once per request, for all of its reads, so loads can run while the dashboard is up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tweetsense.dashboard import api, export, params
from tweetsense.dashboard.params import BadParam
from tweetsense.errors import TweetsenseError
from tweetsense.warehouse.reads import SqlReads

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)

# The page runs only its own files: no inline script or style, no other origin, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds the headers above to every response, and no-store to the data endpoints."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *HEADERS]
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


Handler = Callable[[SqlReads, Mapping[str, str]], dict[str, Any]]

# Endpoint name -> its answer; those of ``export.TABLES`` are also CSV.
HANDLERS: dict[str, Handler] = {
    "queries": api.queries,
    "analyzers": api.analyzers,
    "summary": api.summary,
    "windows": api.windows,
    "tweets": api.tweets,
    "posts": api.tweets,  # the posts of a window or a range; "tweets" is its first name
    "agreement": api.agreement,
    "drivers": api.drivers_of,
    "spikes": api.spikes,
    "share": api.share,
}


def _csv(name: str, body: dict[str, Any]) -> Response:
    return Response(
        export.csv_text(name, body),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{export.filename(name, body)}"'},
    )


def _endpoint(warehouse: SqlReads, name: str) -> Callable[[Request], Response]:
    handler = HANDLERS[name]
    formats = ("json", "csv") if name in export.TABLES else ("json",)

    # A plain function: Starlette runs it in its thread pool, so blocking reads are fine.
    def endpoint(request: Request) -> Response:
        try:
            args = request.query_params
            as_csv = params.choice(args, "format", formats, "json") == "csv"
            with warehouse.reading():
                body = handler(warehouse, args)
            return _csv(name, body) if as_csv else _json(body)
        except BadParam as exc:
            return _json({"error": str(exc)}, 400)
        except TweetsenseError as exc:
            log.warning("%s: %s", request.url.path, exc)
            return _json({"error": str(exc)}, 503)
        except Exception:
            log.exception("%s failed", request.url.path)
            return _json({"error": "internal error; see the dashboard's log"}, 500)

    return endpoint


def _index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


def create_app(warehouse: SqlReads, reposts: str = "each") -> Starlette:
    """The dashboard over ``warehouse``; ``reposts`` (insight.reposts) is the page's default
    way of counting reposts, served by /api/config."""
    settings = {"reposts": reposts}
    routes = [
        Route("/", _index),
        Route("/api/config", lambda request: _json(settings)),
        *(Route(f"/api/{name}", _endpoint(warehouse, name)) for name in HANDLERS),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        # Level 5 compresses a year of windows several-fold in a few milliseconds.
        Middleware(GZipMiddleware, minimum_size=2048, compresslevel=5),
    ]
    return Starlette(routes=routes, middleware=middleware)


def serve(warehouse: SqlReads, host: str, port: int, reposts: str = "each") -> None:
    import uvicorn

    try:
        uvicorn.run(create_app(warehouse, reposts), host=host, port=port, log_level="warning")
    finally:
        warehouse.close()
