"""Named crash points for fault-injection runs; free when no fault is asked for.

``TWEETSENSE_FAULT_KILL_AT=<point>:<n>`` makes the process SIGKILL itself the n-th time it
reaches ``<point>``: the harness (benchmarks/crash_resume.py) can then replay one exact crash
from a seed, including between a temp file's write and its rename, where a timer-based kill
almost never lands. ``TWEETSENSE_FAULT_TRACE=<file>`` appends every point reached, so the
harness learns how often each point is reached in an uninterrupted run.
"""

from __future__ import annotations

import os
import signal
import threading

from tweetsense.errors import ConfigError

KILL_ENV = "TWEETSENSE_FAULT_KILL_AT"
TRACE_ENV = "TWEETSENSE_FAULT_TRACE"


def _parse(raw: str | None) -> tuple[str, int] | None:
    if not raw:
        return None
    name, _, count = raw.rpartition(":")
    if not name or not count.isdigit() or int(count) < 1:
        raise ConfigError(f"{KILL_ENV}={raw!r}: write <point>:<n> with n >= 1, or unset it")
    return name, int(count)


_KILL_RAW = os.environ.get(KILL_ENV) or None
_TRACE = os.environ.get(TRACE_ENV) or None
_ACTIVE = _KILL_RAW is not None or _TRACE is not None
_seen = 0
_lock = threading.Lock()


def point(name: str) -> None:
    """Mark a place where a crash must be survivable."""
    if not _ACTIVE:
        return
    _reached(name)


def _reached(name: str) -> None:
    global _seen
    with _lock:
        if _TRACE is not None:
            with open(_TRACE, "a", encoding="utf-8") as fh:
                fh.write(name + "\n")
        # Parsed here, not at import, so a bad value is a one-line error of the command.
        kill_at = _parse(_KILL_RAW)
        if kill_at is None or kill_at[0] != name:
            return
        _seen += 1
        if _seen == kill_at[1]:
            os.kill(os.getpid(), signal.SIGKILL)
