"""Approve or reject a proposal: the one path by which a decision reaches production.

Approval pushes a branch with one minimal commit to the environment repo and, with the
GitHub provider, opens a pull request; merging it is still a human act. Every step is
idempotent (the commit trailer finds an earlier push, the open pull request is found by
its branch), so a retry after a failure never opens a second branch or pull request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.evidence_files import read_folder, write_documents
from safedeploy.adapters.settings import Settings
from safedeploy.adapters.store import StateStore
from safedeploy.domain import approval_text, layout, trailers
from safedeploy.domain.catalog import Service, Target
from safedeploy.domain.evidence import ApprovalDoc, EvidenceFolder
from safedeploy.domain.incidents import Incident, check_id, next_state
from safedeploy.domain.instants import format_instant
from safedeploy.domain.proposals import (
    MITIGATING_KINDS,
    PauseChange,
    Proposal,
    VersionChange,
    next_status,
)
from safedeploy.errors import (
    EXIT_OK,
    BadInputError,
    GitError,
    GitHubError,
    IllegalTransitionError,
    NotAuthorizedError,
)
from safedeploy.usecases.context import Context
from safedeploy.usecases.records import record_incident, record_proposal, roll_forward

if TYPE_CHECKING:
    from safedeploy.adapters.envrepo import EnvRepo
    from safedeploy.adapters.github import GitHubClient
    from safedeploy.adapters.target_edits import Edit

ACTOR_VARIABLE: Final = "GITHUB_ACTOR"
SCHEMA_VERSION: Final = 1
# An approval may land before anyone acknowledged the page; later states are left alone.
_MITIGABLE: Final = frozenset({"detected", "investigating"})


@dataclass(frozen=True)
class ApprovalResult:
    proposal: Proposal
    incident: Incident | None
    remote: str | None
    commit: str | None = None
    # False when this run found the branch or pull request of an earlier run.
    created: bool = False
    already_approved: bool = False
    # One line each, for stderr: what the approval did not do that its configuration implies.
    warnings: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def as_json(self) -> dict[str, Any]:
        approval = self.proposal.approval
        return {
            "proposal": self.proposal.id,
            "status": self.proposal.status,
            "service": self.proposal.service,
            "incident": self.incident.id if self.incident else None,
            "incident_state": self.incident.state if self.incident else None,
            "release": self.proposal.release,
            "by": approval.by if approval else None,
            "at": format_instant(approval.at) if approval else None,
            "branch": approval.branch if approval else None,
            "pr_url": approval.pr_url if approval else None,
            "remote": self.remote,
            "commit": self.commit,
            "created": self.created,
            "already_approved": self.already_approved,
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


@dataclass(frozen=True)
class _Subject:
    """The proposal a person decides on, with everything the decision reads."""

    run: Context
    service: Service
    proposal: Proposal
    incident: Incident | None  # None for a canary promotion, which is about a release
    actor: str
    commit: bool = True
    push: bool = False

    @property
    def store(self) -> StateStore:
        return self.run.store

    @property
    def settings(self) -> Settings:
        return self.run.settings


def _load(run: Context, proposal_id: str, by: str | None) -> _Subject:
    """Everything a decision needs, refusing bad input before anything is touched."""
    check_id(proposal_id, "proposal id")
    actor = (by or run.environ.get(ACTOR_VARIABLE) or "").strip()
    if not actor:
        raise BadInputError(f"who is approving? pass --by NAME or set {ACTOR_VARIABLE}")
    store = run.store
    with store.lock():
        roll_forward(store)  # a killed run's last logged change first: decide from it
    proposal = store.get_proposal(proposal_id)
    if proposal is None:
        raise BadInputError(f"no proposal {proposal_id!r} in {store.root}/{layout.PROPOSALS}")
    # Only this service's file: a broken definition of another service must not hold up
    # a rollback.
    service = _service(store, proposal)
    if actor not in service.metadata.approvers:
        allowed = ", ".join(service.metadata.approvers) or "nobody (metadata.approvers is empty)"
        raise NotAuthorizedError(
            f"{actor} may not decide on proposals for {service.name}; approvers: {allowed}"
        )
    incident = None
    if proposal.incident_id is not None:
        incident = store.get_incident(proposal.incident_id)
        if incident is None:
            raise BadInputError(
                f"proposal {proposal.id}: incident {proposal.incident_id} not found"
            )
    _check_matches(proposal, service, incident)
    return _Subject(run, service, proposal, incident, actor)


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


def _service(store: StateStore, proposal: Proposal) -> Service:
    for relative in layout.service_files(proposal.service):
        file = store.resolve(relative)
        if file.is_file():
            found = load_catalog([file]).get(proposal.service)
            if found is not None:
                return found
    raise BadInputError(
        f"proposal {proposal.id}: service {proposal.service!r} has no "
        f"{layout.service_files(proposal.service)[0]}"
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
    """Push the proposal's change and open its pull request; the second call is a no-op."""
    ctx = replace(_load(run, proposal_id, by), commit=commit, push=push)
    if ctx.proposal.status == "approved":
        return ApprovalResult(ctx.proposal, ctx.incident, None, already_approved=True)
    if ctx.proposal.status == "rejected":
        raise IllegalTransitionError(
            f"proposal {ctx.proposal.id} was rejected; it cannot be approved"
        )
    # Both transitions are checked before the environment repo sees anything, so a bad
    # timestamp cannot leave a pushed branch without its record.
    reason = f"approved {ctx.proposal.kind}"
    next_status(ctx.proposal, "approve", at, ctx.actor, reason)
    if ctx.incident is not None and _mitigates(ctx):
        next_state(ctx.incident, "mitigate", at, ctx.actor, reason)
    target = _target(ctx)
    repo = run.env_repos.for_service(ctx.service)
    github = run.github  # a missing token refuses before a push
    evidence = read_folder(ctx.store, evidence_folder(ctx.proposal))
    for stream in ("incidents", "governance"):  # a symlinked audit/ is refused before a push
        ctx.store.resolve(layout.audit_file(stream))
    draft = ApprovalDoc(
        proposal=ctx.proposal.id,
        incident=ctx.proposal.incident_id,
        release=ctx.proposal.release,
        service=ctx.service.name,
        kind=ctx.proposal.kind,
        status="approved",
        by=ctx.actor,
        at=at,
        remote=repo.shown_remote,
        branch=trailers.branch_for(ctx.proposal.id),
        path=target.path,
    )
    try:
        draft, created = _push(ctx, repo, target, evidence, draft)
        if github is not None:
            draft, pr_created = _open_pull_request(ctx, github, target, evidence, draft)
            created = created or pr_created
    except (GitError, GitHubError) as exc:
        _record_failure(ctx, draft.model_copy(update={"status": "failed", "error": str(exc)}))
        _commit_state(ctx, "approval failed:", at, f"{ctx.proposal.id}: {exc}")
        raise type(exc)(
            f"{exc}; proposal {ctx.proposal.id} is now failed with this error recorded: fix "
            f"the cause and run `safedeploy approve {ctx.proposal.id}` again, which reuses "
            "anything already pushed"
        ) from None
    result = _record_success(ctx, draft, created)
    skipped = run.pull_requests_off()
    result = replace(result, warnings=(skipped,) if skipped else ())
    change = f"branch {draft.branch}" + (f", pull request {draft.pr_url}" if draft.pr_url else "")
    _commit_state(ctx, "approve", at, f"{ctx.proposal.kind} {ctx.proposal.reason}; {change}")
    return result


def _commit_state(ctx: _Subject, action: str, at: datetime, detail: str) -> None:
    """The decision goes into the state repository's history, when it is a Git tree."""
    from safedeploy.domain.state_commits import action_message
    from safedeploy.usecases.state_history import record_run

    message = action_message(
        action, ctx.proposal.id, service=ctx.service.name, by=ctx.actor, at=at, detail=detail
    )
    with ctx.store.lock():
        record_run(ctx.run, message, commit=ctx.commit, push=ctx.push)


def _push(
    ctx: _Subject, repo: EnvRepo, target: Target, evidence: EvidenceFolder, draft: ApprovalDoc
) -> tuple[ApprovalDoc, bool]:
    edit = _edited(repo, ctx.proposal, target)
    message = approval_text.commit_message(
        ctx.proposal, ctx.incident, evidence, target_path=edit.path, by=ctx.actor
    )
    pushed = repo.propose_change(draft.branch, edit.path, edit.after, message)
    update = {"base": repo.default_branch, "commit": pushed.sha, "path": edit.path}
    return draft.model_copy(update=update), pushed.created


def _open_pull_request(
    ctx: _Subject,
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
        by=ctx.actor,
        at=draft.at,
        permalink=permalink,
    )
    pull = github.find_or_open_pull_request(
        draft.branch,
        draft.base,
        approval_text.pull_request_title(ctx.proposal, draft.path or target.path),
        body,
        approval_text.labels(ctx.proposal, ctx.incident),
    )
    return draft.model_copy(update={"pr_url": pull.url}), pull.created


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
    if not reason.strip():
        raise BadInputError("--reason: say why the proposal is rejected")
    ctx = replace(_load(run, proposal_id, by), commit=commit, push=push)
    if ctx.proposal.status == "rejected":
        return RejectionResult(ctx.proposal, already_rejected=True)
    rejected = next_status(ctx.proposal, "reject", at, ctx.actor, reason.strip())
    with ctx.store.lock():
        _require_unchanged(ctx)
        record_proposal(ctx.store, rejected, "reject", at)
    _commit_state(ctx, "reject", at, reason.strip())
    return RejectionResult(rejected, already_rejected=False)


# --- the change ----------------------------------------------------------------------------


def _mitigates(ctx: _Subject) -> bool:
    """A rollback mitigates; a pause alone only holds the release where it is."""
    incident = ctx.incident
    return (
        incident is not None
        and incident.state in _MITIGABLE
        and ctx.proposal.kind in MITIGATING_KINDS
    )


def _target(ctx: _Subject) -> Target:
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


# --- evidence and records ------------------------------------------------------------------


def evidence_folder(proposal: Proposal) -> str:
    return f"{proposal.evidence_dir}/"


def _require_unchanged(ctx: _Subject) -> None:
    # Reads happened before the lock; another run may have moved the proposal since.
    current = ctx.store.get_proposal(ctx.proposal.id)
    if current != ctx.proposal:
        status = current.status if current else "deleted"
        raise IllegalTransitionError(
            f"proposal {ctx.proposal.id} changed while this run worked (now {status}); run again"
        )


def _record_success(ctx: _Subject, record: ApprovalDoc, created: bool) -> ApprovalResult:
    at = record.at
    reason = f"approved {ctx.proposal.kind}: {record.branch}"
    approved = next_status(
        ctx.proposal, "approve", at, ctx.actor, reason, branch=record.branch, pr_url=record.pr_url
    )
    incident = ctx.incident
    if incident is not None and _mitigates(ctx):
        incident = next_state(incident, "mitigate", at, ctx.actor, f"{ctx.proposal.id} approved")
    with ctx.store.lock():
        _require_unchanged(ctx)
        # The proposal last: once it reads approved, a rerun does nothing more, so the
        # record and the incident must already be there if this run is killed.
        write_documents(ctx.store, evidence_folder(ctx.proposal), {layout.APPROVAL_DOC: record})
        if incident is not None:
            record_incident(ctx.store, incident, "mitigate", at)
        record_proposal(ctx.store, approved, "approve", at)
    return ApprovalResult(approved, incident, record.remote, record.commit, created=created)


def _record_failure(ctx: _Subject, record: ApprovalDoc) -> None:
    assert record.error is not None
    reason = f"approval failed at {record.remote}"
    failed = next_status(ctx.proposal, "fail", record.at, ctx.actor, reason, error=record.error)
    with ctx.store.lock():
        _require_unchanged(ctx)
        write_documents(ctx.store, evidence_folder(ctx.proposal), {layout.APPROVAL_DOC: record})
        record_proposal(ctx.store, failed, "fail", record.at)
