"""The per-service summary reconcile leaves behind, so `report` never re-reads history.

One small file (`control-plane/state/summary.json`) holds the latest decision of every
service; report, gate and dashboards read it instead of thousands of incident files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.catalog import BrokenService, Service
from safedeploy.domain.decisions import Decision
from safedeploy.domain.incidents import is_active
from safedeploy.domain.severity import Severity
from safedeploy.domain.slo import ServiceStatus

OPEN_STATUSES = ("proposed", "failed")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SLOSummary(_Frozen):
    slo: str
    objective: float
    period: str
    severity: Severity
    reason: str
    budget_remaining: float | None
    burn_rates: dict[str, float | None]


class ServiceSummary(_Frozen):
    service: str
    owner: str
    at: datetime
    severity: Severity
    reason: str
    decision: Literal["GREEN", "RED", "UNKNOWN"]
    decision_reason: str
    budget_remaining: float | None
    incident: str | None
    incident_state: str | None
    proposals: tuple[str, ...]
    freeze_until: datetime | None
    slos: tuple[SLOSummary, ...]
    # Set while the service's file is invalid: the entry is the last one decided (or a
    # placeholder), kept so report says it is stale and why instead of dropping it.
    error: str | None = None


class Summary(_Frozen):
    schema_version: Literal[1] = 1
    at: datetime | None = None
    services: tuple[ServiceSummary, ...] = ()


def service_summary(service: Service, decision: Decision, status: ServiceStatus) -> ServiceSummary:
    remaining = [s.budget.remaining for s in status.slos]
    known = [r for r in remaining if r is not None]
    # Only an open incident is the service's current one: the run that resolves an incident
    # and every later run at that instant write the same summary.
    incident = decision.incident if decision.incident and is_active(decision.incident) else None
    closed = decision.incident is not None and incident is None
    return ServiceSummary(
        service=service.name,
        owner=service.metadata.owner,
        at=decision.at,
        severity=decision.severity,
        reason=decision.reason,
        decision=decision.verdict.decision,
        decision_reason=decision.verdict.reason,
        # The tightest SLO decides; unknown when any SLO's budget is unknown.
        budget_remaining=min(known) if known and len(known) == len(remaining) else None,
        incident=incident.id if incident else None,
        incident_state=incident.state if incident else None,
        proposals=tuple(
            p.id for p in decision.proposals if p.status in OPEN_STATUSES and not closed
        ),
        freeze_until=decision.control.freeze_until,
        slos=tuple(
            SLOSummary(
                slo=s.slo,
                objective=s.objective,
                period=s.period,
                severity=s.severity,
                reason=s.reason,
                budget_remaining=s.budget.remaining,
                burn_rates={w: v.burn_rate for w, v in s.windows.items()},
            )
            for s in status.slos
        ),
    )


def broken_summary(
    previous: ServiceSummary | None, broken: BrokenService, at: datetime
) -> ServiceSummary:
    """The entry of a service whose file did not load: its last decision marked stale with
    the file's first violation, or, never decided, unknown."""
    more = len(broken.violations) - 1
    error = broken.violations[0] + (f" (and {more} more)" if more else "")
    if previous is not None:
        return previous.model_copy(update={"error": error})
    return ServiceSummary(
        service=broken.name,
        owner="",
        at=at,
        severity="unknown",
        reason="service file invalid, never decided",
        decision="UNKNOWN",
        decision_reason="service file invalid",
        budget_remaining=None,
        incident=None,
        incident_state=None,
        proposals=(),
        freeze_until=None,
        slos=(),
        error=error,
    )


def merged(
    previous: Summary, fresh: list[ServiceSummary], catalog: frozenset[str], at: datetime
) -> Summary:
    """The fresh entries replace old ones; services gone from the catalog drop out."""
    by_name = {s.service: s for s in previous.services if s.service in catalog}
    by_name.update({s.service: s for s in fresh})
    return Summary(at=at, services=tuple(by_name[name] for name in sorted(by_name)))
