"""Audit verification and replay: the log is the history, the folders are its current state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from safedeploy.adapters.audit import VerifyReport
from safedeploy.adapters.store import atomic_write_bytes
from safedeploy.domain import layout
from safedeploy.domain.incidents import Incident
from safedeploy.domain.proposals import Proposal
from safedeploy.errors import EXIT_BAD_INPUT, EXIT_OK, BadInputError
from safedeploy.usecases.context import Context
from safedeploy.usecases.records import snapshot_of


@dataclass(frozen=True)
class VerifyResult:
    reports: tuple[VerifyReport, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports)

    @property
    def exit_code(self) -> int:
        # A broken chain means the state is not valid input.
        return EXIT_OK if self.ok else EXIT_BAD_INPUT


def verify(ctx: Context) -> VerifyResult:
    """Every stream's chain, and that it extends what every state commit recorded of it."""
    store = ctx.store
    anchors = ctx.state_repo.anchors() if ctx.state_repo.is_work_tree() else []
    return VerifyResult(tuple(store.audit_log.verify_all(anchors)))


def require_verified(ctx: Context, doing: str) -> None:
    """Refuse to act on a log that does not verify: restoring from a cut or forged log
    would make the forgery the state."""
    for report in verify(ctx).reports:
        if not report.ok:
            raise BadInputError(
                f"{layout.audit_file(report.stream)}:{report.line}: {report.problem}; "
                f"{doing} refused: the audit log does not verify"
            )


@dataclass
class ReplayResult:
    incidents: int = 0
    proposals: int = 0
    differences: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_BAD_INPUT if self.differences and not self.written else EXIT_OK


def replay(ctx: Context, *, check: bool) -> ReplayResult:
    """Rebuild incidents/ and action-proposals/ from the audit log; compare or restore."""
    require_verified(ctx, "replay --check" if check else "replay")
    store = ctx.store
    rebuilt: dict[str, bytes] = {}
    for entry in store.audit_log.entries("incidents"):
        snapshot = snapshot_of(entry.data, "incident")
        if snapshot is not None:
            incident = Incident.model_validate(snapshot)
            rebuilt[layout.incident_file(incident.id)] = _file_bytes(incident)
    for entry in store.audit_log.entries("governance"):
        snapshot = snapshot_of(entry.data, "proposal")
        if snapshot is not None:
            proposal = Proposal.model_validate(snapshot)
            rebuilt[layout.proposal_file(proposal.id)] = _file_bytes(proposal)
    result = ReplayResult(
        incidents=sum(1 for k in rebuilt if k.startswith(f"{layout.INCIDENTS}/")),
        proposals=sum(1 for k in rebuilt if k.startswith(f"{layout.PROPOSALS}/")),
    )
    on_disk = {
        f"{d}/{p.name}": p
        for d in (layout.INCIDENTS, layout.PROPOSALS)
        if (store.root / d).is_dir()
        for p in sorted((store.root / d).glob("*.json"))
    }
    for relative, data in sorted(rebuilt.items()):
        path = on_disk.get(relative)
        if path is None:
            result.differences.append(f"{relative}: in the audit log but missing on disk")
        elif _normal(path.read_bytes()) != _normal(data):
            result.differences.append(f"{relative}: differs from the audit log")
    for relative in sorted(set(on_disk) - set(rebuilt)):
        result.differences.append(f"{relative}: on disk but not in the audit log")
    if not check and result.differences:
        with store.lock():
            for relative, data in sorted(rebuilt.items()):
                target = store.resolve(relative)
                if not target.exists() or _normal(target.read_bytes()) != _normal(data):
                    atomic_write_bytes(target, data)
                    result.written.append(relative)
    return result


def _file_bytes(model: Incident | Proposal) -> bytes:
    return (model.model_dump_json(indent=2) + "\n").encode("utf-8")


def _normal(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested past the limit
        return raw
