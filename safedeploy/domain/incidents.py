"""Incidents as a table-driven state machine.

An incident is reconstructed from its transitions alone, so every change, including a
severity change that keeps the state, is recorded as a timestamped transition with an
actor and a reason. Nothing here reads the clock or touches files.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated, Final, Literal, Self, get_args

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, model_validator

from safedeploy.domain.severity import IncidentSeverity, rank
from safedeploy.errors import BadInputError, IllegalTransitionError

SCHEMA_VERSION: Final = 1

IncidentState = Literal["detected", "investigating", "mitigated", "resolved", "postmortem-complete"]
IncidentEvent = Literal[
    "open",
    "acknowledge",
    "mitigate",
    "resolve",
    "complete-postmortem",
    "escalate",
    "update",
    # An approved rollback waits in a pull request: recorded, the state kept.
    "propose-rollback",
    # The rollback was closed unmerged, or merged and the service still burns.
    "mitigation-failed",
]

STATES: tuple[IncidentState, ...] = get_args(IncidentState)
EVENTS: tuple[IncidentEvent, ...] = get_args(IncidentEvent)
ACTIVE_STATES: frozenset[IncidentState] = frozenset({"detected", "investigating", "mitigated"})

# Every legal edge, and nothing else. "open" has no row: it creates an incident rather than
# moving one. `escalate` and `update` keep the state and exist so that a severity change
# lands in the history instead of silently overwriting a field.
TRANSITIONS: dict[tuple[IncidentState, IncidentEvent], IncidentState] = {
    ("detected", "acknowledge"): "investigating",
    # An approved rollback may land before anyone acknowledged the page.
    ("detected", "mitigate"): "mitigated",
    ("investigating", "mitigate"): "mitigated",
    ("mitigated", "resolve"): "resolved",
    ("resolved", "complete-postmortem"): "postmortem-complete",
    ("detected", "escalate"): "detected",
    ("investigating", "escalate"): "investigating",
    ("mitigated", "escalate"): "mitigated",
    ("detected", "update"): "detected",
    ("investigating", "update"): "investigating",
    ("mitigated", "update"): "mitigated",
    ("detected", "propose-rollback"): "detected",
    ("investigating", "propose-rollback"): "investigating",
    ("detected", "mitigation-failed"): "investigating",
    ("investigating", "mitigation-failed"): "investigating",
    ("mitigated", "mitigation-failed"): "investigating",
}

# Ids become file names; a single lowercase charset without dots rules out path
# separators, "..", hidden files and case-folding collisions on macOS in one check.
SAFE_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,198}[a-z0-9])?$")
SERVICE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# The opening instant's minute (older files) or second, then a sequence number from 2 on
# when an incident of the service was already opened in that second.
_STAMP_RE = re.compile(r"^(?P<stamp>\d{8}t\d{4}(?:\d{2})?z)(?:-(?P<sequence>[2-9]|[1-9]\d+))?$")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def is_safe_id(value: str) -> bool:
    return SAFE_ID_RE.fullmatch(value) is not None


def check_id(value: str, what: str = "id") -> str:
    if not is_safe_id(value):
        raise BadInputError(
            f"{what} {value!r} is not file-name safe: use lowercase letters, digits and '-'"
        )
    return value


def _check_safe_id(value: str) -> str:
    if not is_safe_id(value):
        raise ValueError("must be lowercase letters, digits and '-' (no dots or slashes)")
    return value


def _check_service(value: str) -> str:
    if SERVICE_RE.fullmatch(value) is None:
        raise ValueError("must be a DNS label: lowercase letters, digits and '-'")
    return value


SafeId = Annotated[str, AfterValidator(_check_safe_id)]
ServiceName = Annotated[str, AfterValidator(_check_service)]


def incident_id(service: str, opened_at: datetime, sequence: int = 1) -> str:
    """`checkout-20261101t000000z`, or `checkout-20261101t000000z-2` for the second incident
    opened in that second: stable across runs, so a rerun finds the same file, and never
    the id of another incident, so nothing is overwritten."""
    _check_service(service)
    base = f"{service}-{opened_at.astimezone(UTC):%Y%m%dt%H%M%Sz}"
    return base if sequence == 1 else f"{base}-{sequence}"


def free_incident_id(service: str, opened_at: datetime, taken: Collection[str]) -> str:
    """The first id of `incident_id`'s sequence that no incident in `taken` holds."""
    sequence = 1
    while incident_id(service, opened_at, sequence) in taken:
        sequence += 1
    return incident_id(service, opened_at, sequence)


def _id_problem(incident_id_: str, service: str, opened_at: datetime) -> str | None:
    """Why the id does not name this service's incident opened at `opened_at`, if it does not."""
    stamp = incident_id_.removeprefix(f"{service}-")
    found = _STAMP_RE.fullmatch(stamp) if stamp != incident_id_ else None
    opened = opened_at.astimezone(UTC)
    # Ids written before seconds were added name the minute only; they stay readable.
    allowed = (f"{opened:%Y%m%dt%H%M%Sz}", f"{opened:%Y%m%dt%H%Mz}")
    if found is None or found.group("stamp") not in allowed:
        return f"id must be {incident_id(service, opened_at)!r} (or that id and a -N sequence)"
    return None


class Transition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: UtcDatetime
    event: IncidentEvent
    from_state: IncidentState | None
    to_state: IncidentState
    actor: str
    reason: str
    severity: IncidentSeverity


class Incident(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    id: SafeId
    service: ServiceName
    state: IncidentState
    severity: IncidentSeverity
    opened_at: UtcDatetime
    updated_at: UtcDatetime
    slos: tuple[str, ...]
    transitions: tuple[Transition, ...]

    @model_validator(mode="after")
    def _history_matches_summary(self) -> Self:
        # The summary fields are a cache of the history; a hand edit that lets them drift
        # would make replay disagree with the file, so refuse it at load time.
        if not self.transitions:
            raise ValueError("transitions must hold at least the opening transition")
        first, last = self.transitions[0], self.transitions[-1]
        if first.event != "open" or first.from_state is not None:
            raise ValueError("the first transition must be the 'open' event")
        problem = _id_problem(self.id, self.service, self.opened_at)
        if problem is not None:
            raise ValueError(problem)
        if first.at != self.opened_at or last.at != self.updated_at:
            raise ValueError("opened_at/updated_at must match the first/last transition")
        if last.to_state != self.state or last.severity != self.severity:
            raise ValueError("state and severity must match the last transition")
        for before, after in zip(self.transitions, self.transitions[1:], strict=False):
            if after.at < before.at:
                raise ValueError("transitions must be in time order")
            if after.from_state != before.to_state:
                raise ValueError("each transition must start where the previous one ended")
        return self


def is_active(incident: Incident) -> bool:
    return incident.state in ACTIVE_STATES


def open_incident(
    service: str,
    severity: IncidentSeverity,
    slos: tuple[str, ...],
    at: datetime,
    *,
    actor: str,
    reason: str,
    taken: Collection[str] = (),
) -> Incident:
    """`taken`: the ids of the service's incidents so far, none of which the new one reuses."""
    opening = Transition(
        at=at,
        event="open",
        from_state=None,
        to_state="detected",
        actor=actor,
        reason=reason,
        severity=severity,
    )
    return Incident(
        id=free_incident_id(service, at, taken),
        service=service,
        state="detected",
        severity=severity,
        opened_at=opening.at,
        updated_at=opening.at,
        slos=tuple(sorted(set(slos))),
        transitions=(opening,),
    )


def next_state(
    incident: Incident,
    event: IncidentEvent,
    at: datetime,
    actor: str,
    reason: str,
    *,
    severity: IncidentSeverity | None = None,
    slos: tuple[str, ...] = (),
) -> Incident:
    """Apply one event; `severity` and `slos` matter only for escalate and update.

    `update` with nothing new returns the incident unchanged, so a reconcile that sees the
    same breach again writes nothing and the history does not grow on every run.
    """
    target = TRANSITIONS.get((incident.state, event))
    if target is None:
        raise IllegalTransitionError(
            f"incident {incident.id}: cannot {event} from state {incident.state}"
        )
    at_utc = _to_utc(at)
    if at_utc < incident.updated_at:
        raise IllegalTransitionError(
            f"incident {incident.id}: {event} at {at_utc.isoformat()} is before the last "
            f"transition at {incident.updated_at.isoformat()}"
        )
    new_severity = severity or incident.severity
    new_slos = tuple(sorted(set(incident.slos) | set(slos)))
    if event == "escalate" and rank(new_severity) <= rank(incident.severity):
        raise IllegalTransitionError(
            f"incident {incident.id}: cannot escalate from {incident.severity} "
            f"to {new_severity} in state {incident.state}"
        )
    if event == "update" and new_severity == incident.severity and new_slos == incident.slos:
        return incident
    step = Transition(
        at=at_utc,
        event=event,
        from_state=incident.state,
        to_state=target,
        actor=actor,
        reason=reason,
        severity=new_severity,
    )
    return incident.model_copy(
        update={
            "state": target,
            "severity": new_severity,
            "slos": new_slos,
            "updated_at": at_utc,
            "transitions": (*incident.transitions, step),
        }
    )
