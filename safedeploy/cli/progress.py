"""Progress bars on a terminal for long runs; nothing at all in cron logs or pipes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from safedeploy.cli.terminal import stderr

if TYPE_CHECKING:
    from safedeploy.usecases.simulate import Progress


@contextmanager
def service_progress(*, enabled: bool) -> Iterator[Callable[[str], None] | None]:
    console = stderr()
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("reconciling", total=None)

        def advance(name: str) -> None:
            progress.update(task, advance=1, description=f"reconciling {name}")

        yield advance


@contextmanager
def replay_progress(*, enabled: bool) -> Iterator[Progress | None]:
    """A bar for long replays: steps done of steps in all, and the time left."""
    console = stderr()
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("replaying", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
