"""Action proposals: inert records until a human approves one.

The id is derived from the incident and the kind, so "at most one proposal per
(incident, kind)" holds by construction: a second reconcile computes the same id and
finds the file already there.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, model_validator

from safedeploy.domain import layout
from safedeploy.domain.catalog import TargetKind
from safedeploy.domain.incidents import SafeId, ServiceName, UtcDatetime, check_id
from safedeploy.errors import IllegalTransitionError

SCHEMA_VERSION: Final = 1

ProposalKind = Literal["rollback-rollout", "promote-canary", "block-promotion"]
ProposalStatus = Literal["proposed", "approved", "rejected", "failed", "merged", "closed"]
ProposalEvent = Literal["approve", "reject", "fail", "merge", "close"]

KINDS: tuple[ProposalKind, ...] = get_args(ProposalKind)
# Approving these changes what runs, so their merge mitigates the incident; a pause only
# holds the release where it is.
MITIGATING_KINDS: frozenset[ProposalKind] = frozenset({"rollback-rollout"})
STATUSES: tuple[ProposalStatus, ...] = get_args(ProposalStatus)
EVENTS: tuple[ProposalEvent, ...] = get_args(ProposalEvent)

# Rejected, merged and closed are final. A failed approval (push refused, GitHub down) may
# be retried, fail again, or be given up on. An approved change waits in the environment
# repository until reconcile sees it on the default branch (merged) or its pull request
# closed unmerged (closed).
TRANSITIONS: dict[tuple[ProposalStatus, ProposalEvent], ProposalStatus] = {
    ("proposed", "approve"): "approved",
    ("proposed", "reject"): "rejected",
    ("proposed", "fail"): "failed",
    ("failed", "approve"): "approved",
    ("failed", "fail"): "failed",
    ("failed", "reject"): "rejected",
    ("approved", "merge"): "merged",
    ("approved", "close"): "closed",
}


class StableChoice(BaseModel):
    """Why a rollback goes to its version: the commit that wrote it, when, and why it counts
    as stable (see domain/stable_versions.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    commit: str
    committed_at: UtcDatetime
    reason: str


class VersionChange(BaseModel):
    """Move one image version in the environment repo (rollback or promotion)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    kind: TargetKind
    from_version: str
    to_version: str
    chosen: StableChoice | None = None

    @model_validator(mode="after")
    def _chosen_is_the_target(self) -> Self:
        if self.chosen is not None and self.chosen.version != self.to_version:
            raise ValueError("chosen.version must be to_version")
        return self


class PauseChange(BaseModel):
    """Hold promotion where it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paused: Literal[True] = True


TargetChange = VersionChange | PauseChange


class Approval(BaseModel):
    """Who acted, how that was established, and what the environment repo said back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by: str
    at: UtcDatetime
    branch: str | None = None
    pr_url: str | None = None
    error: str | None = None
    # How `by` was established ("GitHub user alice (the token's owner)", "identity not
    # verified"); None in files written before identities were checked.
    identity: str | None = None
    pr_number: int | None = None
    # The commit that put the change on the default branch, and when: set by "merge".
    merge_commit: str | None = None
    merged_at: UtcDatetime | None = None

    @property
    def verified(self) -> bool:
        return self.identity is not None and self.identity != UNVERIFIED


UNVERIFIED: Final = "identity not verified"


class ProposalTransition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: UtcDatetime
    event: ProposalEvent
    from_status: ProposalStatus
    to_status: ProposalStatus
    actor: str
    reason: str


class Proposal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    id: SafeId
    kind: ProposalKind
    service: ServiceName
    # What the proposal is about: an incident (rollback, block) or, for promote-canary,
    # a release with no incident. Exactly one is set; it names the evidence folder.
    incident_id: SafeId | None = None
    release: SafeId | None = None
    status: ProposalStatus
    created_at: UtcDatetime
    updated_at: UtcDatetime
    rule: str
    reason: str
    change: TargetChange
    approval: Approval | None = None
    transitions: tuple[ProposalTransition, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.incident_id is None) == (self.release is None):
            raise ValueError("a proposal is about exactly one incident_id or release")
        if (self.kind == "promote-canary") != (self.release is not None):
            raise ValueError("promote-canary is about a release; the other kinds an incident")
        if self.id != proposal_id(self.subject, self.kind):
            raise ValueError(f"id must be {proposal_id(self.subject, self.kind)!r}")
        if (self.kind == "block-promotion") != isinstance(self.change, PauseChange):
            raise ValueError("block-promotion pauses; the other kinds change a version")
        expected = self.transitions[-1].to_status if self.transitions else "proposed"
        if self.status != expected:
            raise ValueError(f"status must be {expected!r}, the end of its transitions")
        stamps = [self.created_at, *(t.at for t in self.transitions)]
        if stamps != sorted(stamps) or stamps[-1] != self.updated_at:
            raise ValueError("transitions must be in time order and end at updated_at")
        return self

    @property
    def subject(self) -> str:
        return self.incident_id or self.release or ""

    @property
    def evidence_dir(self) -> str:
        if self.incident_id is not None:
            return layout.incident_evidence(self.incident_id)
        return layout.release_evidence(self.release or "")

    @property
    def subject_label(self) -> str:
        return f"incident {self.incident_id}" if self.incident_id else f"release {self.release}"


def release_id(service: str, version: str) -> str:
    """`checkout-release-1-5-0`: file-name safe, stable for one version of one service."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", version.lower()).strip("-")
    return check_id(f"{service}-release-{cleaned}"[:180].rstrip("-"), "release id")


def proposal_id(incident_id: str, kind: ProposalKind) -> str:
    return check_id(f"{incident_id}-{kind}", "proposal id")


def new_proposal(
    kind: ProposalKind,
    service: str,
    incident_id: str,
    change: TargetChange,
    *,
    rule: str,
    reason: str,
    at: datetime,
) -> Proposal:
    """`incident_id` is the subject: an incident id, or a release id for promote-canary."""
    promotion = kind == "promote-canary"
    return Proposal(
        id=proposal_id(incident_id, kind),
        kind=kind,
        service=service,
        incident_id=None if promotion else incident_id,
        release=incident_id if promotion else None,
        status="proposed",
        created_at=at,
        updated_at=at,
        rule=rule,
        reason=reason,
        change=change,
    )


def next_status(
    proposal: Proposal,
    event: ProposalEvent,
    at: datetime,
    actor: str,
    reason: str,
    *,
    branch: str | None = None,
    pr_url: str | None = None,
    error: str | None = None,
    identity: str | None = None,
    pr_number: int | None = None,
    merge_commit: str | None = None,
    merged_at: datetime | None = None,
) -> Proposal:
    """Apply one event. `approve` records who (and how that was established), the branch
    and pull request; `fail` the error; `merge` the commit on the default branch and when;
    `close` keeps the approval as it was."""
    target = TRANSITIONS.get((proposal.status, event))
    if target is None:
        raise IllegalTransitionError(
            f"proposal {proposal.id}: cannot {event} from status {proposal.status}"
        )
    step = ProposalTransition(
        at=at,
        event=event,
        from_status=proposal.status,
        to_status=target,
        actor=actor,
        reason=reason,
    )
    if step.at < proposal.updated_at:
        raise IllegalTransitionError(
            f"proposal {proposal.id}: {event} at {step.at.isoformat()} is before the last "
            f"change at {proposal.updated_at.isoformat()}"
        )
    if event == "fail" and not error:
        raise IllegalTransitionError(f"proposal {proposal.id}: fail needs the error")
    approval: Approval | None = None
    if event in ("approve", "fail"):
        approval = Approval(
            by=actor,
            at=step.at,
            branch=branch,
            pr_url=pr_url,
            error=error if event == "fail" else None,
            identity=identity,
            pr_number=pr_number,
        )
    elif event in ("merge", "close") and proposal.approval is not None:
        landed = {"merge_commit": merge_commit, "merged_at": merged_at} if event == "merge" else {}
        # Validated, not copied: merged_at is turned to UTC like every other instant.
        approval = Approval.model_validate({**proposal.approval.model_dump(), **landed})
    return proposal.model_copy(
        update={
            "status": target,
            "updated_at": step.at,
            "approval": approval,
            "transitions": (*proposal.transitions, step),
        }
    )
