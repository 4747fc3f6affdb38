from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from safedeploy.domain.proposals import (
    EVENTS,
    KINDS,
    STATUSES,
    TRANSITIONS,
    PauseChange,
    Proposal,
    ProposalEvent,
    ProposalKind,
    ProposalStatus,
    TargetChange,
    VersionChange,
    new_proposal,
    next_status,
    proposal_id,
)
from safedeploy.errors import BadInputError, IllegalTransitionError

T0 = datetime(2026, 11, 1, tzinfo=UTC)
INCIDENT = "checkout-20261101t0000z"
ROLLBACK = VersionChange(
    path="apps/checkout/rollout.yaml", kind="rollout", from_version="1.4.0", to_version="1.3.2"
)

PATHS: dict[ProposalStatus, tuple[ProposalEvent, ...]] = {
    "proposed": (),
    "approved": ("approve",),
    "rejected": ("reject",),
    "failed": ("fail",),
    "merged": ("approve", "merge"),
    "closed": ("approve", "close"),
}


def change_for(kind: ProposalKind) -> TargetChange:
    return PauseChange() if kind == "block-promotion" else ROLLBACK


def proposal_in(status: ProposalStatus, kind: ProposalKind = "rollback-rollout") -> Proposal:
    proposal = new_proposal(
        kind,
        "checkout",
        INCIDENT,
        change_for(kind),
        rule="fast-burn",
        reason="1h/5m burn 14.4 breached",
        at=T0,
    )
    for minutes, event in enumerate(PATHS[status], start=1):
        proposal = apply(proposal, event, T0 + timedelta(minutes=minutes))
    assert proposal.status == status
    return proposal


def apply(proposal: Proposal, event: ProposalEvent, at: datetime) -> Proposal:
    return next_status(
        proposal,
        event,
        at,
        "alice",
        "why",
        branch="safedeploy/rollback" if event == "approve" else None,
        pr_url="https://github.example/pr/1" if event == "approve" else None,
        error="push refused" if event == "fail" else None,
        identity="identity not verified" if event == "approve" else None,
        pr_number=1 if event == "approve" else None,
        merge_commit="ab" * 20 if event == "merge" else None,
        merged_at=at - timedelta(seconds=30) if event == "merge" else None,
    )


LEGAL = sorted(TRANSITIONS.items())
ILLEGAL = sorted((s, e) for s in STATUSES for e in EVENTS if (s, e) not in TRANSITIONS)


def test_ids_are_one_per_incident_and_kind() -> None:
    assert proposal_in("proposed").id == f"{INCIDENT}-rollback-rollout"
    assert len({proposal_id(INCIDENT, kind) for kind in KINDS}) == len(KINDS)


def test_an_unsafe_incident_id_cannot_name_a_proposal() -> None:
    with pytest.raises(BadInputError, match="not file-name safe"):
        proposal_id("../incidents/x", "rollback-rollout")


@pytest.mark.parametrize(("edge", "target"), LEGAL, ids=[f"{s}-{e}" for (s, e), _ in LEGAL])
def test_every_legal_edge(edge: tuple[ProposalStatus, ProposalEvent], target: str) -> None:
    status, event = edge
    before = proposal_in(status)
    at = T0 + timedelta(hours=1)
    after = apply(before, event, at)
    assert after.status == target
    assert after.updated_at == at
    step = after.transitions[-1]
    assert (step.from_status, step.to_status, step.event, step.at) == (status, target, event, at)
    if event == "approve":
        assert after.approval is not None
        assert after.approval.pr_url == "https://github.example/pr/1"
        assert after.approval.error is None
    if event == "fail":
        assert after.approval is not None
        assert after.approval.error == "push refused"
    assert Proposal.model_validate_json(after.model_dump_json()) == after


@pytest.mark.parametrize("edge", ILLEGAL, ids=[f"{s}-{e}" for s, e in ILLEGAL])
def test_every_illegal_edge_is_refused(edge: tuple[ProposalStatus, ProposalEvent]) -> None:
    status, event = edge
    proposal = proposal_in(status)
    with pytest.raises(IllegalTransitionError) as caught:
        apply(proposal, event, T0 + timedelta(hours=1))
    assert proposal.id in str(caught.value)
    assert status in str(caught.value)
    assert event in str(caught.value)


def test_approving_twice_is_refused() -> None:
    approved = proposal_in("approved")
    with pytest.raises(IllegalTransitionError, match="cannot approve from status approved"):
        apply(approved, "approve", T0 + timedelta(hours=1))


def test_a_failure_must_say_what_failed() -> None:
    with pytest.raises(IllegalTransitionError, match="needs the error"):
        next_status(proposal_in("proposed"), "fail", T0, "alice", "x")


def test_time_cannot_run_backwards() -> None:
    with pytest.raises(IllegalTransitionError, match="before the last change"):
        apply(proposal_in("failed"), "approve", T0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", STATUSES)
def test_round_trip(kind: ProposalKind, status: ProposalStatus) -> None:
    proposal = proposal_in(status, kind)
    assert Proposal.model_validate_json(proposal.model_dump_json()) == proposal


def test_block_promotion_only_pauses() -> None:
    with pytest.raises(ValidationError, match="block-promotion pauses"):
        new_proposal("block-promotion", "checkout", INCIDENT, ROLLBACK, rule="r", reason="x", at=T0)


def test_status_must_match_history() -> None:
    data = proposal_in("proposed").model_dump(mode="json")
    data["status"] = "approved"
    with pytest.raises(ValidationError, match="status must be 'proposed'"):
        Proposal.model_validate(data)


def test_unknown_fields_are_refused() -> None:
    data = proposal_in("approved").model_dump(mode="json")
    data["change"]["extra"] = 1
    with pytest.raises(ValidationError):
        Proposal.model_validate(data)


def test_a_merge_keeps_the_approval_and_adds_the_commit_and_its_time() -> None:
    approved = proposal_in("approved")
    at = T0 + timedelta(hours=1)
    merged = apply(approved, "merge", at)
    assert merged.approval is not None and approved.approval is not None
    assert merged.approval.by == approved.approval.by == "alice"
    assert merged.approval.pr_url == approved.approval.pr_url
    assert merged.approval.identity == "identity not verified"
    assert not merged.approval.verified
    assert (merged.approval.merge_commit, merged.approval.merged_at) == (
        "ab" * 20,
        at - timedelta(seconds=30),
    )
    closed = apply(approved, "close", at)
    assert closed.approval == approved.approval
    assert closed.status == "closed"


def test_merged_and_closed_are_final() -> None:
    for status in ("merged", "closed"):
        assert not [e for (s, e) in TRANSITIONS if s == status]
