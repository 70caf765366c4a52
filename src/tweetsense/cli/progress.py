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


class _Display:
    """The live area every lane draws its bar in: a terminal holds one live display at a time,
    so stages running together share it. It closes when the last bar in it finishes, which
    leaves those bars printed above whatever comes next."""

    def __init__(self, console: Console):
        self._console = console
        self._bars: Progress | None = None
        self._open = 0
        # Lanes run on different threads, and worker processes' progress arrives on yet another.
        self.lock = threading.RLock()

    def add(self, stage: str, total: int | None, unit: str) -> TaskID:
        with self.lock:
            if self._bars is None:
                self._bars = Progress(
                    SpinnerColumn(),
                    TextColumn("{task.description:<8}", style="bold", markup=False),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[unit]}", markup=False),
                    TextColumn("{task.fields[rate]}", markup=False),
                    TimeElapsedColumn(),
                    console=self._console,
                    transient=False,
                )
                self._bars.start()
            self._open += 1
            return self._bars.add_task(stage, total=total, rate="", unit=unit)

    def update(self, task: TaskID, windows: int, rate: str) -> None:
        with self.lock:
            if self._bars is not None:
                self._bars.update(task, advance=windows, rate=rate)

    def close(self, task: TaskID) -> None:
        with self.lock:
            if self._bars is None:
                return
            done = next(t for t in self._bars.tasks if t.id == task)
            if done.total is None:
                self._bars.update(task, total=done.completed)
            self._bars.stop_task(task)
            self._open -= 1
            if not self._open:
                self._bars.stop()
                self._bars = None


class RichProgress:
    """One lane: a bar at a time, drawn beside the bars of its other lanes."""

    def __init__(self, console: Console, display: _Display | None = None):
        self._console = console
        self._display = display or _Display(console)
        self._task: TaskID | None = None
        self._tweets = 0
        self._started = 0.0

    def lane(self) -> RichProgress:
        return RichProgress(self._console, self._display)

    def start(self, stage: str, total: int | None, unit: str = "windows") -> None:
        with self._display.lock:
            self.finish()
            self._tweets = 0
            self._started = time.perf_counter()
            self._task = self._display.add(stage, total, unit)

    def advance(self, windows: int = 1, tweets: int = 0) -> None:
        with self._display.lock:
            if self._task is None:
                return
            self._tweets += tweets
            elapsed = max(time.perf_counter() - self._started, 1e-9)
            rate = ""
            if self._tweets:
                rate = f"{self._tweets:,} posts, {self._tweets / elapsed:,.0f}/s"
            self._display.update(self._task, windows, rate)

    def finish(self) -> None:
        with self._display.lock:
            if self._task is not None:
                self._display.close(self._task)
            self._task = None
