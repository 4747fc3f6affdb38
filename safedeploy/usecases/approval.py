"""Approve or reject a proposal: the one path by which a decision reaches production.

Approval pushes a branch with one minimal commit to the environment repo and, with the
GitHub provider, opens a pull request; merging it is still a human act. Every step is
idempotent (the commit trailer finds an earlier push, the open pull request is found by
its branch), so a retry after a failure never opens a second branch or pull request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from safedeploy.adapters.evidence_files import read_folder
from safedeploy.domain import approval_text, layout, trailers
from safedeploy.domain.catalog import Service, Target
from safedeploy.domain.evidence import ApprovalDoc, EvidenceFolder
from safedeploy.domain.incidents import Incident, check_id
from safedeploy.domain.instants import format_instant
from safedeploy.domain.one_line import one_line
from safedeploy.domain.proposals import PauseChange, Proposal, VersionChange, next_status
from safedeploy.errors import EXIT_OK, BadInputError, GitError, GitHubError
from safedeploy.usecases.approval_records import (
    Subject,
    check_approvable,
    check_current,
    commit_state,
    evidence_folder,
    record_failure,
    record_rejection,
    record_success,
)
from safedeploy.usecases.authority import decider
from safedeploy.usecases.context import Context
from safedeploy.usecases.records import roll_forward
from safedeploy.usecases.state_history import check_anchored, check_recordable

if TYPE_CHECKING:
    from safedeploy.adapters.envrepo import EnvRepo
    from safedeploy.adapters.github import GitHubClient
    from safedeploy.adapters.target_edits import Edit


@dataclass(frozen=True)
class ApprovalResult:
    proposal: Proposal
    incident: Incident | None
    remote: str | None
    commit: str | None = None
    # False when this run found the branch or pull request of an earlier run.
    created: bool = False
    already_approved: bool = False
    # Approved before, and what became of the change since (merged, closed unmerged).
    landed: tuple[str, ...] = ()
    # One line each, for stderr: what the approval did not do that its configuration implies.
    warnings: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def as_json(self) -> dict[str, Any]:
        approval = self.proposal.approval
        return {
            "proposal": self.proposal.id,
            "kind": self.proposal.kind,
            "status": self.proposal.status,
            "service": self.proposal.service,
            "incident": self.incident.id if self.incident else None,
            "incident_state": self.incident.state if self.incident else None,
            "release": self.proposal.release,
            "by": approval.by if approval else None,
            "identity": approval.identity if approval else None,
            "at": format_instant(approval.at) if approval else None,
            "branch": approval.branch if approval else None,
            "pr_url": approval.pr_url if approval else None,
            "remote": self.remote,
            "commit": self.commit,
            "created": self.created,
            "already_approved": self.already_approved,
            "landed": list(self.landed),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class RejectionResult:
    proposal: Proposal
    already_rejected: bool

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def as_json(self) -> dict[str, Any]:
        last = self.proposal.transitions[-1] if self.proposal.transitions else None
        return {
            "proposal": self.proposal.id,
            "status": self.proposal.status,
            "service": self.proposal.service,
            "incident": self.proposal.incident_id,
            "by": last.actor if last else None,
            "reason": last.reason if last else None,
            "already_rejected": self.already_rejected,
        }


def _load(run: Context, proposal_id: str) -> tuple[Proposal, Incident | None]:
    """The proposal and its incident, refusing bad input before anything is touched."""
    check_id(proposal_id, "proposal id")
    store = run.store
    with store.lock():
        check_anchored(run)
        roll_forward(store)  # a killed run's last logged change first: decide from it
    proposal = store.get_proposal(proposal_id)
    if proposal is None:
        raise BadInputError(f"no proposal {proposal_id!r} in {store.root}/{layout.PROPOSALS}")
    incident = None
    if proposal.incident_id is not None:
        incident = store.get_incident(proposal.incident_id)
        if incident is None:
            raise BadInputError(
                f"proposal {proposal.id}: incident {proposal.incident_id} not found"
            )
    return proposal, incident


def _check_matches(proposal: Proposal, service: Service, incident: Incident | None) -> None:
    """A proposal file edited by hand must not steer a change into another service's files."""
    found: list[str] = []
    if not proposal.id.startswith(f"{proposal.service}-"):
        found.append(f"service {proposal.service!r} is not the one its id names")
    if incident is not None and incident.service != proposal.service:
        found.append(f"its incident {incident.id} is about {incident.service}")
    change, target = proposal.change, service.spec.target
    if isinstance(change, VersionChange) and (change.path, change.kind) != (
        target.path,
        target.kind,
    ):
        found.append(
            f"change.path {change.path} ({change.kind}) is not {service.name}'s target "
            f"{target.path} ({target.kind})"
        )
    if found:
        raise BadInputError(
            f"proposal {proposal.id}: {'; '.join(found)}: the file no longer says what "
            "reconcile proposed (edited by hand?); nothing was changed"
        )


def approve(
    run: Context,
    proposal_id: str,
    by: str | None,
    at: datetime,
    *,
    commit: bool = True,
    push: bool = False,
) -> ApprovalResult:
    """Push the proposal's change and open its pull request; the second call is a no-op.

    Who approves is proven and checked against the record first; then every other
    precondition; only then does the environment repo see anything.
    """
    proposal, incident = _load(run, proposal_id)
    who = decider(run, by, proposal.service, f"approve {proposal.id}", at)
    ctx = Subject(run, who, proposal, incident, commit=commit, push=push)
    _check_matches(proposal, who.service, incident)
    check_recordable(run, commit=commit, push=push, sign=who.signs)
    if proposal.status in ("approved", "merged"):
        return _approved_before(ctx, at)
    check_approvable(ctx)
    # The transition is checked before the environment repo sees anything, so a bad
    # timestamp cannot leave a pushed branch without its record.
    next_status(proposal, "approve", at, ctx.actor, f"approved {proposal.kind}")
    target = _target(ctx)
    repo = run.env_repos.for_service(who.service)
    github = run.github  # a missing token refuses before a push
    evidence = read_folder(ctx.store, evidence_folder(proposal))
    for stream in ("incidents", "governance"):  # a symlinked audit/ is refused before a push
        ctx.store.resolve(layout.audit_file(stream))
    draft = ApprovalDoc(
        proposal=proposal.id,
        incident=proposal.incident_id,
        release=proposal.release,
        service=who.service.name,
        kind=proposal.kind,
        status="approved",
        by=ctx.actor,
        identity=who.identity.proof,
        at=at,
        remote=repo.shown_remote,
        branch=trailers.branch_for(proposal.id),
        path=target.path,
    )
    try:
        check_current(ctx, repo, target)
        draft, created = _push(ctx, repo, target, evidence, draft)
        if github is not None:
            draft, pr_created = _open_pull_request(ctx, github, target, evidence, draft)
            created = created or pr_created
    except (GitError, GitHubError) as exc:
        record_failure(ctx, draft.model_copy(update={"status": "failed", "error": str(exc)}))
        commit_state(ctx, "approval failed:", at, f"{proposal.id}: {exc}")
        raise type(exc)(
            f"{exc}; proposal {proposal.id} is now failed with this error recorded: fix "
            f"the cause and run `safedeploy approve {proposal.id}` again, which reuses "
            "anything already pushed"
        ) from None
    approved, now = record_success(ctx, draft)
    skipped = run.pull_requests_off()
    result = ApprovalResult(
        approved,
        now,
        draft.remote,
        draft.commit,
        created=created,
        warnings=(skipped,) if skipped else (),
    )
    change = f"branch {draft.branch}" + (f", pull request {draft.pr_url}" if draft.pr_url else "")
    commit_state(ctx, "approve", at, f"{proposal.kind} {proposal.reason}; {change}")
    return result


def _approved_before(ctx: Subject, at: datetime) -> ApprovalResult:
    """Nothing is pushed again; what became of the change is recorded, as reconcile would."""
    from safedeploy.usecases.mitigation import sync_approved

    proposal = ctx.proposal
    if proposal.status != "approved":
        return ApprovalResult(proposal, ctx.incident, None, already_approved=True)
    recorded, warnings = sync_approved(ctx.run, ctx.service, proposal, at)
    if recorded:
        commit_state(ctx, "sync", at, "; ".join(r.text for r in recorded))
    now = ctx.store.get_proposal(proposal.id) or proposal
    incident = ctx.store.get_incident(now.incident_id) if now.incident_id else None
    return ApprovalResult(
        now,
        incident,
        None,
        already_approved=True,
        landed=tuple(r.text for r in recorded),
        warnings=warnings,
    )


def _push(
    ctx: Subject, repo: EnvRepo, target: Target, evidence: EvidenceFolder, draft: ApprovalDoc
) -> tuple[ApprovalDoc, bool]:
    edit = _edited(repo, ctx.proposal, target)
    message = approval_text.commit_message(
        ctx.proposal, ctx.incident, evidence, target_path=edit.path, by=ctx.label
    )
    pushed = repo.propose_change(draft.branch, edit.path, edit.after, message)
    update = {"base": repo.default_branch, "commit": pushed.sha, "path": edit.path}
    return draft.model_copy(update=update), pushed.created


def _open_pull_request(
    ctx: Subject,
    github: GitHubClient,
    target: Target,
    evidence: EvidenceFolder,
    draft: ApprovalDoc,
) -> tuple[ApprovalDoc, bool]:
    assert draft.base is not None  # set by _push
    from safedeploy.usecases.state_history import evidence_permalink

    permalink = evidence_permalink(ctx.run, evidence_folder(ctx.proposal))
    body = approval_text.pull_request_body(
        ctx.proposal,
        ctx.incident,
        evidence,
        target_path=draft.path or target.path,
        by=ctx.label,
        at=draft.at,
        permalink=permalink,
        identity=ctx.who.identity.proof,
    )
    pull = github.find_or_open_pull_request(
        draft.branch,
        draft.base,
        approval_text.pull_request_title(ctx.proposal, draft.path or target.path),
        body,
        approval_text.labels(ctx.proposal, ctx.incident),
    )
    update = {"pr_url": pull.url, "pr_number": pull.number}
    return draft.model_copy(update=update), pull.created


def reject(
    run: Context,
    proposal_id: str,
    by: str | None,
    at: datetime,
    *,
    reason: str,
    commit: bool = True,
    push: bool = False,
) -> RejectionResult:
    """Close a proposal without action; the incident is left as it is."""
    if not one_line(reason, "--reason").strip():
        raise BadInputError("--reason: say why the proposal is rejected")
    proposal, incident = _load(run, proposal_id)
    who = decider(run, by, proposal.service, f"reject {proposal.id}", at)
    ctx = Subject(run, who, proposal, incident, commit=commit, push=push)
    _check_matches(proposal, who.service, incident)
    if proposal.status == "rejected":
        return RejectionResult(proposal, already_rejected=True)
    check_recordable(run, commit=commit, push=push, sign=who.signs)
    rejected = record_rejection(ctx, at, reason.strip())
    commit_state(ctx, "reject", at, reason.strip())
    return RejectionResult(rejected, already_rejected=False)


# --- the change ----------------------------------------------------------------------------


def _target(ctx: Subject) -> Target:
    target = ctx.service.spec.target
    change = ctx.proposal.change
    if isinstance(change, PauseChange):
        if not target.pausable:
            raise BadInputError(
                f"proposal {ctx.proposal.id}: block-promotion pauses an Argo Rollout; "
                f"{ctx.service.name} is delivered by {target.kind}"
            )
        return target
    return target.model_copy(update={"path": change.path, "kind": change.kind})


def _edited(repo: EnvRepo, proposal: Proposal, target: Target) -> Edit:
    from safedeploy.adapters.target_edits import edit_for

    try:
        return edit_for(proposal.kind, proposal.change, target, repo.read_file)
    except BadInputError as exc:
        raise BadInputError(
            f"proposal {proposal.id}: on {repo.default_branch}: {exc}; nothing was changed"
        ) from None
