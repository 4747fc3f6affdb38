"""The evidence folder of an incident: what a reviewer reads in a pull request.

`evidence/incident-<id>/` holds decision.json, slo.json, budget.json, proposal.json and a
README.md that puts what was seen, the rule that fired and the numbers beside their
thresholds. Built here as plain data and text; the use case writes it.
"""

from __future__ import annotations

import json
from typing import Any

from safedeploy.domain import layout
from safedeploy.domain.decisions import Decision
from safedeploy.domain.incidents import Incident
from safedeploy.domain.instants import format_instant
from safedeploy.domain.slo import ServiceStatus, SLOStatus

SCHEMA_VERSION = 1


def documents(decision: Decision, status: ServiceStatus) -> dict[str, str | dict[str, Any]]:
    """File name -> JSON document (dict) or Markdown text."""
    at = format_instant(decision.at)
    incident = decision.incident
    base = {"schema_version": SCHEMA_VERSION, "service": decision.service, "at": at}
    return {
        "decision.json": {
            **base,
            "incident": incident.id if incident else None,
            "incident_state": incident.state if incident else None,
            "incident_change": decision.incident_change,
            "severity": decision.severity,
            "reason": decision.reason,
            "alerts_fired": [
                {"slo": s.slo, **a.model_dump(mode="json")}
                for s in status.slos
                for a in s.alerts
                if a.state == "breached"
            ],
            "policy": decision.verdict.model_dump(mode="json"),
            "freeze_until": _instant(decision.control.freeze_until),
            "proposals": [p.id for p in decision.proposals],
            "notes": list(decision.notes),
        },
        "slo.json": {**base, "slos": [_slo(s) for s in status.slos]},
        "budget.json": {
            **base,
            "freeze_until": _instant(decision.control.freeze_until),
            "slos": [
                {
                    "slo": s.slo,
                    "objective": s.objective,
                    "period": s.period,
                    "error_budget": round(1 - s.objective, 12),
                    "consumed": s.budget.consumed,
                    "remaining": s.budget.remaining,
                }
                for s in status.slos
            ],
        },
        "proposal.json": {
            **base,
            "proposals": [p.model_dump(mode="json") for p in decision.proposals],
        },
        "README.md": readme(decision, status),
    }


def _instant(value: Any) -> str | None:
    return format_instant(value) if value is not None else None


def _slo(status: SLOStatus) -> dict[str, Any]:
    data = status.model_dump(mode="json", exclude={"service", "at"})
    return data


def _num(value: float | None, spec: str = ".2f") -> str:
    return "unknown" if value is None else format(value, spec)


def readme(decision: Decision, status: ServiceStatus) -> str:
    incident = decision.incident
    title = f"Incident {incident.id}" if incident else f"Decision for {decision.service}"
    lines = [
        f"# {title}: {decision.service} is {decision.severity}",
        "",
        f"Decided at {format_instant(decision.at)} by safedeploy reconcile.",
        "",
        "## What was seen",
        "",
        f"{decision.reason}",
        "",
        "| SLO | objective | window pair | burn rate long / short | threshold | state |",
        "|---|---|---|---|---|---|",
    ]
    for slo in status.slos:
        for alert in slo.alerts:
            lines.append(
                f"| {slo.slo} | {slo.objective:.3%} | {alert.windows} ({alert.severity}) | "
                f"{_num(alert.long_burn_rate)} / {_num(alert.short_burn_rate)} | "
                f"{alert.factor:g} | {alert.state} |"
            )
    lines += [
        "",
        "## Error budget",
        "",
        "| SLO | period | consumed | remaining |",
        "|---|---|---|---|",
    ]
    for slo in status.slos:
        lines.append(
            f"| {slo.slo} | {slo.period} | {_num(slo.budget.consumed, '.1%')} | "
            f"{_num(slo.budget.remaining, '.1%')} |"
        )
    lines += [
        "",
        "## Release policy",
        "",
        f"Decision: **{decision.verdict.decision}**: {decision.verdict.reason}",
        "",
    ]
    lines += [f"- {r.outcome.upper()} `{r.rule}`: {r.detail}" for r in decision.verdict.rules]
    if decision.control.freeze_until is not None:
        lines += ["", f"Release freeze until {format_instant(decision.control.freeze_until)}."]
    lines += ["", "## Proposed actions", ""]
    if not decision.proposals:
        lines.append("None.")
    for proposal in decision.proposals:
        lines.append(
            f"- `{proposal.id}` ({proposal.kind}, {proposal.status}): {proposal.reason}. "
            f"Approve with `safedeploy approve {proposal.id} --by <approver>`."
        )
    lines += [f"- note: {n}" for n in decision.notes]
    if incident is not None:
        lines += ["", "## Incident history", ""]
        lines += [
            f"- {format_instant(t.at)} {t.event}: {t.from_state or '-'} -> {t.to_state} "
            f"({t.severity}) by {t.actor}: {t.reason}"
            for t in incident.transitions
        ]
    lines += [
        "",
        f"Files: decision.json, slo.json, budget.json, proposal.json in "
        f"`{layout.incident_evidence(incident.id) if incident else layout.EVIDENCE + '/'}`.",
        "",
    ]
    return "\n".join(lines)


def resolution(incident: Incident) -> dict[str, Any] | None:
    """`resolution.json`: how the incident ended, once it is resolved; None before."""
    resolved = next((t for t in incident.transitions if t.to_state == "resolved"), None)
    if resolved is None:
        return None
    mitigated = next((t for t in incident.transitions if t.to_state == "mitigated"), None)
    postmortem = next(
        (t for t in incident.transitions if t.to_state == "postmortem-complete"), None
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "incident": incident.id,
        "service": incident.service,
        "state": incident.state,
        "severity": incident.severity,
        "opened_at": format_instant(incident.opened_at),
        "mitigated_at": format_instant(mitigated.at) if mitigated else None,
        "mitigated_by": mitigated.actor if mitigated else None,
        "resolved_at": format_instant(resolved.at),
        "resolved_by": resolved.actor,
        "reason": resolved.reason,
        "open_seconds": int((resolved.at - incident.opened_at).total_seconds()),
        "postmortem_completed_at": format_instant(postmortem.at) if postmortem else None,
        "postmortem": postmortem.reason if postmortem else None,
    }


def json_text(data: dict[str, Any]) -> str:
    """How every evidence JSON file is written: stable, readable in a pull request."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
