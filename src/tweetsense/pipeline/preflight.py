"""Every configured backend built and asked whether it works, before a run spends anything.

A backend offers ``check()``; one without it has nothing to check beyond loading. ``doctor``
reports every stage; ``run`` stops at the first that fails, before the first request is sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tweetsense import registry
from tweetsense.errors import StageError, TweetsenseError


@dataclass(frozen=True)
class Check:
    stage: str
    backend: str
    line: str
    error: TweetsenseError | None = None

    @property
    def passed(self) -> bool:
        return self.error is None


def check_stage(stage: str, context: registry.Context) -> Check:
    name = getattr(context.config, stage).type
    backend = None
    try:
        backend = registry.create(stage, context)
        check: Callable[[], str] | None = getattr(backend, "check", None)
        return Check(stage, name, check() if check else "ok: nothing to check")
    except TweetsenseError as exc:
        return Check(stage, name, str(exc), exc)
    except Exception as exc:  # a backend bug must still leave one line, not a traceback
        line = f"{type(exc).__name__}: {exc}"
        return Check(stage, name, line, StageError(f"{stage} ({name}): {line}"))
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):  # a failed close adds nothing to report
                close()


def check_all(context: registry.Context) -> Iterator[Check]:
    for stage in registry.STAGES:
        yield check_stage(stage, context)


def preflight(context: registry.Context) -> None:
    """Raises the first failing backend's error, saying that no stage has run."""
    for check in check_all(context):
        if check.error is not None:
            exc = check.error
            raise type(exc)(
                f"{exc} (found before any stage ran; `tweetsense doctor` checks every backend)"
            ) from None
