"""What an approval or rejection checks before it acts and records once it has.

Preconditions run before the environment repository sees anything: the proposal must
still be approvable (not rejected or closed, its incident not over) and not superseded by
a newer release. Records are written under the state lock from files read again under
it, so a transition or a reconcile that landed while this run pushed is built on, never
overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from safedeploy.adapters.evidence_files import write_documents
from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.catalog import Service, Target
from safedeploy.domain.evidence import ApprovalDoc
from safedeploy.domain.incidents import Incident, is_active, next_state
from safedeploy.domain.instants import format_instant
from safedeploy.domain.proposals import MITIGATING_KINDS, Proposal, next_status
from safedeploy.errors import BadInputError, IllegalTransitionError
from safedeploy.usecases.authority import Decider
from safedeploy.usecases.context import Context
from safedeploy.usecases.evidence_status import refresh_status
from safedeploy.usecases.records import record_incident, record_proposal

if TYPE_CHECKING:
    from safedeploy.adapters.envrepo import EnvRepo


@dataclass(frozen=True)
class Subject:
    """The proposal a person decides on, who decides, and the flags of the command."""

    run: Context
    who: Decider
    proposal: Proposal
    incident: Incident | None  # None for a canary promotion, which is about a release
    commit: bool = True
    push: bool = False

    @property
    def store(self) -> StateStore:
        return self.run.store

    @property
    def service(self) -> Service:
        return self.who.service

    @property
    def actor(self) -> str:
        return self.who.identity.actor

    @property
    def label(self) -> str:
        """The actor as a person's transitions record them: `alice (identity not verified)`
        when declared, so every file that shows the step says so (an approval keeps `by`
        plain beside its `identity`)."""
        return self.who.identity.label


def evidence_folder(proposal: Proposal) -> str:
    return f"{proposal.evidence_dir}/"


# --- before anything is pushed -----------------------------------------------------------


def check_approvable(ctx: Subject) -> None:
    """A closed proposal, or one whose incident is over, is refused in one line."""
    proposal, incident = ctx.proposal, ctx.incident
    refusal = f"{ctx.label} cannot approve {proposal.id}"
    last = proposal.transitions[-1] if proposal.transitions else None
    if proposal.status in ("rejected", "closed") and last is not None:
        raise IllegalTransitionError(
            f"{refusal}: it was {proposal.status} by {last.actor} at "
            f"{format_instant(last.at)} ({last.reason}); nothing was pushed"
        )
    if incident is not None and not is_active(incident):
        raise IllegalTransitionError(
            f"{refusal}: incident {incident.id} is {incident.state} since "
            f"{format_instant(incident.updated_at)}; nothing was pushed"
        )


def check_current(ctx: Subject, repo: EnvRepo, target: Target) -> None:
    """Refuse a proposal that a newer release of the target superseded.

    A proposal is about the release that ran when reconcile made it; a version of the
    target committed after that is a release it never saw (an old block-promotion must
    not pause it)."""
    from safedeploy.adapters.manifests import version_reader, version_target

    try:
        located = version_target(target, repo.read_file)  # a Rollout's workload file
        history = repo.versions_of(located.path, version_reader(located))
    except BadInputError:
        return  # the file as it is now cannot be read: the edit names its file, line, field
    newest = history[-1] if history else None
    if newest is not None and newest.committed_at > ctx.proposal.created_at:
        raise BadInputError(
            f"{ctx.label} cannot approve {ctx.proposal.id}: superseded: {located.path} runs "
            f"{newest.version} since {format_instant(newest.committed_at)} (commit "
            f"{newest.sha[:12]}), a release made after the proposal "
            f"({format_instant(ctx.proposal.created_at)}); nothing was pushed (reject it)"
        )


# --- under the lock, from files read again -----------------------------------------------


def _current(ctx: Subject, pushed: str | None = None) -> Proposal:
    """The proposal as it is now; refused when another run moved it since it was read.

    `pushed`: what this run already left in the environment repo, which the refusal names
    (the other run's decision stands; the branch is not taken back behind anyone's back).
    """
    current = ctx.store.get_proposal(ctx.proposal.id)
    if current != ctx.proposal:
        status = current.status if current else "deleted"
        left = f"; {pushed} was pushed before and is left as it is" if pushed else ""
        raise IllegalTransitionError(
            f"{ctx.label} cannot record the decision on {ctx.proposal.id}: another run moved "
            f"it to {status} meanwhile, and that decision stands{left}; nothing was recorded"
        )
    return current


def _incident_now(ctx: Subject) -> Incident | None:
    if ctx.proposal.incident_id is None:
        return None
    return ctx.store.get_incident(ctx.proposal.incident_id)


def _proposed_in(incident: Incident | None, record: ApprovalDoc, ctx: Subject) -> Incident | None:
    """The incident with "rollback proposed in PR #N" recorded, when a rollback of an
    open incident was approved; None when nothing about it changes. Mitigated comes only
    when reconcile sees the change merged (usecases/mitigation.py)."""
    if incident is None or ctx.proposal.kind not in MITIGATING_KINDS:
        return None
    if incident.state not in ("detected", "investigating"):
        return None  # resolved or marked mitigated by a person meanwhile: left as it is
    where = (
        f"pull request #{record.pr_number} ({record.pr_url})"
        if record.pr_url
        else f"branch {record.branch} (no pull request: open one from it)"
    )
    reason = f"rollback approved and proposed in {where}"
    last = incident.transitions[-1] if incident.transitions else None
    if last is not None and last.event == "propose-rollback" and last.reason == reason:
        # A rerun of an approve killed after logging this: the record already says it.
        return None
    # A transition that landed while this run pushed may be later than this run's start.
    at = max(record.at, incident.updated_at)
    return next_state(incident, "propose-rollback", at, ctx.label, reason)


def record_success(ctx: Subject, record: ApprovalDoc) -> tuple[Proposal, Incident | None]:
    """The approved proposal and its incident as this run leaves them."""
    at = record.at
    pushed = f"branch {record.branch}" + (
        f" (pull request {record.pr_url})" if record.pr_url else ""
    )
    with ctx.store.lock():
        proposal = _current(ctx, pushed)
        approved = next_status(
            proposal,
            "approve",
            at,
            ctx.actor,
            f"approved {proposal.kind}: {record.branch}",
            branch=record.branch,
            pr_url=record.pr_url,
            identity=record.identity,
            pr_number=record.pr_number,
        )
        incident = _incident_now(ctx)
        moved = _proposed_in(incident, record, ctx)
        # The proposal last: once it reads approved, a rerun does nothing more, so the
        # record and the incident must already be there if this run is killed.
        folder = evidence_folder(proposal)
        write_documents(ctx.store, folder, {layout.APPROVAL_DOC: record})
        if moved is not None:
            record_incident(ctx.store, moved, "propose-rollback", at)
        refresh_status(ctx.store, proposal.subject, folder, moved or incident, (approved,))
        record_proposal(ctx.store, approved, "approve", at)
    return approved, moved or incident


def record_failure(ctx: Subject, record: ApprovalDoc) -> None:
    assert record.error is not None
    reason = f"approval failed at {record.remote}"
    with ctx.store.lock():
        proposal = _current(ctx)
        failed = next_status(
            proposal,
            "fail",
            record.at,
            ctx.actor,
            reason,
            error=record.error,
            identity=record.identity,
        )
        folder = evidence_folder(proposal)
        write_documents(ctx.store, folder, {layout.APPROVAL_DOC: record})
        refresh_status(ctx.store, proposal.subject, folder, _incident_now(ctx), (failed,))
        record_proposal(ctx.store, failed, "fail", record.at)


def record_rejection(ctx: Subject, at: datetime, reason: str) -> Proposal:
    with ctx.store.lock():
        rejected = next_status(_current(ctx), "reject", at, ctx.label, reason)
        folder = evidence_folder(rejected)
        refresh_status(ctx.store, rejected.subject, folder, _incident_now(ctx), (rejected,))
        record_proposal(ctx.store, rejected, "reject", at)
    return rejected


def commit_state(ctx: Subject, action: str, at: datetime, detail: str) -> None:
    """The decision goes into the state repository's history, signed by the actor when
    their signature is what proves who they are."""
    from safedeploy.domain.state_commits import action_message
    from safedeploy.usecases.state_history import record_run

    message = action_message(
        action, ctx.proposal.id, service=ctx.service.name, by=ctx.label, at=at, detail=detail
    )
    with ctx.store.lock():
        done = record_run(ctx.run, message, commit=ctx.commit, push=ctx.push, sign=ctx.who.signs)
    ctx.who.confirm(ctx.run, done.sha)
