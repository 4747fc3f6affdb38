"""Every change to an incident or a proposal goes through here: file and audit line together.

The audit log is the history and the files are its current state. Each incidents-stream
line carries the whole incident after the change, and each governance-stream line about a
proposal carries the whole proposal, so `replay` rebuilds both folders exactly.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from safedeploy.adapters.audit import Stream
from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.incidents import Incident
from safedeploy.domain.proposals import Proposal
from safedeploy.errors import BadInputError


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


def roll_forward(store: StateStore) -> list[Path]:
    """Finish a change a killed run logged but did not write; call it under the lock.

    Each change appends its line before it writes its file, so a run killed in between
    leaves exactly one file behind the log: the one named by the last line of its stream.
    That file is written here when it is missing or its transitions are a strict prefix of
    the logged ones. Without this, the next run would decide from the stale file and, an
    instant later, open a second incident for the service or lose the approval.
    """
    written: list[Path] = []
    try:
        incident = _logged(store, "incidents", "incident")
        if incident is not None:
            found = Incident.model_validate(incident)
            if _behind(store.get_incident(found.id), found):
                written.append(store.write_incident(found))
        proposal = _logged(store, "governance", "proposal")
        if proposal is not None:
            logged = Proposal.model_validate(proposal)
            if _behind(store.get_proposal(logged.id), logged):
                written.append(store.write_proposal(logged))
    except (BadInputError, ValidationError):
        pass  # a broken file or line is reported by the run's own loading and by verify
    return written


def _logged(store: StateStore, stream: Stream, key: str) -> dict[str, Any] | None:
    store.resolve(layout.audit_file(stream))  # a symlinked audit/ is never trusted
    entry = store.audit_log.last(stream)
    return snapshot_of(entry.data, key) if entry is not None else None


def _behind(on_disk: Incident | Proposal | None, logged: Incident | Proposal) -> bool:
    if on_disk is None:
        return True
    done = on_disk.transitions
    return len(done) < len(logged.transitions) and logged.transitions[: len(done)] == done


def snapshot_of(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    return value if isinstance(value, dict) else None
