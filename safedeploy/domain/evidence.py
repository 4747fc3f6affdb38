"""The evidence folder of an incident or a release: what a reviewer reads in a pull request.

`evidence/incident-<id>/` (or `evidence/release-<release>/`) holds decision.json, slo.json,
budget.json, proposal.json, approval.json, resolution.json, the charts (`chart-*.svg`, see
`chart_series`) and a README.md that puts what was seen, the rule that fired and the
numbers beside their thresholds, and shows the charts inline. Each JSON document
is a model here, the one definition its writer (reconcile, approve, a transition) and its
readers (approve's pull request, explain) share.

The models read leniently: fields a newer version adds are ignored and fields a document
lacks take a default, so an old or hand-trimmed folder is still explained as far as it
goes instead of refusing the whole of it. They are always written whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from safedeploy.domain import layout
from safedeploy.domain.chart_series import chart_links
from safedeploy.domain.decisions import Decision
from safedeploy.domain.evidence_status import status_block
from safedeploy.domain.incidents import Incident, UtcDatetime
from safedeploy.domain.instants import format_instant
from safedeploy.domain.policy import CANARY_RULE, PolicyVerdict
from safedeploy.domain.proposals import Proposal
from safedeploy.domain.slo import ServiceStatus, SLOStatus, error_budget

SCHEMA_VERSION = 1


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class EvidenceDocument(_Part):
    schema_version: int = SCHEMA_VERSION


class _About(EvidenceDocument):
    """What every reconcile document starts with: whose decision, and when."""

    service: str | None = None
    at: UtcDatetime | None = None


class AlertRowFigures(_Part):
    severity: str = "?"
    windows: str = "?"
    factor: float | None = None
    long_burn_rate: float | None = None
    short_burn_rate: float | None = None
    state: str | None = None


class _OfSLO(_Part):
    slo: str = "?"


class FiredAlert(AlertRowFigures, _OfSLO):
    """A burn-rate row that fired (both of its windows over the factor), with its SLO first."""


class RuleLine(_Part):
    rule: str = "?"
    outcome: str = "?"
    detail: str = ""
    value: float | None = None
    threshold: float | None = None


class PolicyLines(_Part):
    """The release verdict as decision.json records it."""

    service: str | None = None
    at: UtcDatetime | None = None
    decision: str | None = None
    reason: str | None = None
    rules: tuple[RuleLine, ...] = ()


class DecisionDoc(_About):
    """`decision.json`: the severity, the alerts that fired, the release verdict."""

    incident: str | None = None
    incident_state: str | None = None
    incident_change: str | None = None
    severity: str | None = None
    reason: str | None = None
    alerts_fired: tuple[FiredAlert, ...] = ()
    policy: PolicyLines | None = None
    freeze_until: UtcDatetime | None = None
    proposals: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


class WindowFigures(_Part):
    total: float | None = None
    errors: float | None = None
    sli: float | None = None
    error_ratio: float | None = None
    burn_rate: float | None = None
    reason: str | None = None
    cause: str | None = None


class BudgetFigures(_Part):
    consumed: float | None = None
    remaining: float | None = None


class SLOFigures(_Part):
    slo: str = "?"
    kind: str | None = None
    objective: float | None = None
    period: str | None = None
    severity: str | None = None
    reason: str | None = None
    budget: BudgetFigures = BudgetFigures()
    windows: dict[str, WindowFigures] = Field(default_factory=dict)
    alerts: tuple[AlertRowFigures, ...] = ()


class SLODoc(_About):
    """`slo.json`: every SLO's windows (SLI, error ratio, burn rate, events) and budget."""

    slos: tuple[SLOFigures, ...] = ()


class BudgetLine(_Part):
    slo: str = "?"
    objective: float | None = None
    period: str | None = None
    error_budget: float | None = None
    consumed: float | None = None
    remaining: float | None = None


class BudgetDoc(_About):
    """`budget.json`: each SLO's error budget over its period, and the freeze."""

    freeze_until: UtcDatetime | None = None
    slos: tuple[BudgetLine, ...] = ()


class ProposalDoc(_About):
    """`proposal.json`: the proposals of the decision, as their files held them."""

    proposals: tuple[Proposal, ...] = ()


class ApprovalDoc(EvidenceDocument):
    """`approval.json`: what the approval did (branch, commit, pull request) or why it
    failed."""

    proposal: str = "?"
    incident: str | None = None
    release: str | None = None
    service: str | None = None
    kind: str | None = None
    status: str | None = None
    # Who, when and which branch: without them a record says nothing about an approval.
    by: str
    at: UtcDatetime
    remote: str | None = None
    base: str | None = None
    branch: str
    path: str | None = None
    commit: str | None = None
    pr_url: str | None = None
    error: str | None = None
    # How `by` was established, or "identity not verified".
    identity: str | None = None
    pr_number: int | None = None
    # Once reconcile sees the change on the default branch: the commit that put it there
    # and when; or when its pull request was closed unmerged.
    merge_commit: str | None = None
    merged_at: UtcDatetime | None = None
    closed_at: UtcDatetime | None = None


class ResolutionDoc(EvidenceDocument):
    """`resolution.json`: how the incident ended."""

    incident: str
    service: str
    state: str
    severity: str
    opened_at: UtcDatetime
    mitigated_at: UtcDatetime | None
    mitigated_by: str | None
    resolved_at: UtcDatetime
    resolved_by: str
    reason: str
    open_seconds: int
    postmortem_completed_at: UtcDatetime | None
    postmortem: str | None


# Each JSON document of a folder and its model, in the order a reviewer reads them.
DOCUMENTS: Mapping[str, type[EvidenceDocument]] = {
    layout.DECISION_DOC: DecisionDoc,
    layout.SLO_DOC: SLODoc,
    layout.BUDGET_DOC: BudgetDoc,
    layout.PROPOSAL_DOC: ProposalDoc,
    layout.APPROVAL_DOC: ApprovalDoc,
    layout.RESOLUTION_DOC: ResolutionDoc,
}


class Problem(_Part):
    """A document of the folder that could not be read: named, never fatal."""

    name: str
    reason: Literal["not valid JSON", "not readable", "not a valid document"]
    detail: str = ""


class EvidenceFolder(_Part):
    """An evidence folder as read from disk: each document parsed, or the problem with it."""

    folder: str = Field(description="Relative to the state directory, with a trailing '/'.")
    exists: bool = True
    files: tuple[str, ...] = ()
    readme: str | None = None
    decision: DecisionDoc | None = None
    slo: SLODoc | None = None
    budget: BudgetDoc | None = None
    proposal: ProposalDoc | None = None
    approval: ApprovalDoc | None = None
    resolution: ResolutionDoc | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def documents(self) -> tuple[str, ...]:
        """The names of the JSON documents that were read."""
        return tuple(
            name for name, doc in zip(DOCUMENTS, self._docs(), strict=True) if doc is not None
        )

    def _docs(self) -> tuple[EvidenceDocument | None, ...]:
        return (
            self.decision,
            self.slo,
            self.budget,
            self.proposal,
            self.approval,
            self.resolution,
        )

    def burn_rates(self) -> tuple[tuple[str, float], ...]:
        """`("availability 1h", 20.5)` for every window slo.json measured a burn rate in."""
        if self.slo is None:
            return ()
        return tuple(
            (f"{s.slo} {window}", figures.burn_rate)
            for s in self.slo.slos
            for window, figures in s.windows.items()
            if figures.burn_rate is not None
        )

    def budget_remaining(self) -> tuple[tuple[str, float], ...]:
        """Each SLO's budget left, from slo.json or else budget.json."""
        found: dict[str, float] = {}
        for s in self.slo.slos if self.slo is not None else ():
            if s.budget.remaining is not None:
                found.setdefault(s.slo, s.budget.remaining)
        for line in self.budget.slos if self.budget is not None else ():
            if line.remaining is not None:
                found.setdefault(line.slo, line.remaining)
        return tuple(found.items())


def evidence_folders(decision: Decision) -> list[str]:
    """The folders a decision writes: its new proposals', and its incident's on a change."""
    folders = {p.evidence_dir for p in decision.new_proposals}
    if decision.incident is not None and decision.incident_change:
        folders.add(layout.incident_evidence(decision.incident.id))
    return sorted(folders)


def documents(decision: Decision, status: ServiceStatus) -> dict[str, EvidenceDocument | str]:
    """What reconcile writes into a folder: file name -> document, or README text."""
    about = {"service": decision.service, "at": decision.at}
    return {
        layout.DECISION_DOC: DecisionDoc(
            **about,
            incident=decision.incident.id if decision.incident else None,
            incident_state=decision.incident.state if decision.incident else None,
            incident_change=decision.incident_change,
            severity=decision.severity,
            reason=decision.reason,
            alerts_fired=tuple(
                FiredAlert(slo=s.slo, **a.model_dump())
                for s in status.slos
                for a in s.alerts
                if a.state == "breached"
            ),
            policy=_policy(decision.verdict),
            freeze_until=decision.control.freeze_until,
            proposals=tuple(p.id for p in decision.proposals),
            notes=decision.notes,
        ),
        layout.SLO_DOC: SLODoc(**about, slos=tuple(_slo(s) for s in status.slos)),
        layout.BUDGET_DOC: BudgetDoc(
            **about,
            freeze_until=decision.control.freeze_until,
            slos=tuple(
                BudgetLine(
                    slo=s.slo,
                    objective=s.objective,
                    period=s.period,
                    error_budget=error_budget(s.objective),
                    consumed=s.budget.consumed,
                    remaining=s.budget.remaining,
                )
                for s in status.slos
            ),
        ),
        layout.PROPOSAL_DOC: ProposalDoc(**about, proposals=decision.proposals),
        layout.README_DOC: readme(decision, status),
    }


def _policy(verdict: PolicyVerdict) -> PolicyLines:
    return PolicyLines.model_validate(verdict.model_dump())


def _slo(status: SLOStatus) -> SLOFigures:
    return SLOFigures.model_validate(status.model_dump(exclude={"service", "at"}))


def document_text(document: EvidenceDocument | str) -> str:
    """How every evidence file is written: stable JSON, readable in a pull request."""
    if isinstance(document, str):
        return document
    return json_text(document.model_dump(mode="json"))


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
        # What changes after this decision (approvals, merges, the incident's state) is
        # in this block alone, which those later steps rewrite.
        status_block(incident, decision.proposals),
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
    if decision.notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in decision.notes)]
    lines += _charts(decision, status)
    lines += [
        "",
        f"Files: decision.json, slo.json, budget.json, proposal.json in "
        f"`{layout.incident_evidence(incident.id) if incident else layout.EVIDENCE + '/'}`.",
        "",
    ]
    return "\n".join(lines)


def _charts(decision: Decision, status: ServiceStatus) -> list[str]:
    canary = any(r.rule == CANARY_RULE for r in decision.verdict.rules)
    lines = [
        "",
        "## Charts",
        "",
        f"Each chart ends at {format_instant(decision.at)}, drawn from the measurements "
        "behind this decision.",
    ]
    for file, title in chart_links(status, canary):
        lines += ["", f"![{title}]({file})"]
    return lines


def resolution(incident: Incident) -> ResolutionDoc | None:
    """`resolution.json`: how the incident ended, once it is resolved; None before."""
    resolved = next((t for t in incident.transitions if t.to_state == "resolved"), None)
    if resolved is None:
        return None
    mitigated = next((t for t in incident.transitions if t.to_state == "mitigated"), None)
    postmortem = next(
        (t for t in incident.transitions if t.to_state == "postmortem-complete"), None
    )
    return ResolutionDoc(
        incident=incident.id,
        service=incident.service,
        state=incident.state,
        severity=incident.severity,
        opened_at=incident.opened_at,
        mitigated_at=mitigated.at if mitigated else None,
        mitigated_by=mitigated.actor if mitigated else None,
        resolved_at=resolved.at,
        resolved_by=resolved.actor,
        reason=resolved.reason,
        open_seconds=int((resolved.at - incident.opened_at).total_seconds()),
        postmortem_completed_at=postmortem.at if postmortem else None,
        postmortem=postmortem.reason if postmortem else None,
    )


def json_text(data: Mapping[str, Any]) -> str:
    """Stable, readable JSON: the form of every evidence and control file."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
