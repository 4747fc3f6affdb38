"""Renders incidents, proposals, audit verification and replay results."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from safedeploy.cli.slo_views import SEVERITY_STYLE
from safedeploy.cli.terminal import print_error, print_json, stdout
from safedeploy.domain import layout
from safedeploy.domain.incidents import Incident
from safedeploy.domain.instants import format_instant
from safedeploy.domain.proposals import Proposal, VersionChange
from safedeploy.usecases.audit_replay import ReplayResult, VerifyResult
from safedeploy.usecases.state_history import History


def incidents_table(incidents: Sequence[Incident], errors: Sequence[str], *, as_json: bool) -> None:
    for error in errors:
        print_error(error)
    if as_json:
        print_json([i.model_dump(mode="json") for i in incidents])
        return
    console = stdout()
    table = Table(show_edge=False, pad_edge=False, title=f"{len(incidents)} incidents")
    wide = console.width >= 120
    columns = ["incident", "state", "severity", "opened"] + (["updated", "SLOs"] if wide else [])
    for column in columns:
        table.add_column(column, no_wrap=column != "SLOs")
    for i in incidents:
        cells: list[str | Text] = [
            i.id,
            i.state,
            Text(i.severity, style=SEVERITY_STYLE.get(i.severity, "")),
            format_instant(i.opened_at),
        ]
        if wide:
            cells += [format_instant(i.updated_at), ", ".join(i.slos)]
        table.add_row(*cells)
    console.print(table)


def incident_detail(incident: Incident, *, as_json: bool) -> None:
    if as_json:
        print_json(incident.model_dump(mode="json"))
        return
    console = stdout()
    console.print(
        Text.assemble(
            (incident.id, "bold"),
            f"  {incident.service}  {incident.state}  ",
            (incident.severity, SEVERITY_STYLE.get(incident.severity, "")),
        )
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("at", "event", "from", "to", "severity", "actor", "reason"):
        table.add_column(column, overflow="fold")
    for t in incident.transitions:
        table.add_row(
            format_instant(t.at),
            t.event,
            t.from_state or "-",
            t.to_state,
            t.severity,
            t.actor,
            t.reason,
        )
    console.print(table)
    console.print(f"evidence: {layout.incident_evidence(incident.id)}/", style="dim")


def proposals_table(proposals: Sequence[Proposal], errors: Sequence[str], *, as_json: bool) -> None:
    for error in errors:
        print_error(error)
    if as_json:
        print_json([p.model_dump(mode="json") for p in proposals])
        return
    console = stdout()
    table = Table(show_edge=False, pad_edge=False, title=f"{len(proposals)} proposals")
    # The id already names the service and the kind; the rule needs room on a wide terminal.
    wide = console.width >= 150
    columns = ("proposal", "status", "change", "rule") if wide else ("proposal", "status", "change")
    for column in columns:
        table.add_column(column, no_wrap=column in ("proposal", "status"), overflow="fold")
    for p in proposals:
        cells = [p.id, p.status, change_text(p)]
        if wide:
            cells.append(p.rule)
        table.add_row(*cells)
    console.print(table)


def change_text(proposal: Proposal) -> str:
    change = proposal.change
    if isinstance(change, VersionChange):
        return f"{change.path}: {change.from_version} -> {change.to_version}"
    return "spec.paused: true"


def proposal_detail(proposal: Proposal, *, as_json: bool) -> None:
    if as_json:
        print_json(proposal.model_dump(mode="json"))
        return
    console = stdout()
    console.print(Text.assemble((proposal.id, "bold"), f"  {proposal.kind}  {proposal.status}"))
    console.print(f"service: {proposal.service}   {proposal.subject_label}")
    console.print(f"change: {change_text(proposal)}")
    console.print(f"rule: {proposal.rule}")
    console.print(f"reason: {proposal.reason}", soft_wrap=True)
    if proposal.approval is not None:
        a = proposal.approval
        console.print(
            f"approval: by {a.by} at {format_instant(a.at)} branch {a.branch or '-'} "
            f"pr {a.pr_url or '-'}" + (f" error: {a.error}" if a.error else "")
        )
    console.print(f"evidence: {proposal.evidence_dir}/", style="dim")


def verify_reports(result: VerifyResult, *, as_json: bool) -> None:
    reports = result.reports
    if as_json:
        print_json(
            [
                {
                    "stream": r.stream,
                    "lines": r.lines,
                    "ok": r.ok,
                    "line": r.line,
                    "problem": r.problem,
                }
                for r in reports
            ]
        )
        return
    console = stdout()
    for r in reports:
        if r.ok:
            console.print(f"{layout.audit_file(r.stream)}: {r.lines} lines, chain intact")
        else:
            print_error(f"{layout.audit_file(r.stream)}:{r.line}: {r.problem}")


def replay_result(result: ReplayResult, *, check: bool, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "incidents": result.incidents,
                "proposals": result.proposals,
                "differences": result.differences,
                "written": result.written,
            }
        )
        return
    for difference in result.differences:
        print_error(difference)
    console = stdout()
    verb = "checked" if check else "replayed"
    console.print(
        f"{verb} {result.incidents} incidents and {result.proposals} proposals from the audit "
        f"log: {len(result.differences)} differences, {len(result.written)} files restored"
    )


def history_table(found: History, *, as_json: bool) -> None:
    commits = found.commits
    rows = [
        {
            "commit": c.sha,
            "at": c.at,
            "services": list(c.services),
            "subject": c.subject,
        }
        for c in commits
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(show_edge=False, pad_edge=False, title=f"{len(rows)} decision commits")
    for column in ("commit", "time", "services", "what changed"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["commit"])[:12], str(row["at"]), ", ".join(row["services"]), str(row["subject"])
        )
    stdout().print(table)
