"""Mitigated means merged: reconcile follows each approved change to the default branch.

An approval pushes a branch and opens a pull request; nothing changes in production until
it is merged. Each run looks, before taking the state lock, at every approved proposal of
the services it reconciles: the change on the environment repo's default branch (a merged
pull request, a squash, or a direct commit) makes the proposal merged and, for a
rollback, the incident mitigated, with the commit and its time in the evidence; a pull
request closed unmerged (or, without GitHub, a branch deleted unmerged) closes the
proposal and sends the incident back to investigating. Under the lock each of those is
applied to the files as they are then, and the evidence README is rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from safedeploy.adapters.evidence_files import read_folder, write_documents
from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.catalog import Service
from safedeploy.domain.decisions import ACTOR
from safedeploy.domain.evidence import ApprovalDoc
from safedeploy.domain.incidents import Incident, next_state
from safedeploy.domain.instants import format_instant
from safedeploy.domain.proposals import (
    MITIGATING_KINDS,
    PauseChange,
    Proposal,
    ProposalEvent,
    next_status,
)
from safedeploy.errors import SafedeployError
from safedeploy.usecases.context import Context
from safedeploy.usecases.evidence_status import refresh_status
from safedeploy.usecases.records import record_incident, record_proposal

if TYPE_CHECKING:
    from safedeploy.adapters.envrepo import EnvRepo
    from safedeploy.adapters.github import GitHubClient


@dataclass(frozen=True)
class Landing:
    """What became of one approved change."""

    proposal: str
    outcome: Literal["merged", "closed"]
    how: str
    commit: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Recorded:
    """One landing as this run recorded it: for the command's output and the webhook."""

    service: str
    outcome: Literal["merged", "closed"]
    text: str

    @property
    def notice(self) -> str:
        # A closed rollback leaves the incident without its mitigation: worth a look.
        mark = ":information_source:" if self.outcome == "merged" else ":warning:"
        return f"{mark} {self.service}: {self.text}"


@dataclass(frozen=True)
class Watch:
    """Every landing seen, what could not be checked (exit 3), and notes for the output."""

    landings: tuple[Landing, ...] = ()
    undecided: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def watch_approved(ctx: Context, services: list[Service], only: str | None = None) -> Watch:
    """Read-only and outside the lock: the environment repo and GitHub are asked here.
    `only`: one proposal's id (approve run again on it)."""
    by_name = {s.name: s for s in services}
    approved = [
        p
        for p in ctx.store.load_proposals().items
        if p.status == "approved" and p.service in by_name and only in (None, p.id)
    ]
    if not approved:
        return Watch()
    github, notes = _github(ctx)
    landings: list[Landing] = []
    undecided: list[str] = []
    for proposal in approved:
        try:
            found = _landing(ctx, by_name[proposal.service], proposal, github)
        except SafedeployError as exc:
            undecided.append(f"{proposal.service}: cannot tell whether {proposal.id} merged: {exc}")
            continue
        if found is not None:
            landings.append(found)
    return Watch(tuple(landings), tuple(undecided), tuple(notes))


def _github(ctx: Context) -> tuple[GitHubClient | None, list[str]]:
    try:
        return ctx.github, []
    except SafedeployError as exc:  # no token for the cron job: merges are still seen in Git
        return None, [f"pull requests not checked ({exc}): merges are seen in Git alone"]


def _landing(
    ctx: Context, service: Service, proposal: Proposal, github: GitHubClient | None
) -> Landing | None:
    approval = proposal.approval
    assert approval is not None  # every approved proposal has one
    repo = ctx.env_repos.synced(service)
    path, holds = _change_in(repo, service, proposal)
    landed = repo.landing_of(path, holds)
    pull = (
        github.pull_request_state(approval.pr_number)
        if github is not None and approval.pr_number
        else None
    )
    number = f"pull request #{approval.pr_number}"
    if pull is not None and pull.state == "merged":
        commit = pull.merge_commit or (landed.sha if landed else None)
        return Landing(proposal.id, "merged", f"{number} merged", commit, pull.merged_at)
    if landed is not None:
        how = f"on {repo.default_branch} as {landed.sha[:12]}"
        return Landing(proposal.id, "merged", how, landed.sha, landed.committed_at)
    if pull is not None and pull.state == "closed":
        return Landing(proposal.id, "closed", f"{number} closed unmerged", at=pull.closed_at)
    if pull is None and approval.branch and not repo.has_branch(approval.branch):
        return Landing(proposal.id, "closed", f"branch {approval.branch} deleted unmerged")
    return None


def _change_in(
    repo: EnvRepo, service: Service, proposal: Proposal
) -> tuple[str, Callable[[str], bool]]:
    """The file the change is made in (a Rollout's workload file, for its version), and
    whether a text of it, as the default branch holds it, has the change."""
    from safedeploy.adapters import manifests, rollout_pause

    change = proposal.change
    target = service.spec.target
    if isinstance(change, PauseChange):
        return target.path, _quietly(lambda text: rollout_pause.pause(text, target) == text)
    moved = target.model_copy(update={"path": change.path, "kind": change.kind})
    located = manifests.version_target(moved, repo.read_file)
    return located.path, _quietly(
        lambda text: manifests.read_version(text, located) == change.to_version
    )


def _quietly(check: Callable[[str], bool]) -> Callable[[str], bool]:
    """A text that cannot be read as the target holds no change."""

    def holds(text: str) -> bool:
        try:
            return check(text)
        except SafedeployError:
            return False

    return holds


# --- under the lock ----------------------------------------------------------------------


def record_landings(store: StateStore, watch: Watch, at: datetime) -> list[Recorded]:
    """Apply each landing to the files as they are now."""
    told: list[Recorded] = []
    for landing in watch.landings:
        proposal = store.get_proposal(landing.proposal)
        if proposal is None or proposal.status != "approved" or at < proposal.updated_at:
            continue  # moved by another run since it was read, or a replay of the past
        told.append(_record(store, proposal, landing, at))
    return told


def sync_approved(
    ctx: Context, service: Service, proposal: Proposal, at: datetime
) -> tuple[list[Recorded], tuple[str, ...]]:
    """`approve` run again on an approved proposal: its landing recorded (and notified) as
    reconcile would, so the record never waits for cron; and what could not be checked."""
    from safedeploy.usecases.notify import notify_reconcile

    watch = watch_approved(ctx, [service], only=proposal.id)
    if not watch.landings:
        return [], (*watch.undecided, *watch.notes)
    with ctx.store.lock():
        recorded = record_landings(ctx.store, watch, at)
    told = notify_reconcile(
        ctx.store, [], at, ctx.settings, also=[(r.service, r.notice) for r in recorded]
    )
    return recorded, (*watch.undecided, *watch.notes, *told.warnings)


def _record(store: StateStore, proposal: Proposal, landing: Landing, at: datetime) -> Recorded:
    event: ProposalEvent = "merge" if landing.outcome == "merged" else "close"
    when = f" at {format_instant(landing.at)}" if landing.at else ""
    moved = next_status(
        proposal,
        event,
        at,
        ACTOR,
        f"{landing.how}{when}",
        merge_commit=landing.commit,
        merged_at=landing.at,
    )
    incident = store.get_incident(proposal.incident_id) if proposal.incident_id else None
    changed = _incident_after(incident, proposal, landing, at)
    folder = f"{proposal.evidence_dir}/"
    _update_approval_doc(store, folder, moved, landing)
    if changed is not None:
        record_incident(store, changed, changed.transitions[-1].event, at)
    refresh_status(store, proposal.subject, folder, changed or incident, (moved,))
    record_proposal(store, moved, event, at)
    state = f"; incident {changed.id} {changed.state}" if changed is not None else ""
    what = f"{proposal.kind} {proposal.id}: {landing.how}{when}{state}"
    return Recorded(proposal.service, landing.outcome, what)


def _incident_after(
    incident: Incident | None, proposal: Proposal, landing: Landing, at: datetime
) -> Incident | None:
    """A merged rollback mitigates; a closed one sends the incident back to investigating.
    A pause, or an incident a person already moved on, is left as it is."""
    if incident is None or proposal.kind not in MITIGATING_KINDS:
        return None
    if incident.state not in ("detected", "investigating"):
        return None
    when = format_instant(landing.at) if landing.at else "an unknown time"
    at = max(at, incident.updated_at)
    if landing.outcome == "merged":
        reason = f"rollback {proposal.id} merged: {landing.how} at {when}"
        return next_state(incident, "mitigate", at, ACTOR, reason)
    reason = f"rollback {proposal.id} not applied: {landing.how}; back to investigating"
    return next_state(incident, "mitigation-failed", at, ACTOR, reason)


def _update_approval_doc(store: StateStore, folder: str, moved: Proposal, landing: Landing) -> None:
    found = read_folder(store, folder).approval
    if found is None:
        return
    update = {"status": moved.status}
    landed = (
        {"merge_commit": landing.commit, "merged_at": landing.at}
        if landing.outcome == "merged"
        else {"closed_at": landing.at}
    )
    record = ApprovalDoc.model_validate({**found.model_dump(), **update, **landed})
    write_documents(store, folder, {layout.APPROVAL_DOC: record})
