"""`demo`: the whole loop on embedded data, in a throwaway state directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Empty directory to run in (default: a new temp dir)."),
    ] = None,
) -> int:
    """Run the whole loop on embedded data: detect, propose, approve, report (no network)."""
    import tempfile

    from safedeploy.cli.demo_views import DemoPrinter
    from safedeploy.usecases.demo import run_demo

    target = directory or Path(tempfile.mkdtemp(prefix="safedeploy-demo-"))
    printer = DemoPrinter()
    printer.finish(run_demo(target, printer))
    return 0


def register(app: typer.Typer) -> None:
    app.command()(demo)
