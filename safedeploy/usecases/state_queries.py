"""Read and move incidents and proposals by hand: list, show, transition, reject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from safedeploy.adapters.evidence_files import write_documents
from safedeploy.domain import layout
from safedeploy.domain.evidence import resolution
from safedeploy.domain.incidents import Incident, IncidentEvent, check_id, next_state
from safedeploy.domain.one_line import one_line
from safedeploy.domain.proposals import Proposal
from safedeploy.domain.state_commits import action_message
from safedeploy.errors import EXIT_BAD_INPUT, EXIT_OK, BadInputError
from safedeploy.usecases.authority import decider
from safedeploy.usecases.context import Context
from safedeploy.usecases.evidence_status import refresh_status
from safedeploy.usecases.records import record_incident, roll_forward
from safedeploy.usecases.state_history import check_anchored, check_recordable, record_run

HUMAN_EVENTS: dict[str, IncidentEvent] = {
    "acknowledge": "acknowledge",
    "mitigate": "mitigate",
    "resolve": "resolve",
    "complete-postmortem": "complete-postmortem",
}


@dataclass(frozen=True)
class Listing:
    incidents: tuple[Incident, ...]
    proposals: tuple[Proposal, ...]
    errors: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        # Everything readable is listed; a file that is not is bad input.
        return EXIT_BAD_INPUT if self.errors else EXIT_OK


def listing(ctx: Context, service: str | None = None, active_only: bool = False) -> Listing:
    store = ctx.store
    incidents = store.load_incidents()
    proposals = store.load_proposals()
    wanted_incidents = tuple(
        i
        for i in incidents.items
        if (service is None or i.service == service)
        and (not active_only or i.state in ("detected", "investigating", "mitigated"))
    )
    wanted_proposals = tuple(
        p
        for p in proposals.items
        if (service is None or p.service == service)
        and (not active_only or p.status in ("proposed", "failed"))
    )
    errors = tuple(str(e) for e in (*incidents.errors, *proposals.errors))
    return Listing(wanted_incidents, wanted_proposals, errors)


def show_incident(ctx: Context, incident_id: str) -> Incident:
    check_id(incident_id, "incident id")
    incident = ctx.store.get_incident(incident_id)
    if incident is None:
        raise BadInputError(f"{layout.incident_file(incident_id)}: no such incident")
    return incident


def show_proposal(ctx: Context, proposal_id: str) -> Proposal:
    check_id(proposal_id, "proposal id")
    proposal = ctx.store.get_proposal(proposal_id)
    if proposal is None:
        raise BadInputError(f"{layout.proposal_file(proposal_id)}: no such proposal")
    return proposal


def transition_incident(
    ctx: Context,
    incident_id: str,
    event: str,
    *,
    by: str | None,
    reason: str,
    at: datetime,
    commit: bool = True,
    push: bool = False,
) -> Incident:
    """Move an incident by hand: the same identity and authority as an approval (the
    service's approvers or owner, as committed), read and written under the lock."""
    if event not in HUMAN_EVENTS:
        raise BadInputError(
            f"event {event!r}: one of {', '.join(HUMAN_EVENTS)} (escalation is reconcile's job)"
        )
    if not one_line(reason, "--reason").strip():
        raise BadInputError("--reason is required: every transition names who and why")
    check_id(incident_id, "incident id")
    store = ctx.store
    found = store.get_incident(incident_id)
    if found is None:
        raise BadInputError(f"{layout.incident_file(incident_id)}: no such incident")
    who = decider(ctx, by, found.service, f"{event} incident {incident_id}", at)
    check_recordable(ctx, commit=commit, push=push, sign=who.signs)
    actor = who.identity.label  # `alice (identity not verified)` when declared
    with store.lock():
        check_anchored(ctx)
        roll_forward(store)
        incident = store.get_incident(incident_id)  # again: another run may have moved it
        if incident is None:
            raise BadInputError(f"{layout.incident_file(incident_id)}: no such incident")
        moved = next_state(incident, HUMAN_EVENTS[event], at, actor, reason)
        record_incident(store, moved, event, at)
        evidence_dir = layout.incident_evidence(moved.id)
        ended = resolution(moved)
        if ended is not None:
            write_documents(store, evidence_dir, {layout.RESOLUTION_DOC: ended})
        refresh_status(store, moved.id, evidence_dir, moved)
        message = action_message(
            event,
            incident_id,
            service=incident.service,
            by=who.identity.label,
            at=at,
            detail=reason,
        )
        done = record_run(ctx, message, commit=commit, push=push, sign=who.signs)
    who.confirm(ctx, done.sha)
    return moved
