"""`report`, `explain` and `gate`: read the state, say what it means, answer CI."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from safedeploy.cli.app import AtOption, JsonOption, instant, state_dir


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


def report(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or markdown.")] = (
        Format.table
    ),
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Every service at a glance from the last reconcile: budgets, burn, incidents, release."""
    from safedeploy.cli import report_views as views
    from safedeploy.usecases.report import report as run

    found = run(state_dir(ctx))
    if fmt is Format.json:
        views.emit(views.report_json(found), out)
    elif fmt is Format.markdown:
        views.emit(views.report_markdown(found), out)
    else:
        from safedeploy.adapters.terminal import stdout

        console = stdout()
        if out is not None or not console.is_terminal:
            views.emit(views.report_text(found), out)
        else:
            views.emit(views.report_table(found, console.width), out)


def explain(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="An incident id or a proposal id.")],
    as_json: JsonOption = False,
) -> None:
    """The chain of evidence: numbers, thresholds, rule, proposal, approval, Git change."""
    from safedeploy.cli import report_views as views
    from safedeploy.usecases.explain import explain as run

    found = run(state_dir(ctx), subject)
    views.emit(views.explain_json(found) if as_json else views.explain_text(found), None)


def gate(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="The service about to be promoted.")],
    at: AtOption = None,
    github_status: Annotated[
        str | None,
        typer.Option("--github-status", metavar="SHA", help="Also post a commit status."),
    ] = None,
    target_url: Annotated[
        str | None, typer.Option("--target-url", help="Link for the commit status (CI run).")
    ] = None,
    as_json: JsonOption = False,
) -> int:
    """Exit 0 when promotion is allowed, 1 when blocked, 3 when it cannot be decided."""
    from safedeploy.cli import report_views as views
    from safedeploy.usecases.gate import gate as run
    from safedeploy.usecases.gate import post_github_status

    state = state_dir(ctx)
    result = run(state, service, instant(at))
    if as_json:
        posted = None
        if github_status is not None:
            posted = post_github_status(state, result, github_status, target_url=target_url)
        views.emit(views.gate_json(result, posted), None)
        return result.exit_code
    # The verdict is printed before the status is posted, so a GitHub failure loses nothing.
    views.emit(views.gate_text(result), None)
    if github_status is not None:
        posted = post_github_status(state, result, github_status, target_url=target_url)
        views.emit(views.status_posted(posted, github_status), None)
    return result.exit_code


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(explain)
    app.command()(gate)
