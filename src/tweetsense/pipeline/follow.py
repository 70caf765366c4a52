"""Follow a topic live: backfill, then one step every ``freq`` as each window closes.

A step is a whole run (``run_all``) up to the last window closed ``search.settle`` ago: ingest
fetches only the windows not staged yet, consume scores them while ingest fetches, the batch
recomputes only the windows that changed, and the load replaces only those. A stop request
(SIGTERM, Ctrl-C) ends the loop after the current step; a process killed mid-step resumes at its
next start from what the stages stored, with no gap and no duplicate.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from tweetsense import layout
from tweetsense.clock import Clock
from tweetsense.config import Config
from tweetsense.errors import ConfigError, TweetsenseError
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.progress import Progress
from tweetsense.pipeline.run import RunReport, run_all
from tweetsense.secrets import Secrets
from tweetsense.timeutil import format_utc, parse_utc

log = logging.getLogger("tweetsense")
STATE = "_follow.json"
RETRY_SECONDS = 60


@dataclass(frozen=True)
class Step:
    through: datetime  # the end of the last window the step covered
    finished_at: datetime
    seconds: float
    windows: int
    posts: int
    error: str | None = None  # why the step failed; the next one tries again


@dataclass(frozen=True)
class FollowState:
    """What ``tweetsense status`` shows of a live run."""

    last: Step | None
    next_at: datetime | None
    pid: int | None

    def line(self) -> str:
        parts = []
        if self.last is not None:
            through = format_utc(self.last.through)
            if self.last.error:
                parts.append(f"last step through {through} failed: {self.last.error}")
            else:
                parts.append(
                    f"last step through {through} at {format_utc(self.last.finished_at)} "
                    f"({self.last.windows} windows, {self.last.posts} posts, "
                    f"{self.last.seconds:.1f} s)"
                )
        parts.append(f"next step at {format_utc(self.next_at)}" if self.next_at else "no next step")
        return "; ".join(parts)

    @classmethod
    def read(cls, p: Pipeline) -> FollowState | None:
        try:
            data = orjson.loads(p.store.get(layout.output_key(p.slug, STATE)))
        except (KeyError, orjson.JSONDecodeError):
            return None
        last = data.get("last")
        step = None
        if last:
            step = Step(
                parse_utc(last["through"]),
                parse_utc(last["finished_at"]),
                float(last["seconds"]),
                int(last["windows"]),
                int(last["posts"]),
                last.get("error"),
            )
        next_at = parse_utc(data["next_at"]) if data.get("next_at") else None
        return cls(step, next_at, data.get("pid"))


AfterStep = Callable[[Pipeline, RunReport], None]


def follow(
    config: Config,
    secrets: Secrets,
    *,
    clock: Clock,
    stop: threading.Event,
    until: datetime | None = None,
    progress: Callable[[], Progress] | None = None,
    on_step: Callable[[Step], None] | None = None,
    after_step: AfterStep | None = None,
) -> list[Step]:
    """Steps until ``stop`` is set, or until the step that reaches ``until``."""
    search = config.search
    if search.end_time is not None:
        raise ConfigError(
            f"--follow: search.end_time is fixed ({format_utc(search.end_time)}); set it to "
            "now or leave it out to keep following the topic"
        )
    steps: list[Step] = []
    done: datetime | None = None
    failed = False
    while not stop.is_set():
        through = search.closed_until(clock.now())
        if until is not None:
            through = min(through, until)
        if through > search.start_time and (done is None or through > done):
            step = _step(config, secrets, through, clock, progress, after_step)
            steps.append(step)
            failed = step.error is not None
            if not failed:
                done = through
            if on_step is not None:
                on_step(step)
            next_at = through + timedelta(seconds=search.freq + search.settle)
            _save(config, secrets, step, None if _finished(done, until) else next_at)
        if _finished(done, until):
            break
        # The next window closes `freq` after this one and is ready `settle` later.
        after = (done or search.start_time) + timedelta(seconds=search.freq + search.settle)
        wait = (after - clock.now()).total_seconds()
        if failed:  # not at once: what failed (the API, a server) needs a moment
            wait = max(wait, RETRY_SECONDS)
        if not clock.sleep(max(wait, 0.0), stop):
            break
    return steps


def _finished(done: datetime | None, until: datetime | None) -> bool:
    return until is not None and done is not None and done >= until


def _step(
    config: Config,
    secrets: Secrets,
    through: datetime,
    clock: Clock,
    progress: Callable[[], Progress] | None,
    after_step: AfterStep | None,
) -> Step:
    fixed = config.model_copy(
        update={"search": config.search.model_copy(update={"end_time": through})}
    )
    started = time.perf_counter()
    try:
        with Pipeline(fixed, secrets, progress() if progress else None) as p:
            report = run_all(p)
            if after_step is not None:
                after_step(p, report)
            return Step(
                through,
                clock.now(),
                time.perf_counter() - started,
                report.batch.windows_in,
                report.load.tweets,
            )
    except TweetsenseError as exc:
        # The API down, a server unreachable: the next step tries the same windows again.
        log.warning("step through %s failed: %s", format_utc(through), exc)
        return Step(through, clock.now(), time.perf_counter() - started, 0, 0, str(exc))


def _save(config: Config, secrets: Secrets, step: Step, next_at: datetime | None) -> None:
    fixed = config.model_copy(
        update={"search": config.search.model_copy(update={"end_time": step.through})}
    )
    with Pipeline(fixed, secrets) as p:
        p.store.put(
            layout.output_key(p.slug, STATE),
            orjson.dumps(
                {
                    "last": {
                        "through": format_utc(step.through),
                        "finished_at": format_utc(step.finished_at),
                        "seconds": round(step.seconds, 3),
                        "windows": step.windows,
                        "posts": step.posts,
                        "error": step.error,
                    },
                    "next_at": format_utc(next_at) if next_at else None,
                    "pid": os.getpid(),
                }
            ),
        )
