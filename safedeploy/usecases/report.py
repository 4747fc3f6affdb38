"""`safedeploy report`: every service at a glance, from the summary reconcile leaves behind.

No metrics source is queried and no history is read: the report loads
`control-plane/state/summary.json` and only the incident and proposal files it names, so
its cost grows with the number of services, never with the number of incidents or audit
lines. Proposals are re-read because an approval may have moved them since reconcile.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.incidents import is_safe_id
from safedeploy.domain.severity import Severity
from safedeploy.domain.summary import OPEN_STATUSES, ServiceSummary
from safedeploy.errors import EXIT_BAD_INPUT, EXIT_OK, BadInputError, CannotDecideError
from safedeploy.usecases.context import Context


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReportSLO(_Frozen):
    slo: str
    objective: float
    period: str
    severity: Severity
    reason: str
    budget_remaining: float | None = Field(description="Share of the error budget left.")
    burn_rates: dict[str, float | None] = Field(description="Burn rate per window.")


class ReportProposal(_Frozen):
    """A proposal the summary named, with its status as the file says now."""

    id: str
    kind: str | None = Field(description="None when the proposal file is missing.")
    status: str | None
    rule: str | None = None
    pr_url: str | None = None


class ReportService(_Frozen):
    service: str
    owner: str
    evaluated_at: datetime
    severity: Severity
    reason: str
    decision: Literal["GREEN", "RED", "UNKNOWN"]
    decision_reason: str = Field(description="The release rule that decided, with its numbers.")
    budget_remaining: float | None = Field(description="The tightest SLO's budget left.")
    incident: str | None
    incident_state: str | None
    proposals: list[str] = Field(description="Proposals still open (proposed or failed).")
    proposal_details: list[ReportProposal]
    freeze_until: datetime | None
    slos: list[ReportSLO]
    stale: str | None = Field(
        default=None,
        description="Set when the service file is invalid: this is its last decision (or "
        "none), not the last run's, and why.",
    )


class Report(_Frozen):
    """`safedeploy report --format json`."""

    at: datetime | None = Field(description="When reconcile last wrote the summary.")
    services: list[ReportService]

    @property
    def exit_code(self) -> int:
        """2 while any service file is invalid (its entry is stale), else 0."""
        return EXIT_BAD_INPUT if any(s.stale for s in self.services) else EXIT_OK


def report(ctx: Context) -> Report:
    store = ctx.store
    summary = store.get_summary()
    if summary is None:
        raise CannotDecideError(
            f"{layout.SUMMARY}: no summary yet; "
            "run `safedeploy reconcile` first to evaluate services"
        )
    return Report(at=summary.at, services=[_service(store, s) for s in summary.services])


def _service(store: StateStore, entry: ServiceSummary) -> ReportService:
    details = [_proposal(store, pid) for pid in entry.proposals]
    return ReportService(
        service=entry.service,
        owner=entry.owner,
        evaluated_at=entry.at,
        severity=entry.severity,
        reason=entry.reason,
        decision=entry.decision,
        decision_reason=entry.decision_reason,
        budget_remaining=entry.budget_remaining,
        incident=entry.incident,
        incident_state=_incident_state(store, entry),
        proposals=[d.id for d in details if d.status in OPEN_STATUSES],
        proposal_details=details,
        freeze_until=entry.freeze_until,
        slos=[ReportSLO.model_validate(s.model_dump()) for s in entry.slos],
        stale=entry.error,
    )


def _incident_state(store: StateStore, entry: ServiceSummary) -> str | None:
    """The incident file's state (a human may have moved it); the summary's if unreadable."""
    if entry.incident is None or not is_safe_id(entry.incident):
        return entry.incident_state
    try:
        incident = store.get_incident(entry.incident)
    except BadInputError:
        return entry.incident_state
    return incident.state if incident is not None else entry.incident_state


def _proposal(store: StateStore, proposal_id: str) -> ReportProposal:
    if not is_safe_id(proposal_id):
        return ReportProposal(id=proposal_id, kind=None, status=None)
    try:
        found = store.get_proposal(proposal_id)
    except BadInputError:
        found = None
    if found is None:
        return ReportProposal(id=proposal_id, kind=None, status=None)
    return ReportProposal(
        id=found.id,
        kind=found.kind,
        status=found.status,
        rule=found.rule,
        pr_url=found.approval.pr_url if found.approval else None,
    )
