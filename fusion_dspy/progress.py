"""Progress bars that still say something when output goes to a file: the commands' bars, and `tracked` for a
long loop in the Python API.

Rich draws no live bar on a console that is not a terminal (`nohup fusion-dspy optimize … > run.log`), so an
hour-long study would log nothing until it ends. There, every bar logs one plain line per tenth of its work
instead: what it is, how far, how long so far and how long to go.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sized
from datetime import timedelta
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")
STEPS = 10
"""Lines a bar logs over its whole run when no terminal shows it."""


def _duration(seconds: float | None) -> str:
    return "?" if seconds is None else str(timedelta(seconds=round(seconds)))


def _time_left(task: Task, resumed_at: float) -> float | None:
    """At the mean pace of this run so far (Rich's own estimate only looks back 30 s, and a study's steps take
    minutes); steps a resumed job found already done took no time here and do not count."""
    done_here = task.completed - resumed_at
    if done_here <= 0 or task.elapsed is None or task.total is None:
        return None
    return task.elapsed / done_here * (task.total - task.completed)


class LoggedProgress(Progress):
    """A Rich progress display that, on a console with no terminal, logs a line whenever a bar passes a tenth."""

    def __init__(self, *columns: Any, console: Console) -> None:
        super().__init__(*columns, console=console)
        self._logged: dict[TaskID, int] = {}
        self._resumed_at: dict[TaskID, float] = {}

    def add_task(
        self, description: str, start: bool = True, total: float | None = 100.0, completed: int = 0,
        visible: bool = True, **fields: Any,
    ) -> TaskID:  # fmt: skip
        """As Rich's; `completed` is what a resumed job found already done, left out of its time to go."""
        task_id = super().add_task(description, start, total, completed, visible, **fields)
        self._resumed_at[task_id] = completed
        return task_id

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log(task_id)

    def update(self, task_id: TaskID, **changes: Any) -> None:
        super().update(task_id, **changes)
        self._log(task_id)

    def _log(self, task_id: TaskID) -> None:
        if self.console.is_terminal:
            return
        task = self._tasks[task_id]
        if not task.total:
            return
        step = int(STEPS * min(task.completed, task.total) / task.total)
        if step <= self._logged.get(task_id, 0):
            return
        self._logged[task_id] = step
        left = _time_left(task, self._resumed_at.get(task_id, 0))
        remaining = "" if task.finished else f", about {_duration(left)} to go"
        self.console.print(
            f"{task.description}: {task.completed:g}/{task.total:g} ({_duration(task.elapsed)} so far{remaining})",
            highlight=False,
        )


def progress_bar(console: Console) -> Progress:
    """The bar every long command shows: label, bar, done/total, elapsed, remaining."""
    columns = [
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
    ]  # fmt: skip
    return LoggedProgress(*columns, console=console)


def tracked(items: Iterable[T], description: str = "examples", total: int | None = None) -> Iterator[T]:
    """`items`, one at a time, with a progress bar on stderr (a line per tenth when stderr is not a terminal):
    for long loops over a program, e.g. `for ex in fd.tracked(devset): program(**ex.inputs())`. Off unless used;
    `dspy.Evaluate(display_progress=True)` shows its own."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    with progress_bar(Console(stderr=True)) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
