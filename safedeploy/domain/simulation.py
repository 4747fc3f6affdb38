"""Replaying the decision engine over recorded history, and scoring it against labels.

Pure: the statuses come in with their instants, the replay state goes out. Nothing here
reads the clock, a file or a metrics source.

A recorded history cannot show the effect of a rollback, and nobody approves anything in
a replay. So an incident is taken as mitigated as soon as it opens, and `decide` then
resolves it the way reconcile does: once every SLO has been normal for the service's
`policy.stable_period`. What is measured is therefore when the engine would page, how it
would escalate, and when the signal would clear.

Scoring: an incident belongs to a labelled window of its service when it opened inside
it (both ends included). Time to detection is from the window's start to the first such
opening; an incident that opened outside every window is a false positive; a window that
no incident opened in is a miss. Windows that do not overlap the replayed range cannot be
detected and are reported as out of range, not as misses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from safedeploy.domain.catalog import Service
from safedeploy.domain.control import ServiceControl
from safedeploy.domain.decisions import Decision, decide
from safedeploy.domain.incidents import Incident, is_active, next_state
from safedeploy.domain.proposals import Proposal
from safedeploy.domain.severity import IncidentSeverity
from safedeploy.domain.slo import ServiceStatus
from safedeploy.domain.versions import Release, Versions

ACTOR = "safedeploy-simulate"
MITIGATED = "replay: assumed mitigated at once; resolves after the stable period"
# What runs and what ran before are unknown in a replay; placeholders let `decide` make the
# rollback proposal, so the report can say when one would have been proposed.
REPLAY_VERSIONS = Versions(
    history=(
        Release(version="previous", commit="replay", committed_at=datetime(1970, 1, 1, tzinfo=UTC)),
        Release(version="recorded", commit="replay", committed_at=datetime(1970, 1, 2, tzinfo=UTC)),
    ),
    source="replay",
)

Outcome = Literal["detected", "missed", "out-of-range"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelledWindow(_Frozen):
    """A span in which a human says the service really had an incident."""

    service: str = Field(min_length=1)
    start: AwareDatetime
    end: AwareDatetime
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def holds(self, at: datetime) -> bool:
        return self.start <= at <= self.end


class Escalation(_Frozen):
    at: datetime
    severity: IncidentSeverity


class SimulatedIncident(_Frozen):
    id: str
    service: str
    opened_at: datetime
    severity: IncidentSeverity
    reason: str
    escalations: tuple[Escalation, ...] = ()
    rollback_proposed_at: datetime | None = None
    resolved_at: datetime | None = None


class ServiceReplay(_Frozen):
    """One service's state between steps: what reconcile would keep in files."""

    service: str
    control: ServiceControl
    incident: Incident | None = None
    proposals: tuple[Proposal, ...] = ()
    history: tuple[SimulatedIncident, ...] = ()

    @classmethod
    def start(cls, service: str) -> ServiceReplay:
        return cls(service=service, control=ServiceControl(service=service))


def replay_step(service: Service, status: ServiceStatus, replay: ServiceReplay) -> ServiceReplay:
    """One reconcile of one service at `status.at`, kept in memory."""
    at = status.at
    decision = decide(
        service,
        status,
        incident=replay.incident,
        proposals=replay.proposals,
        control=replay.control,
        versions=REPLAY_VERSIONS,
        at=at,
    )
    history = record(replay.history, decision)
    incident = decision.incident
    if incident is None or not is_active(incident):
        return replay.model_copy(
            update={
                "control": decision.control,
                "incident": None,
                "proposals": (),
                "history": history,
            }
        )
    if incident.state != "mitigated":
        incident = next_state(incident, "mitigate", at, ACTOR, MITIGATED)
    return replay.model_copy(
        update={
            "control": decision.control,
            "incident": incident,
            "proposals": decision.proposals,
            "history": history,
        }
    )


def record(
    history: tuple[SimulatedIncident, ...], decision: Decision
) -> tuple[SimulatedIncident, ...]:
    """The timeline after one decision: openings, escalations, rollbacks, resolutions."""
    incident, change, at = decision.incident, decision.incident_change, decision.at
    if incident is None:
        return history
    if change == "opened":
        history = (
            *history,
            SimulatedIncident(
                id=incident.id,
                service=incident.service,
                opened_at=at,
                severity=incident.severity,
                reason=decision.reason,
            ),
        )
    if not history or history[-1].id != incident.id:
        return history
    last = history[-1]
    update: dict[str, object] = {}
    if change == "escalated":
        update["escalations"] = (*last.escalations, Escalation(at=at, severity=incident.severity))
    if change == "resolved":
        update["resolved_at"] = at
    rollback = any(p.kind == "rollback-rollout" for p in decision.new_proposals)
    if rollback and last.rollback_proposed_at is None:
        update["rollback_proposed_at"] = at
    return (*history[:-1], last.model_copy(update=update)) if update else history


def instants(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """`start`, `start + step`, ... up to and including `end` when it falls on a step."""
    if step <= timedelta(0):
        raise ValueError("step must be longer than zero")
    count = int((end - start) / step)
    return [start + step * i for i in range(count + 1)] if end >= start else []


class Detection(_Frozen):
    window: LabelledWindow
    outcome: Outcome
    incident: str | None = None
    seconds: float | None = None


class ServiceScore(_Frozen):
    service: str
    incidents: tuple[SimulatedIncident, ...]
    windows: tuple[Detection, ...]
    false_positives: tuple[str, ...]

    @property
    def misses(self) -> tuple[LabelledWindow, ...]:
        return tuple(d.window for d in self.windows if d.outcome == "missed")

    @property
    def detection_seconds(self) -> tuple[float, ...]:
        return tuple(d.seconds for d in self.windows if d.seconds is not None)


def score(
    service: str,
    incidents: Sequence[SimulatedIncident],
    windows: Iterable[LabelledWindow],
    *,
    start: datetime,
    end: datetime,
) -> ServiceScore:
    """Detections, false positives and misses of one service over the replayed range."""
    mine = tuple(sorted((w for w in windows if w.service == service), key=lambda w: w.start))
    detections = tuple(_detect(w, incidents, start=start, end=end) for w in mine)
    false_positives = tuple(i.id for i in incidents if not any(w.holds(i.opened_at) for w in mine))
    return ServiceScore(
        service=service,
        incidents=tuple(incidents),
        windows=detections,
        false_positives=false_positives,
    )


def _detect(
    window: LabelledWindow,
    incidents: Sequence[SimulatedIncident],
    *,
    start: datetime,
    end: datetime,
) -> Detection:
    inside = [i for i in incidents if window.holds(i.opened_at)]
    if inside:
        first = min(inside, key=lambda i: i.opened_at)
        seconds = (first.opened_at - window.start).total_seconds()
        return Detection(window=window, outcome="detected", incident=first.id, seconds=seconds)
    if window.end < start or window.start > end:
        return Detection(window=window, outcome="out-of-range")
    return Detection(window=window, outcome="missed")
