"""`safedeploy explain ID`: the chain of evidence behind an incident or a proposal.

Everything comes from files a reviewer can open: the incident, its proposals, and the
evidence folder reconcile and approve wrote (decision.json, slo.json, budget.json,
approval.json). A missing or unreadable evidence file is named, never guessed at.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from safedeploy.adapters.evidence_files import read_folder
from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.evidence import EvidenceFolder, FiredAlert, PolicyLines, WindowFigures
from safedeploy.domain.incidents import Incident, UtcDatetime, check_id
from safedeploy.domain.proposals import KINDS, Proposal, proposal_id
from safedeploy.errors import EXIT_OK, BadInputError
from safedeploy.usecases.context import Context


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MeasuredWindow(WindowFigures):
    window: str


class MeasuredSLO(_Frozen):
    """One SLO as slo.json measured it, its budget from slo.json or else budget.json."""

    slo: str
    objective: float | None
    period: str | None
    severity: str | None
    reason: str | None
    consumed: float | None
    remaining: float | None
    windows: tuple[MeasuredWindow, ...]


class ApprovalFigures(_Frozen):
    """approval.json when it exists, else what the proposal itself records."""

    proposal: str
    status: str | None
    by: str
    at: UtcDatetime | None
    branch: str | None
    pr_url: str | None
    commit: str | None
    remote: str | None
    error: str | None
    source: str


class Explanation(_Frozen):
    subject: str
    incident_id: str
    incident: Incident | None
    proposals: tuple[Proposal, ...]
    decided_at: UtcDatetime | None
    reason: str | None
    measured: tuple[MeasuredSLO, ...]
    fired: tuple[FiredAlert, ...]
    policy: PolicyLines | None
    approvals: tuple[ApprovalFigures, ...]
    evidence_folder: str
    evidence_files: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        # Missing evidence is named in `problems`; the chain is still told.
        return EXIT_OK


def explain(ctx: Context, subject: str) -> Explanation:
    check_id(subject, "incident or proposal id")
    store = ctx.store
    proposal = store.get_proposal(subject)
    incident = store.get_incident(subject) if proposal is None else None
    if proposal is None and incident is None:
        raise BadInputError(
            f"{subject}: no such incident ({layout.incident_file(subject)}) "
            f"or proposal ({layout.proposal_file(subject)})"
        )
    incident_id = proposal.subject if proposal is not None else subject
    if incident is None and proposal is not None and proposal.incident_id is not None:
        incident = store.get_incident(proposal.incident_id)
    proposals = (proposal,) if proposal is not None else _proposals_of(store, incident_id)
    folder = (
        proposal.evidence_dir if proposal is not None else layout.incident_evidence(incident_id)
    )
    evidence = read_folder(store, folder)
    decision = evidence.decision
    return Explanation(
        subject=subject,
        incident_id=incident_id,
        incident=incident,
        proposals=proposals,
        decided_at=decision.at if decision else None,
        reason=decision.reason if decision else None,
        measured=_measured(evidence),
        fired=decision.alerts_fired if decision else (),
        policy=decision.policy if decision else None,
        approvals=_approvals(evidence, proposals),
        evidence_folder=evidence.folder,
        evidence_files=evidence.files,
        problems=_problems(evidence),
    )


def _proposals_of(store: StateStore, incident_id: str) -> tuple[Proposal, ...]:
    """Proposal ids derive from (incident, kind), so three reads find them all."""
    found = (store.get_proposal(proposal_id(incident_id, kind)) for kind in KINDS)
    return tuple(p for p in found if p is not None)


def _problems(evidence: EvidenceFolder) -> tuple[str, ...]:
    if not evidence.exists:
        return (f"{evidence.folder} does not exist",)
    return tuple(
        f"{evidence.folder}{p.name} is {p.reason}"
        + (f" ({p.detail})" if p.detail else "")
        + "; left out"
        for p in evidence.problems
    )


def _measured(evidence: EvidenceFolder) -> tuple[MeasuredSLO, ...]:
    if evidence.slo is None:
        return ()
    budgets = {b.slo: b for b in evidence.budget.slos} if evidence.budget else {}
    measured: list[MeasuredSLO] = []
    for slo in evidence.slo.slos:
        budget = budgets.get(slo.slo)
        consumed, remaining = slo.budget.consumed, slo.budget.remaining
        if consumed is None and remaining is None and budget is not None:
            consumed, remaining = budget.consumed, budget.remaining
        measured.append(
            MeasuredSLO(
                slo=slo.slo,
                objective=slo.objective,
                period=slo.period,
                severity=slo.severity,
                reason=slo.reason,
                consumed=consumed,
                remaining=remaining,
                windows=tuple(
                    MeasuredWindow(window=name, **figures.model_dump())
                    for name, figures in slo.windows.items()
                ),
            )
        )
    return tuple(measured)


def _approvals(
    evidence: EvidenceFolder, proposals: tuple[Proposal, ...]
) -> tuple[ApprovalFigures, ...]:
    record = evidence.approval
    found: list[ApprovalFigures] = []
    for proposal in proposals:
        if record is not None and record.proposal == proposal.id:
            found.append(
                ApprovalFigures(
                    proposal=proposal.id,
                    status=record.status,
                    by=record.by,
                    at=record.at,
                    branch=record.branch,
                    pr_url=record.pr_url,
                    commit=record.commit,
                    remote=record.remote,
                    error=record.error,
                    source=layout.APPROVAL_DOC,
                )
            )
        elif proposal.approval is not None:
            approval = proposal.approval
            found.append(
                ApprovalFigures(
                    proposal=proposal.id,
                    status=proposal.status,
                    by=approval.by,
                    at=approval.at,
                    branch=approval.branch,
                    pr_url=approval.pr_url,
                    commit=None,
                    remote=None,
                    error=approval.error,
                    source=layout.proposal_file(proposal.id),
                )
            )
    return tuple(found)
