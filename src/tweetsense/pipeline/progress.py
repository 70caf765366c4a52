"""How stages report progress; the CLI draws bars, tests and libraries stay silent."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger("tweetsense")


class Progress(Protocol):
    """One bar at a time: ``start`` begins a stage's bar, ``finish`` ends it. A stage that runs
    beside another draws on its own ``lane()``, so that each advances only its own bar."""

    def start(self, stage: str, total: int | None, unit: str = "windows") -> None: ...

    def advance(self, windows: int = 1, tweets: int = 0) -> None: ...

    def finish(self) -> None: ...

    def lane(self) -> Progress: ...


class SilentProgress:
    def start(self, stage: str, total: int | None, unit: str = "windows") -> None:
        log.debug("stage %s started (%s %s)", stage, total, unit)

    def advance(self, windows: int = 1, tweets: int = 0) -> None:
        pass

    def finish(self) -> None:
        pass

    def lane(self) -> SilentProgress:
        return self
