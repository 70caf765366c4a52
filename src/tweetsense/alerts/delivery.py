"""Webhook delivery on one background daemon thread, so that a slow or failing receiver never
holds up or fails the pipeline.

Each firing is POSTed as JSON; a failure is retried with exponential backoff (429, 5xx, no
answer), except another 4xx, which no retry can fix. The URL is a secret: logs name the secret
that holds it, never the URL."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tweetsense.alerts.alert import Alert, Delivery
from tweetsense.retry import backoff_delay

log = logging.getLogger("tweetsense")

BASE_DELAY = 1.0  # seconds before the first retry; doubled for each one after it
MAX_DELAY = 60.0
TIMEOUT = 10.0  # seconds a receiver has to answer one POST


@dataclass
class Job:
    ident: str  # unique in the process: the state's key and the episode
    alert: Alert
    secret: str  # the secret's name, what the logs say instead of the URL
    url: str = field(repr=False)
    body: bytes = field(repr=False)
    retries: int = 5
    on_done: Callable[[Delivery], None] = lambda _: None
    attempt: int = 0


class Failed(Exception):
    """A POST that did not succeed; ``retry``: whether resending may help. The text says why
    in words that never quote the URL (exception texts may)."""

    def __init__(self, why: str, *, retry: bool):
        super().__init__(why)
        self.retry = retry


def post(url: str, body: bytes, timeout: float) -> None:
    """POST ``body`` as JSON; raises ``Failed`` unless the receiver answers 2xx."""
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "tweetsense"},
    )
    try:
        with _opener().open(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        # 429 and 5xx are a busy or restarting receiver; another 4xx is this request's fault.
        raise Failed(f"HTTP {exc.code}", retry=exc.code == 429 or exc.code >= 500) from None
    except (OSError, http.client.HTTPException) as exc:
        raise Failed(_why(exc), retry=True) from None


def _opener() -> Any:
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        # urllib would follow a redirect of a POST as a GET, without the alert: a 3xx fails.
        def redirect_request(self, *args: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # urllib's URLError wraps the socket's error
    cause = reason if isinstance(reason, BaseException) else exc
    if isinstance(cause, TimeoutError):
        return "no answer in time"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return type(cause).__name__


class Outbox:
    """Jobs due now or after a backoff, sent in order of when they are due."""

    def __init__(
        self,
        send: Callable[[str, bytes, float], None] = post,
        base_delay: float = BASE_DELAY,
        max_delay: float = MAX_DELAY,
    ):
        self.send = send
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, Job]] = []
        self._held: set[str] = set()  # queued or being sent
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def put(self, job: Job) -> bool:
        """Queue ``job``; False when the same firing is already on its way."""
        with self._cond:
            if job.ident in self._held:
                return False
            self._held.add(job.ident)
            heapq.heappush(self._due, (time.monotonic(), next(self._order), job))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return True

    def flush(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for every queued job to end; True if they did."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._held:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _next(self) -> Job:
        with self._cond:
            while True:
                wait = self._due[0][0] - time.monotonic() if self._due else None
                if wait is not None and wait <= 0:
                    return heapq.heappop(self._due)[2]
                self._cond.wait(wait)

    def _run(self) -> None:
        while True:
            job = self._next()
            try:
                outcome = self._attempt(job)
            except Exception as exc:  # never let the thread die: the pipeline goes on regardless
                # Only the type: the text of an unexpected error may quote the URL.
                log.warning(
                    "alert %s: delivery failed (%s); not retried",
                    job.alert.episode,
                    type(exc).__name__,
                )
                outcome = "failed"
            if outcome is None:
                continue
            try:
                job.on_done(outcome)
            except Exception as exc:
                log.warning(
                    "alert %s: delivered, but its state could not be saved (%s); "
                    "it will be sent again",
                    job.alert.episode,
                    exc,
                )
            with self._cond:
                self._held.discard(job.ident)
                self._cond.notify_all()

    def _attempt(self, job: Job) -> Delivery | None:
        """Send once: the outcome, or None when the job is queued again for a retry."""
        job.attempt += 1
        try:
            self.send(job.url, job.body, TIMEOUT)
            return "sent"
        except Failed as exc:
            why, retry = str(exc), exc.retry
        if not retry:
            log.warning(
                "alert %s: webhook %s refused it (%s); not retried, check the receiver",
                job.alert.episode,
                job.secret,
                why,
            )
            return "failed"
        if job.attempt > job.retries:
            log.warning(
                "alert %s: gave up on webhook %s after %d attempts (%s)",
                job.alert.episode,
                job.secret,
                job.attempt,
                why,
            )
            return "failed"
        delay = backoff_delay(job.attempt, self.base_delay, self.max_delay, jitter=True)
        log.info(
            "alert %s: webhook %s failed (%s), attempt %d of %d; retrying in %.1fs",
            job.alert.episode,
            job.secret,
            why,
            job.attempt,
            job.retries + 1,
            delay,
        )
        with self._cond:
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), job))
            self._cond.notify_all()
        return None


OUTBOX = Outbox()
