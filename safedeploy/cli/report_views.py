"""Renders report, explain and gate: a coloured table, Markdown for a PR, plain words, JSON."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType
from rich.text import Text

from safedeploy.cli.slo_views import SEVERITY_STYLE, budget_bar
from safedeploy.cli.tables import Cell, Column, plain_lines, plural, print_table
from safedeploy.cli.terminal import stdout
from safedeploy.domain.instants import format_instant
from safedeploy.domain.proposals import Proposal, VersionChange
from safedeploy.errors import BadInputError
from safedeploy.usecases.explain import Explanation, MeasuredSLO
from safedeploy.usecases.gate import STATUS_CONTEXT, GateResult
from safedeploy.usecases.report import Report, ReportService

DECISION_STYLE = {"GREEN": "bold green", "RED": "bold red", "UNKNOWN": "bold yellow"}
DECISION_MARK = {"GREEN": "🟢", "RED": "🔴", "UNKNOWN": "🟡"}
BURN_WINDOWS = ("1h", "6h", "1d", "3d")
MAX_FILE_WIDTH = 400


# --- output ------------------------------------------------------------------------------


def render_report(report: Report, fmt: str, out: Path | None) -> None:
    """`fmt` is table, json or markdown; a table becomes plain text off a terminal."""
    if fmt == "json":
        emit(report_json(report), out)
    elif fmt == "markdown":
        emit(report_markdown(report), out)
    elif out is not None or not stdout().is_terminal:
        emit(report_text(report), out)
    else:
        print_report(report)


def emit(renderable: RenderableType | str, out: Path | None) -> None:
    """To the terminal (colour when it is one), or as plain text into `out`."""
    if out is None:
        if isinstance(renderable, str):
            stdout().file.write(renderable)
        else:
            stdout().print(renderable)
        return
    text = renderable if isinstance(renderable, str) else plain(renderable)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"--out {out}: cannot write: {exc.strerror or exc}") from None


def plain(renderable: RenderableType) -> str:
    """Without colour, as wide as the content needs, trailing blanks trimmed: for files."""
    buffer = io.StringIO()
    # Columns do not wrap, so the table takes its natural width; no second measuring pass.
    console = Console(file=buffer, width=MAX_FILE_WIDTH, color_system=None, highlight=False)
    console.print(renderable)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _when(value: datetime | None) -> str:
    return format_instant(value) if value is not None else "-"


def _pct(value: float | None, spec: str = ".1%") -> str:
    return "unknown" if value is None else format(value, spec)


def _burn(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _open(service: ReportService, *, short: bool = False) -> str:
    """Proposal ids are `<incident>-<kind>`, so beside the incident the kind says it all."""
    return (
        "\n".join(
            f"{p.kind if short and p.kind else p.id} ({p.status or 'missing'})"
            for p in service.proposal_details
        )
        or "-"
    )


# --- report ------------------------------------------------------------------------------


def report_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


REPORT_COLUMNS = (
    Column("service"),
    Column("owner"),
    Column("release"),
    Column("severity"),
    Column("budget left"),
    *(Column(f"burn {w}", right=True) for w in BURN_WINDOWS),
    Column("freeze until"),
    Column("incident"),
    Column("state"),
    Column("proposals"),
)


def report_title(report: Report) -> str:
    counts = _counts(report) or "none"
    return f"{plural(len(report.services), 'service')} at {_when(report.at)}: {counts}"


def report_rows(report: Report) -> list[list[Cell]]:
    """One row per service: its tightest budget and, per window, its highest burn rate."""
    return [
        [
            Text(s.service, style="bold"),
            s.owner,
            Text(s.decision, style=DECISION_STYLE[s.decision]),
            Text(s.severity, style=SEVERITY_STYLE.get(s.severity, "")),
            budget_bar(s.budget_remaining),
            *(_burn(_highest(s, window)) for window in BURN_WINDOWS),
            _when(s.freeze_until),
            s.incident or "-",
            s.incident_state or "-",
            tuple(f"{p.kind or p.id} ({p.status or 'missing'})" for p in s.proposal_details),
        ]
        for s in report.services
    ]


def _highest(service: ReportService, window: str) -> float | None:
    known = [r for s in service.slos if (r := s.burn_rates.get(window)) is not None]
    return max(known) if known else None


def print_report(report: Report) -> None:
    console = stdout()
    print_table(REPORT_COLUMNS, report_rows(report), title=report_title(report), console=console)
    for reason in _decision_reasons(report):
        console.print(reason)


def report_text(report: Report) -> str:
    """The report as plain text, for files and pipes: the same rows, one line each."""
    lines = [report_title(report), *plain_lines(REPORT_COLUMNS, report_rows(report))]
    reasons = [r.plain for r in _decision_reasons(report)]
    return "\n".join([*lines, *(["", *reasons] if reasons else [])]) + "\n"


def _decision_reasons(report: Report) -> list[Text]:
    reasons = [
        Text.assemble(
            (f"{service.service} ", "bold"),
            (service.decision, DECISION_STYLE[service.decision]),
            f": {service.decision_reason}",
        )
        for service in report.services
        if service.decision != "GREEN"
    ]
    return reasons + [
        Text.assemble((f"{service.service} ", "bold"), ("STALE", "bold red"), f": {line}")
        for service in report.services
        if (line := stale_line(service)) is not None
    ]


def stale_line(service: ReportService) -> str | None:
    """Why a service's entry is not the last run's, or None when it is."""
    if service.stale is None:
        return None
    return (
        f"not reconciled since {_when(service.evaluated_at)}, its service file is invalid: "
        f"{service.stale}"
    )


def _counts(report: Report) -> str:
    found = [s.decision for s in report.services]
    return ", ".join(f"{found.count(d)} {d}" for d in ("GREEN", "RED", "UNKNOWN") if d in found)


def report_markdown(report: Report) -> str:
    lines = [
        "# SLO report",
        "",
        f"Summary of the last reconcile at {_when(report.at)}: {len(report.services)} "
        f"services ({_counts(report) or 'none'}).",
        "",
        "| Service | Owner | Release | Severity | Budget left | Freeze until | Incident | "
        "Proposals |",
        "|---|---|---|---|---:|---|---|---|",
    ]
    for s in report.services:
        incident = f"`{s.incident}` ({s.incident_state})" if s.incident else "-"
        lines.append(
            _row(
                f"**{s.service}**",
                s.owner,
                f"{DECISION_MARK[s.decision]} {s.decision}",
                s.severity,
                _pct(s.budget_remaining),
                _when(s.freeze_until),
                incident,
                _open(s).replace("\n", "<br>"),
            )
        )
    blocked = [s for s in report.services if s.decision != "GREEN"]
    if blocked:
        lines += ["", "## Why not green", ""]
        lines += [f"- **{s.service}** {s.decision}: {_md(s.decision_reason)}" for s in blocked]
    stale = [(s, line) for s in report.services if (line := stale_line(s)) is not None]
    if stale:
        lines += ["", "## Stale", ""]
        lines += [f"- **{s.service}** {_md(line)}" for s, line in stale]
    lines += [
        "",
        "## SLOs",
        "",
        "| Service | SLO | Objective | Period | Severity | Budget left | "
        + " | ".join(f"Burn {w}" for w in BURN_WINDOWS)
        + " |",
        "|---|---|---:|---|---|---:|" + "---:|" * len(BURN_WINDOWS),
    ]
    for s in report.services:
        for slo in s.slos:
            lines.append(
                _row(
                    s.service,
                    slo.slo,
                    f"{slo.objective:.3%}",
                    slo.period,
                    slo.severity,
                    _pct(slo.budget_remaining),
                    *(_burn(slo.burn_rates.get(w)) for w in BURN_WINDOWS),
                )
            )
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(*cells: str) -> str:
    return "| " + " | ".join(_md(c) for c in cells) + " |"


# --- explain -----------------------------------------------------------------------------


def explain_text(found: Explanation) -> str:
    lines: list[str] = []
    incident = found.incident
    releases = [p for p in found.proposals if p.release is not None]
    if incident is None and releases:
        lines.append(f"Release {releases[0].release} of {releases[0].service}: no incident.")
    elif incident is None:
        lines.append(
            f"Incident {found.incident_id}: incidents/{found.incident_id}.json is missing."
        )
    else:
        opened = incident.transitions[0]
        lines += [
            f"Incident {incident.id}: {incident.service} is {incident.severity}, "
            f"now {incident.state}.",
            f"Opened {_when(opened.at)} by {opened.actor}: {opened.reason}",
        ]
    if found.decided_at or found.reason:
        decided = _when(found.decided_at) if found.decided_at else "time unknown"
        lines += ["", f"Last decision ({decided}): {found.reason}"]
    lines += ["", "What was measured:"]
    lines += [line for slo in found.measured for line in _measured(slo)] or ["  (no slo.json)"]
    lines += ["", "Which rule fired:"]
    lines += [
        f"  {a.slo}: {a.severity} pair {a.windows}: burn rate {_burn(a.long_burn_rate)} "
        f"(long) and {_burn(a.short_burn_rate)} (short), both must exceed {_num(a.factor)}"
        for a in found.fired
    ] or ["  no burn-rate alert fired"]
    if found.policy is not None:
        lines += ["", f"Release policy: {found.policy.decision}: {found.policy.reason}"]
        lines += [
            f"  {r.outcome.upper():7} {r.rule}: {r.detail}"
            for r in found.policy.rules
            if r.outcome != "pass"
        ]
    lines += ["", "What was proposed:"]
    lines += [line for p in found.proposals for line in _proposed(p)] or ["  nothing"]
    lines += ["", "Who approved and what changed in Git:"]
    for a in found.approvals:
        at = _when(a.at) if a.at else "?"
        lines.append(f"  {a.proposal}: {a.status} by {a.by} at {at} ({a.source})")
        lines += [f"    {k}: {v}" for k, v in _git_facts(a.model_dump()).items()]
    if not found.approvals:
        lines.append("  no approval yet")
    if incident is not None:
        lines += ["", "History:"]
        lines += [
            f"  {_when(t.at)} {t.event}: {t.from_state or '-'} -> {t.to_state} by {t.actor}: "
            f"{t.reason}"
            for t in incident.transitions
        ]
    lines += [
        "",
        f"Evidence: {found.evidence_folder} ({', '.join(found.evidence_files) or 'empty'})",
    ]
    lines += [f"  problem: {p}" for p in found.problems]
    return "\n".join(lines) + "\n"


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _measured(slo: MeasuredSLO) -> list[str]:
    objective = _pct(slo.objective, ".3%")
    lines = [
        f"  {slo.slo} (objective {objective} over {slo.period or '?'}): {slo.severity}; "
        f"budget {_pct(slo.consumed)} consumed, {_pct(slo.remaining)} left",
    ]
    for w in slo.windows:
        events = "?" if w.total is None else f"{w.total:,.0f}"
        sli, ratio = _pct(w.sli, ".3%"), _pct(w.error_ratio, ".3%")
        lines.append(
            f"    {w.window:>4}: SLI {sli}, error ratio {ratio}, "
            f"burn rate {_burn(w.burn_rate)} over {events} events"
        )
    return lines


def _proposed(proposal: Proposal) -> list[str]:
    change = proposal.change
    what = (
        f"{change.path}: {change.from_version} -> {change.to_version} ({change.kind})"
        if isinstance(change, VersionChange)
        else "pause promotion"
    )
    return [
        f"  {proposal.id}: {proposal.kind}, {proposal.status}",
        f"    rule: {proposal.rule}",
        f"    why: {proposal.reason}",
        f"    change: {what}",
    ]


def _git_facts(approval: dict[str, Any]) -> dict[str, Any]:
    keys = ("branch", "pr_url", "commit", "remote", "error")
    return {k: approval[k] for k in keys if approval.get(k)}


def explain_json(found: Explanation) -> str:
    return json.dumps(found.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


# --- gate --------------------------------------------------------------------------------


def gate_text(result: GateResult) -> str:
    lines = [result.message]
    lines += [
        f"  {r.outcome.upper():7} {r.rule}: {r.detail}"
        for r in result.verdict.rules
        if r.outcome != "pass"
    ]
    lines.append(f"  evaluated at {_when(result.verdict.at)} from {result.source}")
    return "\n".join(lines) + "\n"


def status_posted(state: str, sha: str) -> str:
    return f"commit status {STATUS_CONTEXT} on {sha[:12]}: {state}\n"


def gate_json(result: GateResult, posted: str | None) -> str:
    verdict = result.verdict.model_dump(mode="json")
    data = {
        **verdict,
        "allowed": result.verdict.decision == "GREEN",
        "exit_code": result.exit_code,
        "freeze_until": _when(result.freeze_until) if result.freeze_until else None,
        "source": result.source,
        "github_status": posted,
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
