"""Any model server over HTTP: batches of texts POSTed as JSON, answers mapped to four scores.

The request and response formats are in ``http_contract``. Batches of ``batch_size`` texts go
out ``concurrency`` at a time. Timeouts, connection failures, 429 and 5xx are retried
``retries`` times with exponential backoff and then raised as retryable errors; 401/403 are a
configuration error; a reply that breaks the contract is a one-line terminal error. The token
comes from the secret named by ``token_secret`` and is sent as ``<auth_scheme> <token>``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tweetsense.errors import (
    AnalyzerTimeoutError,
    BackendUnavailableError,
    BadInputError,
    ConfigError,
)
from tweetsense.extras import require
from tweetsense.retry import backoff_delay
from tweetsense.sentiment.base import Analyzer, Score
from tweetsense.sentiment.http_contract import PARSERS, MalformedResponse

if TYPE_CHECKING:
    from tweetsense.registry import Context


class HttpAnalyzer(Analyzer):
    name = "http"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        url: str = Field(description="the endpoint that takes POST {'texts': [...]}")
        response: Literal["scores", "label_score"] = "scores"
        headers: dict[str, str] = Field(default_factory=dict, description="no secrets here")
        token_secret: str | None = Field(default=None, description="secret holding the token")
        auth_header: str = "Authorization"
        auth_scheme: str = "Bearer"
        timeout: float = Field(default=30.0, gt=0, description="seconds per request")
        batch_size: int = Field(default=256, ge=1, description="texts per request")
        concurrency: int = Field(default=4, ge=1, le=64, description="requests at once")
        retries: int = Field(default=4, ge=0, description="retries of a failed request")
        backoff: float = Field(default=0.5, ge=0, description="first retry delay; doubles")

        @field_validator("url")
        @classmethod
        def _http(cls, value: str) -> str:
            if not value.startswith(("http://", "https://")):
                raise ValueError("write an http:// or https:// URL")
            return value

        @field_validator("headers")
        @classmethod
        def _no_auth(cls, value: dict[str, str]) -> dict[str, str]:
            for key in value:
                if key.lower() in ("authorization", "x-api-key", "api-key"):
                    raise ValueError(f"{key} carries a secret; name it in token_secret instead")
            return value

    def __init__(self, settings: HttpAnalyzer.Settings, context: Context):
        self._httpx = require("httpx", "http", "sentiment.type")
        self.settings = settings
        headers = dict(settings.headers)
        if settings.token_secret:
            token = context.secrets.require(settings.token_secret, "sentiment (http)")
            headers[settings.auth_header] = f"{settings.auth_scheme} {token}".strip()
        self._parse = PARSERS[settings.response]
        self._client = self._httpx.Client(
            headers=headers,
            timeout=settings.timeout,
            limits=self._httpx.Limits(max_connections=settings.concurrency),
        )
        self._pool = ThreadPoolExecutor(settings.concurrency) if settings.concurrency > 1 else None

    def analyze(self, texts: Sequence[str]) -> list[Score]:
        size = self.settings.batch_size
        chunks = [list(texts[i : i + size]) for i in range(0, len(texts), size)]
        if self._pool is None or len(chunks) <= 1:
            parts = [self._post(c) for c in chunks]
        else:
            parts = list(self._pool.map(self._post, chunks))
        return [s for part in parts for s in part]

    def _post(self, texts: list[str]) -> list[Score]:
        httpx = self._httpx
        url = self.settings.url
        attempt = 0
        while True:
            failure: str
            try:
                reply = self._client.post(url, json={"texts": texts})
            except httpx.TimeoutException:
                failure = f"no answer within {self.settings.timeout:g}s"
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                if reply.status_code < 300:
                    return self._decode(reply, len(texts))
                if reply.status_code in (401, 403):
                    raise ConfigError(
                        f"sentiment.token_secret: {url} refused the credentials "
                        f"(HTTP {reply.status_code}); check the token"
                    )
                if reply.status_code != 429 and reply.status_code < 500:
                    raise BadInputError(
                        f"sentiment.url: {url} rejected a batch with HTTP {reply.status_code}; "
                        "check the URL and that it takes the tweetsense request format"
                    )
                failure = f"HTTP {reply.status_code}"
            if attempt >= self.settings.retries:
                error = AnalyzerTimeoutError if "no answer" in failure else BackendUnavailableError
                raise error(
                    f"sentiment.url: {url} failed {attempt + 1} times ({failure}); "
                    "check the model server is up, or raise sentiment.timeout"
                )
            time.sleep(backoff_delay(attempt + 1, self.settings.backoff, math.inf))
            attempt += 1

    def _decode(self, reply: Any, expected: int) -> list[Score]:
        try:
            return self._parse(reply.json(), expected)
        except ValueError as exc:  # MalformedResponse, or JSON that does not parse
            detail = str(exc) if isinstance(exc, MalformedResponse) else "the body is not JSON"
            raise BadInputError(
                f"sentiment.response: malformed reply from {self.settings.url}: {detail}; "
                f"it must follow the '{self.settings.response}' format (see tweetsense "
                "sentiment/http_contract.py)"
            ) from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        self._client.close()
