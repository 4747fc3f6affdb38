"""Renders a reconcile run: a table on a terminal, one summary line for cron logs."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from safedeploy.cli.slo_views import SEVERITY_STYLE
from safedeploy.cli.terminal import print_error, print_json, stdout
from safedeploy.domain.instants import format_instant
from safedeploy.usecases.reconcile import ReconcileResult

DECISION_STYLE = {"GREEN": "green", "RED": "bold red", "UNKNOWN": "yellow"}


def render_reconcile(result: ReconcileResult, *, as_json: bool) -> None:
    for error in result.errors:
        print_error(error)
    for warning in result.notify.warnings if result.notify else ():
        print_error(warning)
    if as_json:
        print_json(result.to_json())
        return
    console = stdout()
    if console.is_terminal or len(result.decisions) <= 50:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("service", "severity", "incident", "proposals", "release", "reason"):
            table.add_column(column, overflow="fold")
        for d in result.decisions:
            table.add_row(
                d.service,
                Text(d.severity, style=SEVERITY_STYLE.get(d.severity, "")),
                f"{d.incident.id} ({d.incident.state})" if d.incident else "-",
                "\n".join(p.id for p in d.proposals) or "-",
                Text(d.verdict.decision, style=DECISION_STYLE[d.verdict.decision]),
                d.reason,
            )
        console.print(table)
    for d in result.decisions:
        for note in d.notes:
            console.print(f"{d.service}: {note}", highlight=False, soft_wrap=True)
    console.print(summary_line(result), highlight=False, soft_wrap=True)
    if result.state_commit is not None and result.state_commit.line():
        console.print(result.state_commit.line(), highlight=False, soft_wrap=True)


def summary_line(result: ReconcileResult) -> str:
    mode = "dry run: would have " if result.dry_run else ""
    return (
        f"reconcile {format_instant(result.at)}: {len(result.decisions)} services, "
        f"{mode}opened {len(result.created_incidents)} incidents "
        f"({', '.join(result.created_incidents) or 'none'}), "
        f"created {len(result.created_proposals)} proposals "
        f"({', '.join(result.created_proposals) or 'none'}), "
        f"{len(result.undecided)} undecided, {len(result.errors)} errors"
    )
