"""One progress bar for the whole bench: planned seconds per phase, advanced by the clock.

A phase that ends early or late snaps the bar to its planned end, so "time left" is the
plan of the phases still to come plus what is left of the current one.

A live bar draws only on a terminal; into a log file or a pipe (CI, `nohup`) each phase
prints one line instead, with the time so far and the time left, so a long run still
shows where it is.
"""

import threading
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class PhaseProgress:
    def __init__(self, planned_total: float, console: Console | None = None) -> None:
        self.progress = Progress(
            BarColumn(bar_width=24),
            TimeElapsedColumn(),
            TextColumn("left ~"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),  # last: a narrow terminal cuts it, not the bar
            console=console,
            transient=False,
        )
        self.total = max(1.0, planned_total)
        self.task: TaskID | None = None
        self._base = 0.0  # planned seconds of the phases done
        self._planned = 0.0  # of the current phase
        self._began = time.monotonic()
        self._started = self._began
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "PhaseProgress":
        self.progress.start()
        self.task = self.progress.add_task("starting", total=self.total)
        self._thread = threading.Thread(target=self._tick, name="bench-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if kind is None and self.task is not None:
            self.progress.update(self.task, completed=self.total, description="done")
        self.progress.stop()

    def phase(self, description: str, planned: float) -> None:
        """Start the next phase: the previous one counts as its planned length."""
        with self._lock:
            self._base += self._planned
            self._planned = max(0.0, planned)
            self._began = time.monotonic()
        if self.task is not None:
            self.progress.update(self.task, description=description)
        self.refresh()
        if not self.progress.console.is_terminal:
            self.note(self._line(description))

    def _line(self, description: str) -> str:
        with self._lock:
            left = max(0.0, self.total - self._base)
        elapsed = time.monotonic() - self._started
        return f"[{_clock(elapsed)} elapsed, ~{_clock(left)} left] {description}"

    def note(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)

    def refresh(self) -> None:
        with self._lock:
            into = min(self._planned, time.monotonic() - self._began)
            done = min(self.total, self._base + into)
        if self.task is not None:
            self.progress.update(self.task, completed=done)

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self.refresh()


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"
