"""Where an incident and its proposals stand, as the evidence README says at every step.

Reconcile writes the README with the measurements of its decision; later steps (an
approval, a merge, a closed pull request, a resolution) change only the block between
the two markers below, rebuilt from the incident and proposal files alone, so a reviewer
never reads "proposed" after an approval or "waiting for a merge" after the merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from safedeploy.domain.incidents import Incident
from safedeploy.domain.instants import format_instant
from safedeploy.domain.proposals import UNVERIFIED, Approval, Proposal

START: Final = "<!-- safedeploy:status -->"
END: Final = "<!-- /safedeploy:status -->"


def status_block(incident: Incident | None, proposals: Sequence[Proposal]) -> str:
    lines = [START, "## Where it stands", ""]
    if incident is not None:
        last = incident.transitions[-1]
        lines += [
            f"Incident `{incident.id}` is **{incident.state}** ({incident.severity}) since "
            f"{format_instant(last.at)}: {last.reason}.",
            "",
        ]
    lines += [f"- {proposal_line(p)}" for p in proposals] or ["No action proposed."]
    if incident is not None:
        lines += ["", "### Incident history", ""]
        lines += [
            f"- {format_instant(t.at)} {t.event}: {t.from_state or '-'} -> {t.to_state} "
            f"({t.severity}) by {t.actor}: {t.reason}"
            for t in incident.transitions
        ]
    return "\n".join([*lines, END])


def proposal_line(proposal: Proposal) -> str:
    """One proposal: its status, who decided and how that was established, and what next."""
    head = f"`{proposal.id}` ({proposal.kind}"
    approval = proposal.approval
    last = proposal.transitions[-1] if proposal.transitions else None
    if proposal.status == "proposed" or (approval is None and last is None):
        return (
            f"{head}, proposed): {proposal.reason}. Approve with "
            f"`safedeploy approve {proposal.id}`."
        )
    if proposal.status == "rejected" and last is not None:
        return f"{head}, rejected) by {last.actor} at {format_instant(last.at)}: {last.reason}."
    assert approval is not None  # approve, fail, merge and close all keep one
    by = f"by {approval.by}{identity_note(approval)} at {format_instant(approval.at)}"
    where = _where(approval)
    if proposal.status == "failed":
        return f"{head}, failed): approval {by} failed: {approval.error}. Approve again to retry."
    if proposal.status == "approved":
        return f"{head}, approved) {by}; {where}, waiting to be merged."
    if proposal.status == "merged":
        landed = (approval.merge_commit or "?")[:12]
        when = format_instant(approval.merged_at) if approval.merged_at else "?"
        return f"{head}, merged) {by}; {where}, on the default branch as {landed} at {when}."
    reason = last.reason if last is not None else "closed"
    return f"{head}, closed) {by}; {where}: {reason}."


def identity_note(approval: Approval) -> str:
    """` (identity not verified)`, ` (verified: GitHub user ...)`, or nothing for old files."""
    if approval.identity is None:
        return ""
    if approval.identity == UNVERIFIED:
        return f" ({UNVERIFIED})"
    return f" (verified: {approval.identity})"


def _where(approval: Approval) -> str:
    if approval.pr_url:
        number = f"#{approval.pr_number} " if approval.pr_number else ""
        return f"pull request {number}{approval.pr_url}"
    return f"branch {approval.branch}" if approval.branch else "no branch"


def with_status(readme: str | None, block: str, title: str) -> str:
    """The README with its status block replaced; one without a block (written by an
    older version) gets it after the title, and a missing README is the title and block."""
    if readme is None:
        return f"# {title}\n\n{block}\n"
    start, end = readme.find(START), readme.find(END)
    if start != -1 and end > start:
        return readme[:start] + block + readme[end + len(END) :]
    first, _, rest = readme.partition("\n")
    return f"{first}\n\n{block}\n{rest}"
