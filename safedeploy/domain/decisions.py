"""What reconcile decides for one service at one instant, as a pure function.

Inputs are the SLO evaluation, the active incident and its proposals, the control state and
the versions found in the environment repo; the output says what to write. Missing data
never opens, escalates or resolves an incident, and never produces a proposal.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.catalog import Service
from safedeploy.domain.control import ServiceControl, next_control
from safedeploy.domain.durations import parse_duration
from safedeploy.domain.incidents import (
    Incident,
    IncidentSeverity,
    next_state,
    open_incident,
)
from safedeploy.domain.policy import PolicyVerdict, RuleResult, freeze_after, promotion_verdict
from safedeploy.domain.proposals import (
    KINDS,
    PauseChange,
    Proposal,
    VersionChange,
    new_proposal,
)
from safedeploy.domain.slo import ServiceStatus

ACTOR = "safedeploy-reconcile"
BURNING: frozenset[str] = frozenset({"slow-burn", "fast-burn", "exhausted"})
ROLLBACK_ON: frozenset[str] = frozenset({"fast-burn", "exhausted"})

IncidentChange = Literal["opened", "escalated", "updated", "resolved"]


class Versions(BaseModel):
    """The target file's versions: what runs now and the last stable one before it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    current: str
    stable: str | None
    source: str


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    at: datetime
    severity: str
    reason: str
    incident: Incident | None
    incident_change: IncidentChange | None
    proposals: tuple[Proposal, ...]
    new_proposals: tuple[Proposal, ...]
    verdict: PolicyVerdict
    control: ServiceControl
    notes: tuple[str, ...]


def decide(
    service: Service,
    status: ServiceStatus,
    *,
    incident: Incident | None,
    proposals: tuple[Proposal, ...],
    control: ServiceControl,
    versions: Versions | str | None,
    at: datetime,
    extra_rules: tuple[RuleResult, ...] = (),
) -> Decision:
    """`versions` is None when no rollback is needed, a string when it could not be read.

    `extra_rules` are the team's policy-as-code verdicts, folded into the release verdict.
    """
    notes: list[str] = []
    severity = status.severity
    exhausted = any(s.severity == "exhausted" for s in status.slos)
    freeze_until = freeze_after(
        exhausted, control.freeze_until, at, parse_duration(service.spec.policy.freeze)
    )
    verdict = promotion_verdict(service, status, freeze_until, at, extra_rules)
    new_control = next_control(control, severity, freeze_until, at)

    change: IncidentChange | None = None
    if incident is not None and at < incident.updated_at:
        notes.append(f"{at.isoformat()} is before incident {incident.id}'s last change; left alone")
    elif severity in BURNING:
        incident, change = _open_or_escalate(incident, status, at)
    elif severity == "normal" and incident is not None and incident.state == "mitigated":
        incident, change = _maybe_resolve(service, incident, new_control, at)

    new: list[Proposal] = []
    if incident is not None and change != "resolved" and severity in BURNING:
        existing = {p.kind for p in proposals}
        if severity in ROLLBACK_ON and "rollback-rollout" not in existing:
            rollback = _rollback(service, incident, status, versions, at)
            if isinstance(rollback, str):
                notes.append(rollback)
            else:
                new.append(rollback)
        if verdict.decision == "RED" and "block-promotion" not in existing:
            new.append(_block(service, incident, verdict, at))
    return Decision(
        service=service.name,
        at=at,
        severity=severity,
        reason=status.reason,
        incident=incident,
        incident_change=change,
        proposals=_in_order((*proposals, *new)),
        new_proposals=tuple(new),
        verdict=verdict,
        control=new_control,
        notes=tuple(notes),
    )


def _in_order(proposals: tuple[Proposal, ...]) -> tuple[Proposal, ...]:
    """Oldest first, then by kind: the same order whether just made or read back from files,
    so a rerun renders and writes the same bytes."""
    return tuple(sorted(proposals, key=lambda p: (p.created_at, KINDS.index(p.kind))))


def needs_versions(status: ServiceStatus, proposals: tuple[Proposal, ...]) -> bool:
    """Whether the environment repo must be read: only to build a new rollback proposal."""
    if status.severity not in ROLLBACK_ON:
        return False
    return not any(p.kind == "rollback-rollout" for p in proposals)


def _open_or_escalate(
    incident: Incident | None, status: ServiceStatus, at: datetime
) -> tuple[Incident, IncidentChange | None]:
    severity: IncidentSeverity = _incident_severity(status.severity)
    slos = tuple(s.slo for s in status.slos if s.severity in BURNING)
    reason = status.reason
    if incident is None:
        return open_incident(status.service, severity, slos, at, actor=ACTOR, reason=reason), (
            "opened"
        )
    rank = ("slow-burn", "fast-burn", "exhausted")
    if rank.index(severity) > rank.index(incident.severity):
        escalated = next_state(
            incident, "escalate", at, ACTOR, reason, severity=severity, slos=slos
        )
        return escalated, "escalated"
    updated = next_state(incident, "update", at, ACTOR, reason, slos=slos)
    return updated, ("updated" if updated != incident else None)


def _incident_severity(severity: str) -> IncidentSeverity:
    if severity == "exhausted":
        return "exhausted"
    if severity == "fast-burn":
        return "fast-burn"
    return "slow-burn"


def _maybe_resolve(
    service: Service, incident: Incident, control: ServiceControl, at: datetime
) -> tuple[Incident, IncidentChange | None]:
    stable = timedelta(seconds=parse_duration(service.spec.policy.stable_period))
    if control.normal_since is None or at - control.normal_since < stable:
        return incident, None
    reason = (
        f"every SLO normal since {control.normal_since.isoformat()} "
        f"(stable period {service.spec.policy.stable_period})"
    )
    return next_state(incident, "resolve", at, ACTOR, reason), "resolved"


def _rollback(
    service: Service,
    incident: Incident,
    status: ServiceStatus,
    versions: Versions | str | None,
    at: datetime,
) -> Proposal | str:
    if versions is None or isinstance(versions, str):
        why = versions or "the environment repo was not read"
        return f"rollback not proposed: cannot resolve the last stable version: {why}"
    if versions.stable is None or versions.stable == versions.current:
        return (
            f"rollback not proposed: {service.spec.target.path} has no earlier version than "
            f"{versions.current} in {versions.source}"
        )
    target = service.spec.target
    return new_proposal(
        "rollback-rollout",
        service.name,
        incident.id,
        VersionChange(
            path=target.path,
            kind=target.kind,
            from_version=versions.current,
            to_version=versions.stable,
        ),
        rule=_rollback_rule(status),
        reason=f"{status.reason}; roll {versions.current} back to {versions.stable}",
        at=at,
    )


def _rollback_rule(status: ServiceStatus) -> str:
    for slo in status.slos:
        if slo.severity == "exhausted":
            return f"budget-exhausted ({slo.slo})"
        fired = [a for a in slo.alerts if a.state == "breached" and a.severity == "fast-burn"]
        if fired:
            return f"fast-burn {fired[0].windows} over {fired[0].factor:g} ({slo.slo})"
    return status.severity


def _block(service: Service, incident: Incident, verdict: PolicyVerdict, at: datetime) -> Proposal:
    first = verdict.failed[0]
    return new_proposal(
        "block-promotion",
        service.name,
        incident.id,
        PauseChange(),
        rule=first.rule,
        reason="; ".join(f"{r.rule}: {r.detail}" for r in verdict.failed),
        at=at,
    )
