"""One X API v2 GET with timeouts, rate limiting, retries and problem+json errors mapped.

The client is httpx plus tenacity rather than tweepy or xdk. tweepy 4.17 sets no request
timeout, its ``Paginator.flatten()`` drops ``includes`` (so authors could not be joined), and
``wait_on_rate_limit`` neither retries 5xx nor connection errors; working around all three
means wrapping most of it. xdk is young (0.10.x) and hides the rate-limit headers a shared
limiter must follow. httpx gives a thread-safe pooled client with explicit timeouts and the raw
response (status, headers, body); tenacity gives the retry loop with exponential backoff and
jitter. What is left to write is the X-specific part: reading the rate-limit headers and the
problem+json errors.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any

import orjson

from tweetsense.errors import ConfigError, RetryableError, TerminalError, TweetsenseError
from tweetsense.retry import backoff_delay
from tweetsense.sources.x_ratelimit import RateLimiter, RateLimitHeaders

if TYPE_CHECKING:
    import httpx
    from tenacity import RetryCallState

log = logging.getLogger(__name__)

_MAX_DETAIL = 300
_FIXES = {
    400: "fix search.query or the time range",
    401: "X_BEARER_TOKEN was rejected: set the bearer token of an app with X API v2 access",
    403: "give the app access to this endpoint (attach it to a project with a plan that "
    "includes it) or choose source.endpoint: recent",
    404: "check source.base_url and source.endpoint",
}


class TransientError(RetryableError):
    """A 5xx, a timeout or a dropped connection: retried with exponential backoff."""


class RateLimited(RetryableError):
    """A 429: retried after ``wait`` seconds (until the limit's reset, capped, jittered)."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


class Cancelled(TweetsenseError):
    """The run is stopping; the window is left for the next run."""


def token_fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class XClient:
    """GETs one endpoint path; safe to share between threads."""

    def __init__(
        self,
        *,
        base_url: str,
        path: str,
        token: str,
        timeout: float,
        max_retries: int,
        backoff: float,
        max_backoff: float,
        max_rate_wait: float,
        limiter: RateLimiter,
        connections: int,
    ) -> None:
        import httpx

        self.path = path
        self.limiter = limiter
        self.max_retries = max_retries
        self.max_rate_wait = max_rate_wait
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.cancelled = threading.Event()
        self.requests = 0
        self.retries = 0
        self._token = token
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "tweetsense"},
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    def close(self) -> None:
        self._http.close()

    def get(self, params: dict[str, Any]) -> dict[str, Any]:
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type((TransientError, RateLimited)),
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        return retrying(self._once, params)

    # -- one attempt ------------------------------------------------------------------------

    def _once(self, params: dict[str, Any]) -> dict[str, Any]:
        import httpx

        try:
            self.limiter.acquire(self.cancelled)
        except InterruptedError:
            raise Cancelled("x_api: run stopped before this window was fetched") from None
        self.requests += 1
        try:
            response = self._http.get(self.path, params=params)
        except httpx.TimeoutException:
            self.limiter.cancel()
            raise TransientError(
                f"x_api: no answer within {self.timeout:g}s (source.timeout); retried, then gave up"
            ) from None
        except httpx.TransportError as exc:
            self.limiter.cancel()
            raise TransientError(
                f"x_api: connection failed ({type(exc).__name__}); check the network and "
                "source.base_url"
            ) from None
        status = response.status_code
        error = None if status == 200 else self._error(status, response)
        if isinstance(error, TerminalError):
            # Every other request would fail the same way: the other threads stop too, before
            # this response's headers let them go.
            self.cancelled.set()
        self.limiter.release(RateLimitHeaders.parse(response.headers), throttled=status == 429)
        if error is not None:
            raise error
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise TransientError("x_api: a 200 response was not JSON; retried") from None
        if not isinstance(body, dict):
            raise TransientError("x_api: a 200 response was not a JSON object; retried")
        return body

    def _error(self, status: int, response: httpx.Response) -> Exception:
        problem = _problem(response.content)
        what = self._redact(_describe(status, problem))
        if status == 429:
            if "usagecap" in f"{problem.get('title', '')}{problem.get('type', '')}".lower():
                return TerminalError(
                    f"x_api: {what}; the account's usage cap is reached: raise it in the "
                    "developer console or wait for the next billing period"
                )
            return RateLimited(f"x_api: {what}; waited and retried", self._rate_wait(response))
        if status >= 500:
            return TransientError(f"x_api: {what}; retried with backoff, then gave up")
        fix = _FIXES.get(status, "check the source settings")
        if status in (401, 403):
            return ConfigError(f"x_api: {what}; {fix}")
        return TerminalError(f"x_api: {what}; {fix}")

    # -- retry policy -----------------------------------------------------------------------

    def _rate_wait(self, response: httpx.Response) -> float:
        headers = RateLimitHeaders.parse(response.headers)
        until = headers.reset - time.time() if headers else self.max_backoff
        # Jitter spreads the threads that all hit the limit at once over the reset second.
        return min(max(until, 0.0), self.max_rate_wait) + random.uniform(0, self.backoff)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited):
            return exc.wait
        return backoff_delay(state.attempt_number, self.backoff, self.max_backoff, jitter=True)

    def _sleep(self, seconds: float) -> None:
        if self.cancelled.wait(seconds):
            raise Cancelled("x_api: run stopped while waiting to retry")

    def _count_retry(self, state: RetryCallState) -> None:
        self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        log.info("x_api: attempt %d failed (%s); retrying", state.attempt_number, exc)

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text


def _problem(content: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(status: int, problem: dict[str, Any]) -> str:
    parts = [str(status)]
    for key in ("title", "detail", "reason"):
        value = problem.get(key)
        if isinstance(value, str) and value and value not in parts:
            parts.append(value if key != "reason" else f"(reason: {value})")
    errors = problem.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = errors[0].get("message") or errors[0].get("detail")
        if isinstance(message, str):
            parts.append(message)
    text = " ".join(" ".join(parts).split())  # one line, whatever the server sent
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
