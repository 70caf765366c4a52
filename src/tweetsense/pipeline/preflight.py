"""Every configured backend built and asked whether it works, before a run spends anything.

A backend offers ``check()``; one without it has nothing to check beyond loading. ``doctor``
reports every stage; ``run`` stops at the first that fails, before the first request is sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tweetsense import registry
from tweetsense.config import BackendSection
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


def check_stage(
    stage: str,
    context: registry.Context,
    section: BackendSection | None = None,
    where: str | None = None,
) -> Check:
    """Builds the backend of ``section`` (default: the config's for ``stage``) and checks it;
    ``where`` names it in the report (default: the stage)."""
    section = section or getattr(context.config, stage)
    label = where or stage
    backend = None
    try:
        backend = registry.create(stage, context, section)
        check: Callable[[], str] | None = getattr(backend, "check", None)
        return Check(label, section.type, check() if check else "ok: nothing to check")
    except TweetsenseError as exc:
        return Check(label, section.type, str(exc), exc)
    except Exception as exc:  # a backend bug must still leave one line, not a traceback
        line = f"{type(exc).__name__}: {exc}"
        return Check(label, section.type, line, StageError(f"{label} ({section.type}): {line}"))
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):  # a failed close adds nothing to report
                close()


def check_all(context: registry.Context) -> Iterator[Check]:
    for stage in registry.STAGES:
        yield check_stage(stage, context)
    for i, section in enumerate(context.config.other_analyzers, start=1):
        yield check_stage("sentiment", context, section, f"sentiment[{i}]")


def preflight(context: registry.Context) -> None:
    """Raises the first failing backend's error, saying that no stage has run."""
    for check in check_all(context):
        if check.error is not None:
            exc = check.error
            raise type(exc)(
                f"{exc} (found before any stage ran; `tweetsense doctor` checks every backend)"
            ) from None
