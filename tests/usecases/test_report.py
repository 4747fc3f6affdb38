"""report: the summary plus only the files it names, proposals and incidents re-read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from safedeploy.adapters.store import StateStore, atomic_write_bytes
from safedeploy.domain.incidents import next_state, open_incident
from safedeploy.domain.layout import SUMMARY
from safedeploy.domain.proposals import PauseChange, VersionChange, new_proposal, next_status
from safedeploy.domain.summary import ServiceSummary, SLOSummary, Summary
from safedeploy.errors import CannotDecideError
from safedeploy.schemas import read_schema, render
from safedeploy.usecases.context import Context
from safedeploy.usecases.report import report

AT = datetime(2026, 11, 1, tzinfo=UTC)


def entry(service: str, **changes: object) -> ServiceSummary:
    base = ServiceSummary(
        service=service,
        owner=f"team-{service}",
        at=AT,
        severity="normal",
        reason="all burn rates under their thresholds",
        decision="GREEN",
        decision_reason="every release rule passes",
        budget_remaining=0.7,
        incident=None,
        incident_state=None,
        proposals=(),
        freeze_until=None,
        slos=(
            SLOSummary(
                slo="availability",
                objective=0.999,
                period="30d",
                severity="normal",
                reason="fine",
                budget_remaining=0.7,
                burn_rates={"1h": 0.3, "6h": None},
            ),
        ),
    )
    return base.model_copy(update=changes)


def write_summary(state: Path, *entries: ServiceSummary) -> None:
    summary = Summary(at=AT, services=entries)
    atomic_write_bytes(state / SUMMARY, summary.model_dump_json(indent=2).encode())


def burning_state(state: Path) -> tuple[str, str, str]:
    """checkout with an incident, a rollback approved after reconcile and an open block."""
    store = StateStore(state)
    incident = open_incident(
        "checkout", "fast-burn", ("availability",), AT, actor="reconcile", reason="burning"
    )
    change = VersionChange(
        path="apps/checkout/rollout.yaml", kind="rollout", from_version="1.5.0", to_version="1.4.2"
    )
    rollback = new_proposal(
        "rollback-rollout", "checkout", incident.id, change, rule="fast-burn", reason="r", at=AT
    )
    block = new_proposal(
        "block-promotion",
        "checkout",
        incident.id,
        PauseChange(),
        rule="max-burn",
        reason="b",
        at=AT,
    )
    later = AT + timedelta(minutes=5)
    approved = next_status(
        rollback, "approve", later, "alice", "ok", branch="b", pr_url="https://pr/1"
    )
    mitigated = next_state(incident, "mitigate", later, "alice", "rolled back")
    with store.lock():
        store.write_incident(mitigated)
        store.write_proposal(approved)
        store.write_proposal(block)
    write_summary(
        state,
        entry(
            "checkout",
            severity="fast-burn",
            decision="RED",
            decision_reason="max-burn-rate: availability: 1h burn rate 99.95, limit 2",
            incident=incident.id,
            incident_state="detected",
            proposals=(rollback.id, block.id),
            freeze_until=AT + timedelta(hours=24),
        ),
        entry("inventory"),
    )
    return incident.id, rollback.id, block.id


def test_no_summary_yet_cannot_decide(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    with pytest.raises(CannotDecideError, match="run `safedeploy reconcile` first") as caught:
        report(Context(tmp_path))
    assert caught.value.exit_code == 3


def test_proposals_and_incident_are_re_read_from_their_files(tmp_path: Path) -> None:
    incident_id, rollback_id, block_id = burning_state(tmp_path)

    found = report(Context(tmp_path))

    checkout, inventory = found.services
    assert checkout.incident == incident_id
    assert checkout.incident_state == "mitigated"  # the file, not the stale summary
    assert checkout.proposals == [block_id]  # the approved rollback is no longer open
    statuses = {p.id: (p.status, p.pr_url) for p in checkout.proposal_details}
    assert statuses == {rollback_id: ("approved", "https://pr/1"), block_id: ("proposed", None)}
    assert checkout.decision == "RED"
    assert checkout.decision_reason.startswith("max-burn-rate:")
    assert checkout.freeze_until == AT + timedelta(hours=24)
    assert inventory.decision == "GREEN"
    assert inventory.incident is None
    assert inventory.proposals == []


def test_a_proposal_file_gone_missing_is_shown_not_guessed(tmp_path: Path) -> None:
    write_summary(
        tmp_path, entry("checkout", proposals=("checkout-20261101t0000z-block-promotion",))
    )
    [service] = report(Context(tmp_path)).services
    assert service.proposals == []
    assert [(p.id, p.status) for p in service.proposal_details] == [
        ("checkout-20261101t0000z-block-promotion", None)
    ]


def test_history_is_never_read(tmp_path: Path) -> None:
    """Unrelated incident files are broken and the audit log is garbage: neither is opened."""
    burning_state(tmp_path)
    (tmp_path / "incidents" / "other-20261001t0000z.json").write_text("{not json")
    (tmp_path / "action-proposals" / "junk.json").write_text("[]")
    (tmp_path / "audit").mkdir(exist_ok=True)
    (tmp_path / "audit" / "incidents.log").write_text("garbage\n" * 1000)

    assert [s.service for s in report(Context(tmp_path)).services] == ["checkout", "inventory"]


def test_json_matches_the_published_schema_and_the_design_fields(tmp_path: Path) -> None:
    burning_state(tmp_path)
    data = report(Context(tmp_path)).model_dump(mode="json")
    schema = json.loads(read_schema("report"))
    jsonschema.validate(data, schema)
    design = {
        "service",
        "owner",
        "severity",
        "decision",
        "decision_reason",
        "budget_remaining",
        "incident",
        "proposals",
        "freeze_until",
    }
    assert design <= set(data["services"][0])
    assert data["at"] == "2026-11-01T00:00:00Z"
    assert data["services"][0]["freeze_until"] == "2026-11-02T00:00:00Z"


def test_published_report_schema_is_the_generated_one() -> None:
    assert read_schema("report") == render("report"), "run: python -m safedeploy.schemas"


def test_schema_refuses_a_renamed_field(tmp_path: Path) -> None:
    burning_state(tmp_path)
    data = report(Context(tmp_path)).model_dump(mode="json")
    data["services"][0]["verdict"] = data["services"][0].pop("decision")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json.loads(read_schema("report")))
