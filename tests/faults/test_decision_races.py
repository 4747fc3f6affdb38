"""Decisions made while another is on the network: no lock held there, no update lost.

An approve talks to the environment repo (fetch, then push) outside the state lock, so
a slow remote keeps nobody else waiting; what another command recorded meanwhile is read
again under the lock and built on. When two people decide on the same proposal at once,
the first one recorded stands and the other is refused, naming what it pushed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.faults import (
    AT_BREACH,
    INCIDENT,
    ROLLBACK,
    FaultWorld,
    Outcome,
    copy_world,
    finish,
    problems,
    run,
    start,
)
from testing.held_git import Gate, hold_fetches, hold_pushes


def _hold_fetches(world: FaultWorld, gate: Gate) -> None:
    # A copied world's clone is cached under its own remote's path: made here first.
    warmed = run("reconcile", "--dry-run", "--at", AT_BREACH, cwd=world.state)
    assert warmed.code == 0, warmed.stderr
    hold_fetches(world.base / "cache", gate)


HOLDS = {
    "fetch": _hold_fetches,
    "push": lambda world, gate: hold_pushes(world.env, gate),
}


@pytest.fixture
def world(burning_world: FaultWorld, tmp_path: Path) -> FaultWorld:
    return copy_world(burning_world, tmp_path / "world")


def incident(world: FaultWorld) -> dict[str, object]:
    found: dict[str, object] = json.loads(
        (world.state / "incidents" / f"{INCIDENT}.json").read_text()
    )
    return found


def events(world: FaultWorld) -> list[str]:
    transitions = incident(world)["transitions"]
    assert isinstance(transitions, list)
    return [t["event"] for t in transitions]


def while_approving(
    world: FaultWorld, gate: Gate, *commands: tuple[str, ...]
) -> tuple[Outcome, list[Outcome]]:
    """The rollback approved by alice, and `commands` run while its remote holds it."""
    approving = start("approve", ROLLBACK, "--by", "alice", cwd=world.state)
    try:
        gate.wait_for_arrival()
        meanwhile = [run(*command, cwd=world.state) for command in commands]
    finally:
        gate.release()
    return finish(approving), meanwhile


ACKNOWLEDGE = (
    "incidents", "transition", INCIDENT, "acknowledge",
    "--by", "bob", "--reason", "looking at the dashboards",
)  # fmt: skip
RECONCILE = ("reconcile", "--at", "2026-11-01T11:10:00Z", "--lock-timeout", "2")


@pytest.mark.parametrize("held", sorted(HOLDS))
def test_a_transition_while_an_approve_waits_on_the_remote_is_kept(
    world: FaultWorld, tmp_path: Path, held: str
) -> None:
    gate = Gate(tmp_path / "gate")
    HOLDS[held](world, gate)
    # While the approve is on the network the state lock is free: a held lock would make
    # the transition wait its 10 seconds and exit 3. A reconcile reads the same remote, so
    # it runs beside a held push only.
    meanwhile = (ACKNOWLEDGE, RECONCILE) if held == "push" else (ACKNOWLEDGE,)
    done, others = while_approving(world, gate, *meanwhile)
    for other in others:
        assert other.code == 0, other.stderr
    assert done.code == 0, done.stderr
    # Both decisions are in the record, in order: the approve built on the transition.
    assert events(world)[-2:] == ["acknowledge", "propose-rollback"]
    assert incident(world)["state"] == "investigating"
    proposal = json.loads((world.state / "action-proposals" / f"{ROLLBACK}.json").read_text())
    assert proposal["status"] == "approved"
    assert problems(world.state) == []


def test_a_rejection_while_an_approve_pushes_stands_and_the_approve_refuses(
    world: FaultWorld, tmp_path: Path
) -> None:
    gate = Gate(tmp_path / "gate")
    hold_pushes(world.env, gate)
    rejecting = ("reject", ROLLBACK, "--by", "bob", "--reason", "rolling forward instead")
    done, (rejected,) = while_approving(world, gate, rejecting)
    assert rejected.code == 0, rejected.stderr
    assert done.code == 2
    (line,) = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert (
        f"alice (identity not verified) cannot record the decision on {ROLLBACK}: another run "
        "moved it to rejected meanwhile, and that decision stands; branch "
        f"safedeploy/{ROLLBACK} was pushed before and is left as it is; nothing was recorded"
    ) in line
    proposal = json.loads((world.state / "action-proposals" / f"{ROLLBACK}.json").read_text())
    assert proposal["status"] == "rejected"
    assert "propose-rollback" not in events(world)
    assert problems(world.state) == []
