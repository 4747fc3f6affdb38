"""`safedeploy explain ID`: the chain of evidence behind an incident or a proposal.

Everything comes from files a reviewer can open: the incident, its proposals, and the
evidence folder reconcile and approve wrote (decision.json, slo.json, budget.json,
approval.json). A missing or unreadable evidence file is named, never guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safedeploy.adapters.evidence_files import read_documents
from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.incidents import Incident, check_id
from safedeploy.domain.proposals import KINDS, Proposal, proposal_id
from safedeploy.errors import BadInputError

EVIDENCE_FILES = ("decision.json", "slo.json", "budget.json", "proposal.json", "approval.json")


@dataclass(frozen=True)
class WindowFigures:
    window: str
    sli: float | None
    error_ratio: float | None
    burn_rate: float | None
    total: float | None


@dataclass(frozen=True)
class MeasuredSLO:
    slo: str
    objective: float | None
    period: str | None
    severity: str | None
    reason: str | None
    consumed: float | None
    remaining: float | None
    windows: tuple[WindowFigures, ...]


@dataclass(frozen=True)
class FiredAlert:
    slo: str
    severity: str
    windows: str
    factor: float | None
    long_burn_rate: float | None
    short_burn_rate: float | None


@dataclass(frozen=True)
class RuleLine:
    rule: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class PolicyFigures:
    decision: str | None
    reason: str | None
    rules: tuple[RuleLine, ...]


@dataclass(frozen=True)
class ApprovalFigures:
    """approval.json when it exists, else what the proposal itself records."""

    proposal: str
    status: str | None
    by: str
    at: str | None
    branch: str | None
    pr_url: str | None
    commit: str | None
    remote: str | None
    error: str | None
    source: str


@dataclass(frozen=True)
class Explanation:
    subject: str
    incident_id: str
    incident: Incident | None
    proposals: tuple[Proposal, ...]
    decided_at: str | None
    reason: str | None
    measured: tuple[MeasuredSLO, ...]
    fired: tuple[FiredAlert, ...]
    policy: PolicyFigures | None
    approvals: tuple[ApprovalFigures, ...]
    evidence_folder: str
    evidence_files: tuple[str, ...]
    problems: tuple[str, ...]


def explain(state: Path, subject: str) -> Explanation:
    check_id(subject, "incident or proposal id")
    store = StateStore(state)
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
    documents, files, problems = _read_evidence(store, folder)
    decision = _dict(documents.get("decision.json"))
    return Explanation(
        subject=subject,
        incident_id=incident_id,
        incident=incident,
        proposals=proposals,
        decided_at=_str(decision.get("at")),
        reason=_str(decision.get("reason")),
        measured=_measured(documents),
        fired=tuple(_fired(a) for a in _list(decision.get("alerts_fired"))),
        policy=_policy(decision.get("policy")),
        approvals=_approvals(documents.get("approval.json"), proposals),
        evidence_folder=f"{folder}/",
        evidence_files=files,
        problems=problems,
    )


def _proposals_of(store: StateStore, incident_id: str) -> tuple[Proposal, ...]:
    """Proposal ids derive from (incident, kind), so three reads find them all."""
    found = (store.get_proposal(proposal_id(incident_id, kind)) for kind in KINDS)
    return tuple(p for p in found if p is not None)


def _read_evidence(
    store: StateStore, folder: str
) -> tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]:
    directory = store.resolve(folder)
    if not directory.is_dir():
        return {}, (), (f"{folder}/ does not exist",)
    files = tuple(sorted(p.name for p in directory.iterdir() if p.is_file()))
    documents, broken = read_documents(directory, EVIDENCE_FILES)
    problems = tuple(f"{folder}/{name} is not valid JSON; left out" for name in broken)
    return documents, files, problems


def _measured(documents: dict[str, Any]) -> tuple[MeasuredSLO, ...]:
    budget_slos = _list(_dict(documents.get("budget.json")).get("slos"))
    budgets = {_str(b.get("slo")): b for b in map(_dict, budget_slos)}
    measured: list[MeasuredSLO] = []
    for raw in map(_dict, _list(_dict(documents.get("slo.json")).get("slos"))):
        name = _str(raw.get("slo")) or "?"
        budget = _dict(raw.get("budget")) or budgets.get(name, {})
        windows = _dict(raw.get("windows"))
        measured.append(
            MeasuredSLO(
                slo=name,
                objective=_float(raw.get("objective")),
                period=_str(raw.get("period")),
                severity=_str(raw.get("severity")),
                reason=_str(raw.get("reason")),
                consumed=_float(budget.get("consumed")),
                remaining=_float(budget.get("remaining")),
                windows=tuple(
                    WindowFigures(
                        window=str(window),
                        sli=_float(_dict(w).get("sli")),
                        error_ratio=_float(_dict(w).get("error_ratio")),
                        burn_rate=_float(_dict(w).get("burn_rate")),
                        total=_float(_dict(w).get("total")),
                    )
                    for window, w in windows.items()
                ),
            )
        )
    return tuple(measured)


def _fired(raw: object) -> FiredAlert:
    alert = _dict(raw)
    return FiredAlert(
        slo=_str(alert.get("slo")) or "?",
        severity=_str(alert.get("severity")) or "?",
        windows=_str(alert.get("windows")) or "?",
        factor=_float(alert.get("factor")),
        long_burn_rate=_float(alert.get("long_burn_rate")),
        short_burn_rate=_float(alert.get("short_burn_rate")),
    )


def _policy(raw: object) -> PolicyFigures | None:
    policy = _dict(raw)
    if not policy:
        return None
    rules = tuple(
        RuleLine(
            rule=_str(r.get("rule")) or "?",
            outcome=_str(r.get("outcome")) or "?",
            detail=_str(r.get("detail")) or "",
        )
        for r in map(_dict, _list(policy.get("rules")))
    )
    return PolicyFigures(_str(policy.get("decision")), _str(policy.get("reason")), rules)


def _approvals(raw: object, proposals: tuple[Proposal, ...]) -> tuple[ApprovalFigures, ...]:
    record = _dict(raw)
    found: list[ApprovalFigures] = []
    for proposal in proposals:
        if record.get("proposal") == proposal.id:
            found.append(
                ApprovalFigures(
                    proposal=proposal.id,
                    status=_str(record.get("status")),
                    by=_str(record.get("by")) or "?",
                    at=_str(record.get("at")),
                    branch=_str(record.get("branch")),
                    pr_url=_str(record.get("pr_url")),
                    commit=_str(record.get("commit")),
                    remote=_str(record.get("remote")),
                    error=_str(record.get("error")),
                    source="approval.json",
                )
            )
        elif proposal.approval is not None:
            approval = proposal.approval
            found.append(
                ApprovalFigures(
                    proposal=proposal.id,
                    status=proposal.status,
                    by=approval.by,
                    at=approval.at.isoformat().replace("+00:00", "Z"),
                    branch=approval.branch,
                    pr_url=approval.pr_url,
                    commit=None,
                    remote=None,
                    error=approval.error,
                    source=layout.proposal_file(proposal.id),
                )
            )
    return tuple(found)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
