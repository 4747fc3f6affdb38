"""Every change to an incident or a proposal goes through here: file and audit line together.

The audit log is the history and the files are its current state. Each incidents-stream
line carries the whole incident after the change, and each governance-stream line about a
proposal carries the whole proposal, so `replay` rebuilds both folders exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from safedeploy.adapters.store import StateStore
from safedeploy.domain.incidents import Incident
from safedeploy.domain.proposals import Proposal


def record_incident(store: StateStore, incident: Incident, event: str, at: datetime) -> None:
    """Write the incident and its audit line; a no-op when nothing changed."""
    if store.get_incident(incident.id) == incident:
        return
    # The audit line first: a crash before the file is written is repaired by the next run
    # (the file still differs, so it is written then); the other order could leave a file
    # that no audit line explains.
    store.append_audit(
        "incidents",
        event,
        {"incident": incident.model_dump(mode="json"), "service": incident.service},
        at,
    )
    store.write_incident(incident)


def record_proposal(store: StateStore, proposal: Proposal, event: str, at: datetime) -> None:
    if store.get_proposal(proposal.id) == proposal:
        return
    store.append_audit(
        "governance",
        event,
        {"proposal": proposal.model_dump(mode="json"), "service": proposal.service},
        at,
    )
    store.write_proposal(proposal)


def snapshot_of(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    return value if isinstance(value, dict) else None
