"""A state directory holding one open incident and one proposal, as reconcile leaves it.

Built from the domain functions and written through the state store under its lock, so
approval tests start from the same files a real run would produce without running
reconcile itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.incidents import Incident, open_incident
from safedeploy.domain.proposals import (
    PauseChange,
    Proposal,
    ProposalKind,
    TargetChange,
    VersionChange,
    new_proposal,
)
from safedeploy.usecases.records import record_incident, record_proposal
from testing.builders import service_yaml, write_service
from testing.gitrepos import ROLLOUT_PATH, EnvRemote

OPENED_AT = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
APPROVED_AT = OPENED_AT + timedelta(minutes=20)
RULE = "fast-burn: 1h/5m burn rate above 14.4"
REASON = "availability burn 20.5x over 1h and 31.0x over 5m since checkout 1.5.0"

README = """\
# Incident checkout-20261101t0000z

checkout availability is burning its error budget at 20.5x (1h) and 31.0x (5m).
The error rate rose right after 1.5.0 replaced 1.4.2.
"""

# The shapes reconcile writes (safedeploy/domain/evidence.py), cut to what approval reads.
EVIDENCE_DOCUMENTS: dict[str, dict[str, Any]] = {
    "decision.json": {
        "schema_version": 1,
        "service": "checkout",
        "severity": "fast-burn",
        "reason": REASON,
        "alerts_fired": [
            {
                "slo": "availability",
                "severity": "fast-burn",
                "windows": "1h/5m",
                "factor": 14.4,
                "long_burn_rate": 20.5,
                "short_burn_rate": 31.0,
                "state": "breached",
            }
        ],
    },
    "slo.json": {
        "schema_version": 1,
        "service": "checkout",
        "slos": [
            {
                "slo": "availability",
                "severity": "fast-burn",
                "budget": {"consumed": 0.42, "remaining": 0.58},
                "windows": {"5m": {"burn_rate": 31.0}, "1h": {"burn_rate": 20.5}},
            }
        ],
    },
    "budget.json": {
        "schema_version": 1,
        "service": "checkout",
        "slos": [{"slo": "availability", "consumed": 0.42, "remaining": 0.58}],
    },
}


# Most approval tests are about what an approval does, not who may make it: they declare
# who approves. tests/usecases/test_identity.py proves identities.
DECLARED: dict[str, str] = {"identity": "declared"}


@dataclass(frozen=True)
class Scenario:
    state: Path
    remote: EnvRemote
    incident: Incident
    proposal: Proposal
    store: StateStore
    approvals: dict[str, str] = field(default_factory=lambda: dict(DECLARED))

    @property
    def evidence(self) -> Path:
        return self.state / layout.incident_evidence(self.incident.id)

    @property
    def branch(self) -> str:
        return f"safedeploy/{self.proposal.id}"

    def current_proposal(self) -> Proposal:
        found = self.store.get_proposal(self.proposal.id)
        assert found is not None
        return found

    def current_incident(self) -> Incident:
        found = self.store.get_incident(self.incident.id)
        assert found is not None
        return found

    def configure(self, **sections: dict[str, str]) -> None:
        """Rewrite safedeploy.toml with these tables ({"github": {"provider": "github"}}),
        and the scenario's [approvals] unless one is given."""
        lines: list[str] = []
        for name, values in {"approvals": self.approvals, **sections}.items():
            lines.append(f"[{name}]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
            lines.append("")
        (self.state / "safedeploy.toml").write_text("\n".join(lines), encoding="utf-8")


def commit_state(state: Path, message: str = "state as reviewed") -> str:
    """Everything in the state directory committed, the directory made a Git work tree
    first if it is not one: the record that approvers and identities are read from."""
    from testing.state_repo import git

    if not (state / ".git").exists():
        git(state, "init", "--quiet", "--initial-branch=main")
    git(state, "add", "--all")
    git(state, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(state, "rev-parse", "HEAD").strip()


def default_change(kind: ProposalKind) -> TargetChange:
    if kind == "block-promotion":
        return PauseChange()
    if kind == "promote-canary":
        return VersionChange(
            path=ROLLOUT_PATH, kind="rollout", from_version="1.5.0", to_version="1.6.0"
        )
    return VersionChange(
        path=ROLLOUT_PATH, kind="rollout", from_version="1.5.0", to_version="1.4.2"
    )


def build_scenario(
    root: Path,
    remote: EnvRemote,
    *,
    kind: ProposalKind = "rollback-rollout",
    change: TargetChange | None = None,
    approvers: tuple[str, ...] = ("alice",),
    with_evidence: bool = True,
    approvals: dict[str, str] | None = None,
) -> Scenario:
    """`root/state` with services/checkout.yaml, safedeploy.toml, incident and proposal.

    `approvals`: the [approvals] table (default: declared identities)."""
    state = root / "state"
    listed = ", ".join(json.dumps(a) for a in approvers)  # "@org/team" needs its quotes
    write_service(
        state / "services",
        "checkout",
        service_yaml("checkout").replace("approvers: [alice]", f"approvers: [{listed}]"),
    )
    incident = open_incident(
        "checkout",
        "fast-burn",
        ("availability",),
        OPENED_AT,
        actor="safedeploy",
        reason=REASON,
    )
    proposal = new_proposal(
        kind,
        "checkout",
        incident.id,
        change or default_change(kind),
        rule=RULE,
        reason=REASON,
        at=OPENED_AT,
    )
    store = StateStore(state)
    with store.lock():
        record_incident(store, incident, "open", OPENED_AT)
        record_proposal(store, proposal, "proposed", OPENED_AT)
    scenario = Scenario(
        state, remote, incident, proposal, store, dict(DECLARED if approvals is None else approvals)
    )
    scenario.configure(environment={"repo": remote.url})
    if with_evidence:
        scenario.evidence.mkdir(parents=True, exist_ok=True)
        (scenario.evidence / "README.md").write_text(README, encoding="utf-8")
        for name, document in EVIDENCE_DOCUMENTS.items():
            (scenario.evidence / name).write_text(json.dumps(document), encoding="utf-8")
        (scenario.evidence / "proposal.json").write_text(
            proposal.model_dump_json(indent=2), encoding="utf-8"
        )
    return scenario
