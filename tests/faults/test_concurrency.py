"""Two and four reconciles started together, 50 rounds each: the lock makes them one.

A small catalog (checkout alone, on the short embedded history) keeps a round under half a
second. Runs at the same instant (cron overlapping itself) must leave exactly the files a
single run leaves, byte for byte: nothing duplicated, nothing lost, nothing torn. Runs at
successive instants must each record their evaluation once and open one incident between
them, even when they all start by cloning the environment repo into the shared cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from testing.cli import tree_snapshot
from testing.faults import (
    AT_BREACH,
    AT_HEALTHY,
    FaultWorld,
    audit_lines,
    build_fault_state,
    copy_world,
    decisions,
    finish,
    problems,
    run,
    start,
)

# The default run races a few rounds; the soak run (`pytest -m soak`, in CI) races many.
QUICK_ROUNDS = 3
SOAK_ROUNDS = 50
RACES = [
    pytest.param(2, QUICK_ROUNDS, id="2-runs-quick"),
    pytest.param(2, SOAK_ROUNDS, id="2-runs", marks=pytest.mark.soak),
    pytest.param(4, SOAK_ROUNDS, id="4-runs", marks=pytest.mark.soak),
]
RECORDED = ("incidents", "action-proposals", "evidence", "audit", "control-plane/state/services")


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> FaultWorld:
    """checkout alone, reconciled once while healthy, its environment repo already cloned."""
    world = build_fault_state(tmp_path_factory.mktemp("concurrency"), services=("checkout",))
    assert run("reconcile", "--at", AT_HEALTHY, cwd=world.state).code == 0
    return world


def _recorded(state: Path) -> dict[str, bytes]:
    return {
        name: data
        for name, data in tree_snapshot(state).items()
        if name.startswith(RECORDED) and not name.endswith(".lock")
    }


def _together(world: FaultWorld, instants: list[str]) -> list[int]:
    running = [
        start("reconcile", "--at", at, "--lock-timeout", "60", cwd=world.state) for at in instants
    ]
    outcomes = [finish(r) for r in running]
    return [o.code for o in outcomes]


@pytest.mark.parametrize(("runs", "rounds"), RACES)
def test_overlapping_runs_at_one_instant_leave_what_one_run_leaves(
    quiet: FaultWorld, tmp_path: Path, runs: int, rounds: int
) -> None:
    single = copy_world(quiet, tmp_path / "single")
    assert run("reconcile", "--at", AT_BREACH, cwd=single.state).code == 0
    expected = _recorded(single.state)
    assert any(name.startswith("incidents/") for name in expected)
    for number in range(rounds):
        world = copy_world(quiet, tmp_path / f"round-{number}")
        assert _together(world, [AT_BREACH] * runs) == [0] * runs, f"round {number}"
        assert problems(world.state) == [], f"round {number}"
        assert _recorded(world.state) == expected, f"round {number}"


@pytest.mark.parametrize(("runs", "rounds"), RACES)
def test_overlapping_runs_at_successive_instants_each_count_once(
    quiet: FaultWorld, tmp_path: Path, runs: int, rounds: int
) -> None:
    instants = [f"2026-11-01T11:{5 + n:02d}:00Z" for n in range(runs)]
    before = audit_lines(quiet.state)
    for number in range(max(1, rounds // 5)):
        world = copy_world(quiet, tmp_path / f"round-{number}")
        # No clone of the environment repo yet: the runs race to make it.
        shutil.rmtree(world.base / "cache")
        assert _together(world, instants) == [0] * runs, f"round {number}"
        assert problems(world.state) == [], f"round {number}"
        lines = audit_lines(world.state)
        assert lines["metrics"] == before["metrics"] + runs, f"round {number}"
        assert lines["budget"] == before["budget"] + runs, f"round {number}"
        found = decisions(world.state)
        assert sum(k.startswith("incidents/") for k in found) == 1, found
        assert sum(k.startswith("action-proposals/") for k in found) == 2, found
