"""Commit messages for the state repository: what changed and why, with trailers.

The history of the state repository is the control plane's history, so each message names
the service, severity, incident, proposal, rule and numbers, and carries trailers that
`safedeploy history` reads back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from safedeploy.domain import trailers
from safedeploy.domain.decisions import Decision
from safedeploy.domain.instants import format_instant


def reconcile_message(at: datetime, decisions: Sequence[Decision]) -> str:
    changed = [d for d in decisions if d.incident_change or d.new_proposals]
    stamp = format_instant(at)
    if not changed:
        subject = f"reconcile {stamp}: state updated"
        body = ["No new decision; files left by an earlier run or a changed freeze or streak."]
    elif len(changed) == 1:
        subject = f"reconcile {stamp}: {_headline(changed[0])}"
        body = _details(changed[0])
    else:
        subject = f"reconcile {stamp}: {len(changed)} services changed"
        body = [line for d in changed for line in (f"{d.service}: {_headline(d)}", *_details(d))]
    services = sorted({d.service for d in changed})
    return _message(subject, body, at, services)


def action_message(
    action: str, subject_id: str, *, service: str, by: str, at: datetime, detail: str
) -> str:
    """approve, reject, or an incident transition made by a person."""
    return _message(f"{action} {subject_id} by {by}", [detail], at, [service])


def _headline(d: Decision) -> str:
    parts = [f"{d.service} {d.severity}"]
    if d.incident is not None and d.incident_change:
        parts.append(f"incident {d.incident.id} {d.incident_change}")
    if d.new_proposals:
        parts.append("proposed " + ", ".join(p.kind for p in d.new_proposals))
    return "; ".join(parts)


def _details(d: Decision) -> list[str]:
    lines = [f"Why: {d.reason}", f"Release: {d.verdict.decision}: {d.verdict.reason}"]
    lines += [f"Proposal {p.id}: rule {p.rule}: {p.reason}" for p in d.new_proposals]
    if d.control.freeze_until is not None:
        lines.append(f"Freeze until {format_instant(d.control.freeze_until)}")
    return lines


def _message(subject: str, body: list[str], at: datetime, services: Sequence[str]) -> str:
    fields = [(trailers.RUN, format_instant(at)), *((trailers.SERVICE, s) for s in services)]
    return trailers.message(subject, body, fields)


@dataclass(frozen=True)
class DecisionCommit:
    sha: str
    at: str
    subject: str
    body: str

    @property
    def services(self) -> tuple[str, ...]:
        return trailers.values(self.body, trailers.SERVICE)
