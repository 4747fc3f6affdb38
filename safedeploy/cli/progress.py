"""A progress bar on a terminal for long runs; nothing at all in cron logs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from safedeploy.adapters.terminal import stderr


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
