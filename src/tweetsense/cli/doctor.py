"""`tweetsense doctor`: builds every configured backend and asks it whether it works.

One line per stage: ``ok: ...`` or what is wrong and what to do; the exit code is 1 when any
check fails. A backend offers ``check()``; one without it has nothing to check beyond loading.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import typer

from tweetsense import registry
from tweetsense.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DemoOpt,
    SecretsOpt,
    VerboseOpt,
    app,
    guarded,
    out,
    resolve_config,
    setup_logging,
)
from tweetsense.errors import TweetsenseError
from tweetsense.secrets import Secrets


def check_stage(stage: str, context: registry.Context) -> tuple[bool, str]:
    """(passed, one line) for the backend configured for ``stage``."""
    backend = None
    try:
        backend = registry.create(stage, context)
        check: Callable[[], str] | None = getattr(backend, "check", None)
        return True, check() if check else "ok: nothing to check"
    except TweetsenseError as exc:
        return False, str(exc)
    except Exception as exc:  # a backend bug must still leave one line, not a traceback
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):  # a failed close adds nothing to report
                close()


@app.command()
def doctor(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: DemoOpt = False,
    secrets: SecretsOpt = None,
    verbose: VerboseOpt = 0,
) -> None:
    """Check every configured backend: bucket reachable, stream exists, analyzer answers..."""

    def body() -> None:
        setup_logging(verbose)
        cfg = resolve_config(config, data_dir, demo)
        context = registry.Context(cfg, Secrets(secrets))
        failed = 0
        for stage in registry.STAGES:
            name = getattr(cfg, stage).type
            passed, line = check_stage(stage, context)
            failed += not passed
            text = line if passed else f"[bold red]failed:[/] {line}"
            out.print(f"{stage:<9} {name:<10} {text}", highlight=False, soft_wrap=True)
        if failed:
            raise typer.Exit(1)

    guarded(body)
