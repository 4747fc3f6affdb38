"""Rewrite an evidence README's status block from the incident and proposal files as they
are now; called under the state lock by every step that moves either."""

from __future__ import annotations

from collections.abc import Sequence

from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.decisions import in_order
from safedeploy.domain.evidence_status import status_block, with_status
from safedeploy.domain.incidents import Incident
from safedeploy.domain.proposals import KINDS, Proposal, proposal_id


def refresh_status(
    store: StateStore,
    subject: str,
    folder: str,
    incident: Incident | None,
    replacing: Sequence[Proposal] = (),
) -> bool:
    """`subject` is the incident or release id the folder is about; `replacing` proposals
    about to be written, shown as they will be. True when the README was written."""
    newer = {p.id: p for p in replacing}
    found = (store.get_proposal(proposal_id(subject, kind)) for kind in KINDS)
    current = {p.id: p for p in found if p is not None}
    proposals = in_order(tuple({**current, **newer}.values()))
    relative = f"{folder.rstrip('/')}/{layout.README_DOC}"
    path = store.resolve(relative)
    readme = path.read_text(encoding="utf-8") if path.is_file() else None
    title = f"Incident {incident.id}" if incident is not None else f"Release {subject}"
    return store.write_text(relative, with_status(readme, status_block(incident, proposals), title))
