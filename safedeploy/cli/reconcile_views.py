"""Renders a reconcile run: a table on a terminal, one summary line for cron logs."""

from __future__ import annotations

from rich.text import Text

from safedeploy.cli.slo_views import SEVERITY_STYLE
from safedeploy.cli.tables import Cell, Column, plural, print_table
from safedeploy.cli.terminal import print_error, print_json, stdout
from safedeploy.domain.decisions import Decision
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
    # A thousand services would make a thousand lines in every cron log; above 50 only the
    # summary is printed (the JSON and `report` have every service).
    if console.is_terminal or len(result.decisions) <= 50:
        print_table(COLUMNS, [_row(d) for d in result.decisions], console=console)
    for d in result.decisions:
        for note in d.notes:
            console.print(f"{d.service}: {note}", highlight=False, markup=False, soft_wrap=True)
    for line in result.landed:
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if result.note is not None:
        console.print(result.note, highlight=False, markup=False, soft_wrap=True)
    console.print(summary_line(result), highlight=False, soft_wrap=True)
    if result.state_commit is not None and result.state_commit.line():
        console.print(result.state_commit.line(), highlight=False, soft_wrap=True)


COLUMNS = (
    Column("service"),
    Column("severity"),
    Column("incident"),
    Column("state"),
    Column("proposals"),
    Column("release"),
    Column("reason", whole=False),
)


def _row(d: Decision) -> list[Cell]:
    return [
        d.service,
        Text(d.severity, style=SEVERITY_STYLE.get(d.severity, "")),
        d.incident.id if d.incident else "-",
        d.incident.state if d.incident else "-",
        tuple(p.id for p in d.proposals),
        Text(d.verdict.decision, style=DECISION_STYLE[d.verdict.decision]),
        d.reason,
    ]


def summary_line(result: ReconcileResult) -> str:
    if result.mode == "backfill":
        return (
            f"reconcile {format_instant(result.at)}: backfill: recorded the evaluation of "
            f"{plural(len(result.backfilled), 'service')}"
            f" ({', '.join(result.backfilled) or 'none new'}), decided nothing, "
            f"{len(result.undecided)} undecided, {plural(len(result.errors), 'error')}"
        )
    mode = "dry run: would have " if result.dry_run else ""
    opened = ", ".join(result.created_incidents) or "none"
    created = ", ".join(result.created_proposals) or "none"
    return (
        f"reconcile {format_instant(result.at)}: {plural(len(result.decisions), 'service')}, "
        f"{mode}opened {plural(len(result.created_incidents), 'incident')} ({opened}), "
        f"created {plural(len(result.created_proposals), 'proposal')} ({created}), "
        f"{len(result.undecided)} undecided, {plural(len(result.errors), 'error')}"
    )
