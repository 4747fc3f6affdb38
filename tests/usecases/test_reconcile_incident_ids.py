"""Incidents reopened within a minute, or a second, are new files: nothing is overwritten.

checkout burns from 11:00 on in the embedded story. Its incident is resolved by hand a few
seconds after it opened, and the next reconcile, still in the same minute, opens another;
resolved again, the reconcile of that same second opens a third. Each keeps its own file,
history and evidence, and `replay --check` rebuilds all three from the audit log.
"""

from __future__ import annotations

import json
from pathlib import Path

from testing.faults import AT_HEALTHY, FaultWorld, copy_world, run

FIRST = "checkout-20261101t110500z"
SECOND = "checkout-20261101t110540z"
THIRD = "checkout-20261101t110540z-2"


def at(seconds: str) -> str:
    return f"2026-11-01T11:05:{seconds}Z"


def reconcile(state: Path, when: str) -> None:
    done = run("reconcile", "--at", when, cwd=state)
    assert done.code == 0, done.stderr


def resolve_by_hand(state: Path, incident: str, when: str) -> None:
    for event in ("mitigate", "resolve"):
        done = run(
            "incidents", "transition", incident, event, "--by", "alice",
            "--reason", "rolled back by hand", "--at", when,
            cwd=state,
        )  # fmt: skip
        assert done.code == 0, done.stderr


def incident(state: Path, incident_id: str) -> dict[str, object]:
    found: dict[str, object] = json.loads((state / "incidents" / f"{incident_id}.json").read_text())
    return found


def test_incidents_reopened_in_one_minute_keep_their_own_files(
    fault_world: FaultWorld, tmp_path: Path
) -> None:
    state = copy_world(fault_world, tmp_path / "world").state
    reconcile(state, AT_HEALTHY)
    reconcile(state, at("00"))
    resolve_by_hand(state, FIRST, at("20"))
    reconcile(state, at("40"))
    resolve_by_hand(state, SECOND, at("40"))
    reconcile(state, at("40"))

    names = sorted(p.stem for p in (state / "incidents").glob("*.json"))
    assert names == [FIRST, SECOND, THIRD]
    states = {name: incident(state, name)["state"] for name in names}
    assert states == {FIRST: "resolved", SECOND: "resolved", THIRD: "detected"}
    assert incident(state, FIRST)["opened_at"] == "2026-11-01T11:05:00Z"
    # Each its own evidence: the first's resolution stays with the first.
    for name in (FIRST, SECOND):
        ended = json.loads(
            (state / "evidence" / f"incident-{name}" / "resolution.json").read_text()
        )
        assert ended["incident"] == name
    assert not (state / "evidence" / f"incident-{THIRD}" / "resolution.json").exists()
    proposals = sorted(p.stem for p in (state / "action-proposals").glob("*-rollback-rollout.json"))
    assert proposals == sorted(f"{name}-rollback-rollout" for name in (FIRST, SECOND, THIRD))

    checked = run("replay", "--check", cwd=state)
    assert checked.code == 0, checked.stdout + checked.stderr
    # What the old ids did, the second written over the first, is a difference the log sees.
    first = state / "incidents" / f"{FIRST}.json"
    first.write_text((state / "incidents" / f"{SECOND}.json").read_text().replace(SECOND, FIRST))
    overwritten = run("replay", "--check", cwd=state)
    assert overwritten.code == 2
    assert f"incidents/{FIRST}.json" in overwritten.stdout + overwritten.stderr
