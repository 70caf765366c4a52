"""`tweetsense doctor`: builds every configured backend and asks it whether it works.

One line per stage: ``ok: ...`` or what is wrong and what to do; the exit code is 1 when any
check fails.
"""

from __future__ import annotations

import typer
from rich.text import Text

from tweetsense import registry
from tweetsense.cli.common import TOOLS, PipelineOptions, command, out
from tweetsense.pipeline.preflight import check_all
from tweetsense.secrets import Secrets


@command(TOOLS)
def doctor(opts: PipelineOptions) -> None:
    """Check every configured backend: bucket reachable, stream exists, analyzer answers..."""
    context = registry.Context(opts.resolve(), Secrets(opts.secrets))
    failed = 0
    for check in check_all(context):
        failed += not check.passed
        line = Text(f"{check.stage:<9} {check.backend:<10} ")
        if not check.passed:
            line.append("failed: ", style="bold red")
        line.append(check.line)
        out.print(line, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
