"""Renders incidents, proposals, audit verification and replay results."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from safedeploy.cli.slo_views import SEVERITY_STYLE
from safedeploy.cli.tables import Cell, Column, plural, print_table
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
    columns = [Column(c) for c in ("incident", "state", "severity", "opened", "updated")]
    rows: list[list[Cell]] = [
        [
            i.id,
            i.state,
            Text(i.severity, style=SEVERITY_STYLE.get(i.severity, "")),
            format_instant(i.opened_at),
            format_instant(i.updated_at),
            ", ".join(i.slos),
        ]
        for i in incidents
    ]
    print_table([*columns, Column("SLOs", whole=False)], rows, title=plural(len(rows), "incident"))


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
    columns = [Column(c) for c in ("at", "event", "from", "to", "severity", "actor")]
    rows: list[list[Cell]] = [
        [
            format_instant(t.at),
            t.event,
            t.from_state or "-",
            t.to_state,
            t.severity,
            t.actor,
            t.reason,
        ]
        for t in incident.transitions
    ]
    print_table([*columns, Column("reason", whole=False)], rows, console=console)
    console.print(f"evidence: {layout.incident_evidence(incident.id)}/", style="dim")


def proposals_table(proposals: Sequence[Proposal], errors: Sequence[str], *, as_json: bool) -> None:
    for error in errors:
        print_error(error)
    if as_json:
        print_json([p.model_dump(mode="json") for p in proposals])
        return
    # The id already names the service and the kind.
    columns = [Column("proposal"), Column("status"), Column("change", whole=False)]
    rows: list[list[Cell]] = [[p.id, p.status, change_text(p), p.rule] for p in proposals]
    print_table([*columns, Column("rule", whole=False)], rows, title=plural(len(rows), "proposal"))


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
                    "commit": r.commit,
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
        f"{verb} {plural(result.incidents, 'incident')} and "
        f"{plural(result.proposals, 'proposal')} from the audit "
        f"log: {plural(len(result.differences), 'difference')}, "
        f"{plural(len(result.written), 'file')} restored"
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
    columns = [Column("commit"), Column("time"), Column("services", whole=False)]
    cells: list[list[Cell]] = [
        [str(r["commit"])[:12], str(r["at"]), ", ".join(r["services"]), str(r["subject"])]
        for r in rows
    ]
    title = plural(len(rows), "decision commit")
    print_table([*columns, Column("what changed", whole=False)], cells, title=title)
