"""What reconcile decides for one service at one instant, as a pure function.

Inputs are the SLO evaluation, the active incident and its proposals, the control state and
the versions found in the environment repo; the output says what to write. Missing data
never opens, escalates or resolves an incident, and never produces a proposal.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.canary import CanaryVerdict
from safedeploy.domain.catalog import Service
from safedeploy.domain.control import ServiceControl, next_control
from safedeploy.domain.durations import parse_duration
from safedeploy.domain.incidents import Incident, next_state, open_incident
from safedeploy.domain.instants import format_instant
from safedeploy.domain.policy import (
    CANARY_RULE,
    PolicyVerdict,
    RuleResult,
    next_freeze,
    release_verdict,
)
from safedeploy.domain.proposals import (
    KINDS,
    PauseChange,
    Proposal,
    ProposalKind,
    VersionChange,
    new_proposal,
    release_id,
)
from safedeploy.domain.severity import (
    BURNING,
    ROLLBACK_ON,
    IncidentSeverity,
    Severity,
    is_burning,
    rank,
)
from safedeploy.domain.slo import ServiceStatus
from safedeploy.domain.stable_versions import ServiceRecord, rollback_target
from safedeploy.domain.versions import Versions, VersionsFound

ACTOR = "safedeploy-reconcile"

IncidentChange = Literal["opened", "escalated", "updated", "resolved", "mitigation-failed"]


class Refusal(BaseModel):
    """A proposal that was not made because its change cannot be applied to the file now."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ProposalKind
    reason: str
    # The environment repo could not be read (exit 3), rather than the file refusing (2).
    undecided: bool = False


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    at: datetime
    severity: Severity
    reason: str
    incident: Incident | None
    incident_change: IncidentChange | None
    proposals: tuple[Proposal, ...]
    new_proposals: tuple[Proposal, ...]
    verdict: PolicyVerdict
    control: ServiceControl
    notes: tuple[str, ...]
    # Why something this decision needed could not be known (the environment repo could
    # not be read for a rollback): the run then could not decide (exit 3).
    undecided: str | None = None
    # Proposals not made because the target file refuses their change (exit 2).
    refused: tuple[Refusal, ...] = ()


def decide(
    service: Service,
    status: ServiceStatus,
    *,
    incident: Incident | None,
    proposals: tuple[Proposal, ...],
    control: ServiceControl,
    versions: VersionsFound | None,
    at: datetime,
    extra_rules: tuple[RuleResult, ...] = (),
    canary: CanaryVerdict | None = None,
    release_proposals: tuple[Proposal, ...] = (),
    record: ServiceRecord | None = None,
) -> Decision:
    """`versions` is None when no rollback is needed (see `needs_versions`).

    `extra_rules` are the team's policy-as-code verdicts, folded into the release verdict.
    `canary` is the verdict on a canary in progress; `release_proposals` those already made
    for that canary's release. `record` holds every incident and proposal of the service,
    from which the rollback target is chosen, and whose incident ids a new one never reuses.
    """
    notes: list[str] = []
    known = record or ServiceRecord()
    taken = frozenset(i.id for i in known.incidents)
    burn = _burn(status, canary)
    severity, reason = burn.severity, burn.reason
    freeze_until = next_freeze(service, status, control.freeze_until, at)
    verdict = release_verdict(
        service,
        status,
        current_freeze=control.freeze_until,
        at=at,
        denials=extra_rules,
        canary=canary,
    )
    new_control = next_control(control, _streak_severity(severity, status), freeze_until, at)

    change: IncidentChange | None = None
    if incident is not None and at < incident.updated_at:
        notes.append(f"{at.isoformat()} is before incident {incident.id}'s last change; left alone")
    elif incident is not None and _mitigation_timed_out(service, incident, status, at):
        # Back to a person, and the burn recorded as any other, so a rerun changes nothing.
        failed = _mitigation_failed(service, incident, at)
        incident, _ = _open_or_escalate(failed, burn, status.service, at, taken)
        change = "mitigation-failed"
    elif severity in BURNING:
        incident, change = _open_or_escalate(incident, burn, status.service, at, taken)
    elif severity == "normal" and incident is not None and incident.state == "mitigated":
        incident, change = _maybe_resolve(service, incident, new_control, at)

    new: list[Proposal] = []
    undecided: str | None = None
    if incident is not None and change != "resolved" and severity in BURNING:
        existing = {p.kind for p in proposals}
        if severity in ROLLBACK_ON and "rollback-rollout" not in existing:
            rollback = _rollback(service, incident, burn, versions, record=known, at=at)
            if isinstance(rollback, Proposal):
                new.append(rollback)
            else:
                notes.append(rollback.note)
                undecided = rollback.note if rollback.undecided else None
        if verdict.decision == "RED" and "block-promotion" not in existing:
            if service.spec.target.pausable:
                new.append(_block(service, incident, verdict, at))
            else:
                notes.append(_no_pause(service))
    promotion = _promotion(
        service,
        incident,
        verdict=verdict,
        canary=canary,
        release_proposals=release_proposals,
        at=at,
    )
    if promotion is not None:
        new.append(promotion)
    return Decision(
        service=service.name,
        at=at,
        severity=severity,
        reason=reason,
        incident=incident,
        incident_change=change,
        proposals=in_order((*proposals, *release_proposals, *new)),
        new_proposals=tuple(new),
        verdict=verdict,
        control=new_control,
        notes=tuple(notes),
        undecided=undecided,
    )


def in_order(proposals: tuple[Proposal, ...]) -> tuple[Proposal, ...]:
    """Oldest first, then by kind: the same order whether just made or read back from files,
    so a rerun renders and writes the same bytes."""
    return tuple(sorted(proposals, key=lambda p: (p.created_at, KINDS.index(p.kind))))


def needs_versions(status: ServiceStatus, proposals: tuple[Proposal, ...]) -> bool:
    """Whether the environment repo must be read: only to build a new rollback proposal."""
    if status.severity not in ROLLBACK_ON:
        return False
    return not any(p.kind == "rollback-rollout" for p in proposals)


class Burn(BaseModel):
    """What drives the incident: the SLOs, or a failing canary when they have not caught up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Severity
    reason: str
    slos: tuple[str, ...]
    rule: str


def _burn(status: ServiceStatus, canary: CanaryVerdict | None) -> Burn:
    slos = tuple(s.slo for s in status.slos if s.severity in BURNING)
    if canary is not None and canary.state == "failing" and status.severity not in ROLLBACK_ON:
        # A canary takes a fifth of the traffic: its errors reach the service's SLOs only
        # diluted, and later. Its own error ratio is the earlier, sharper signal.
        availability = next((s.slo for s in status.slos if s.kind == "availability"), "canary")
        return Burn(
            severity="fast-burn",
            reason=canary.detail,
            slos=tuple(sorted({*slos, availability})),
            rule=CANARY_RULE,
        )
    return Burn(
        severity=status.severity, reason=status.reason, slos=slos, rule=_rollback_rule(status)
    )


def _streak_severity(severity: Severity, status: ServiceStatus) -> Severity:
    """The stable streak that resolves incidents counts only when nothing burns at all."""
    return status.severity if severity == status.severity else "fast-burn"


def _promotion(
    service: Service,
    incident: Incident | None,
    *,
    verdict: PolicyVerdict,
    canary: CanaryVerdict | None,
    release_proposals: tuple[Proposal, ...],
    at: datetime,
) -> Proposal | None:
    """Promote a healthy canary when every release rule passes and nothing is burning."""
    if canary is None or canary.state != "healthy" or verdict.decision != "GREEN":
        return None
    if incident is not None or any(p.kind == "promote-canary" for p in release_proposals):
        return None
    target = service.spec.target
    return new_proposal(
        "promote-canary",
        service.name,
        release_id(service.name, canary.canary_version),
        VersionChange(
            path=target.path,
            kind=target.kind,
            from_version=canary.stable_version,
            to_version=canary.canary_version,
        ),
        rule=CANARY_RULE,
        reason=f"{canary.detail}; {verdict.reason}",
        at=at,
    )


def _open_or_escalate(
    incident: Incident | None, burn: Burn, service: str, at: datetime, taken: frozenset[str]
) -> tuple[Incident, IncidentChange | None]:
    severity: IncidentSeverity = _incident_severity(burn.severity)
    slos = burn.slos
    reason = burn.reason
    if incident is None:
        opened = open_incident(service, severity, slos, at, actor=ACTOR, reason=reason, taken=taken)
        return opened, "opened"
    if rank(severity) > rank(incident.severity):
        escalated = next_state(
            incident, "escalate", at, ACTOR, reason, severity=severity, slos=slos
        )
        return escalated, "escalated"
    updated = next_state(incident, "update", at, ACTOR, reason, slos=slos)
    return updated, ("updated" if updated != incident else None)


def _still_burning(status: ServiceStatus) -> bool:
    """A fast-burn alert fires now: its short window (at most 30m by default) has seen the
    errors go on since the change. An exhausted budget stays exhausted long after a fix,
    and slow-burn windows lag by hours, so neither says a merged rollback did not help."""
    return any(
        a.state == "breached" and a.severity == "fast-burn" for s in status.slos for a in s.alerts
    )


def _mitigated_at(incident: Incident) -> datetime | None:
    return next((t.at for t in reversed(incident.transitions) if t.to_state == "mitigated"), None)


def _mitigation_timed_out(
    service: Service, incident: Incident, status: ServiceStatus, at: datetime
) -> bool:
    """Mitigated for `policy.mitigation_timeout` and still burning fast: it did not help."""
    since = _mitigated_at(incident)
    if incident.state != "mitigated" or since is None or not _still_burning(status):
        return False
    timeout = timedelta(seconds=parse_duration(service.spec.policy.mitigation_timeout))
    return at - since >= timeout


def _mitigation_failed(service: Service, incident: Incident, at: datetime) -> Incident:
    since = _mitigated_at(incident)
    assert since is not None  # checked by _mitigation_timed_out
    reason = (
        f"still burning fast {service.spec.policy.mitigation_timeout} after it was mitigated "
        f"at {format_instant(since)}: the mitigation did not help; escalated to a person"
    )
    return next_state(incident, "mitigation-failed", at, ACTOR, reason)


def _incident_severity(severity: Severity) -> IncidentSeverity:
    return severity if is_burning(severity) else "slow-burn"


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
    burn: Burn,
    versions: VersionsFound | None,
    *,
    record: ServiceRecord,
    at: datetime,
) -> Proposal | NoRollback:
    if not isinstance(versions, Versions):
        why = versions.reason if versions is not None else "the environment repo was not read"
        return NoRollback(
            note=f"rollback not proposed: cannot resolve the last stable version: {why}",
            undecided=True,
        )
    target = service.spec.target
    chosen = rollback_target(versions.history, record)
    if isinstance(chosen, str):
        return NoRollback(
            note=f"rollback not proposed: {target.path} in {versions.source}: {chosen}",
            undecided=False,
        )
    return new_proposal(
        "rollback-rollout",
        service.name,
        incident.id,
        VersionChange(
            path=target.path,
            kind=target.kind,
            from_version=versions.current,
            to_version=chosen.version,
            chosen=chosen,
        ),
        rule=burn.rule,
        reason=f"{burn.reason}; roll {versions.current} back to {chosen.version}, which "
        f"{chosen.reason}",
        at=at,
    )


class NoRollback(BaseModel):
    """Why no rollback was proposed; `undecided` when the reason is something unread."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str
    undecided: bool


def _no_pause(service: Service) -> str:
    return (
        f"promotion blocked (the gate says no); block-promotion not proposed: a "
        f"{service.spec.target.kind} target has no pause safedeploy can write, only a Rollout"
    )


def without_refused(decision: Decision, refused: dict[str, Refusal]) -> Decision:
    """The decision without the proposals whose change cannot be applied, saying why."""
    if not refused:
        return decision
    kept = tuple(p for p in decision.new_proposals if p.id not in refused)
    notes = [f"{r.kind} not proposed: {r.reason}" for r in refused.values()]
    return decision.model_copy(
        update={
            "new_proposals": kept,
            "proposals": tuple(p for p in decision.proposals if p.id not in refused),
            "notes": (*decision.notes, *notes),
            "refused": (*decision.refused, *refused.values()),
        }
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
