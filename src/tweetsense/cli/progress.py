"""Rich progress bars with window and post counts and rates."""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class RichProgress:
    def __init__(self, console: Console):
        self._console = console
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._tweets = 0
        self._started = 0.0
        # Worker processes' progress arrives on another thread.
        self._lock = threading.Lock()

    def start(self, stage: str, total: int | None, unit: str = "windows") -> None:
        self.finish()
        self._tweets = 0
        self._started = time.perf_counter()
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<8}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(stage, total=total, rate="")

    def advance(self, windows: int = 1, tweets: int = 0) -> None:
        with self._lock:
            if self._bar is None or self._task is None:
                return
            self._tweets += tweets
            elapsed = max(time.perf_counter() - self._started, 1e-9)
            rate = ""
            if self._tweets:
                rate = f"{self._tweets:,} posts, {self._tweets / elapsed:,.0f}/s"
            self._bar.update(self._task, advance=windows, rate=rate)

    def finish(self) -> None:
        if self._bar is not None:
            if self._task is not None:
                task = self._bar.tasks[0]
                if task.total is None:
                    self._bar.update(self._task, total=task.completed)
            self._bar.stop()
        self._bar = None
        self._task = None
