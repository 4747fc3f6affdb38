"""`report`, `explain` and `gate`: read the state, say what it means, answer CI."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from safedeploy.cli.options import (
    AtOption,
    JsonOption,
    OutFileOption,
    StateOption,
    context,
    instant,
)


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"


def report(
    ctx: typer.Context,
    fmt: Annotated[
        Format, typer.Option("--format", help="table, json, markdown or html (one page).")
    ] = Format.table,
    out: OutFileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
    state: StateOption = None,
) -> int:
    """Every service at a glance from the last reconcile: budgets, burn, incidents, release."""
    from safedeploy.cli.report_views import render_report
    from safedeploy.usecases.report import report as run

    run_ctx = context(ctx, state)
    if as_json:
        fmt = Format.json
    if fmt is Format.html:
        from safedeploy.cli.report_html import evidence_base, report_html
        from safedeploy.cli.report_views import emit
        from safedeploy.usecases.report_page import report_page

        page = report_page(run_ctx)
        emit(report_html(page, evidence_base(run_ctx.state, out)), out)
        return page.report.exit_code
    found = run(run_ctx)
    render_report(found, fmt.value, out)
    return found.exit_code


def explain(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="An incident id or a proposal id.")],
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """The chain of evidence: numbers, thresholds, rule, proposal, approval, Git change."""
    from safedeploy.cli import report_views as views
    from safedeploy.usecases.explain import explain as run

    found = run(context(ctx, state), subject)
    views.emit(views.explain_json(found) if as_json else views.explain_text(found), None)
    return found.exit_code


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
    state: StateOption = None,
) -> int:
    """Exit 0 when promotion is allowed, 1 when blocked, 3 when it cannot be decided."""
    from safedeploy.cli import report_views as views
    from safedeploy.usecases.gate import gate as run
    from safedeploy.usecases.gate import post_github_status

    run_context = context(ctx, state)
    result = run(run_context, service, instant(at))
    if as_json:
        posted = None
        if github_status is not None:
            posted = post_github_status(run_context, result, github_status, target_url=target_url)
        views.emit(views.gate_json(result, posted), None)
        return result.exit_code
    # The verdict is printed before the status is posted, so a GitHub failure loses nothing.
    views.emit(views.gate_text(result), None)
    if github_status is not None:
        posted = post_github_status(run_context, result, github_status, target_url=target_url)
        views.emit(views.status_posted(posted, github_status), None)
    return result.exit_code


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(explain)
    app.command()(gate)
