"""Kill -9 at every durable step of a whole incident's life; a rerun must finish the job.

The history: eight reconciles through checkout's bad release (the incident and its two
proposals open at 11:05), both approvals, and the two human transitions that close the
incident. A clean run of it, traced with SAFEDEPLOY_CRASH_TRACE, gives each command's
number of durable steps; then, for every step n of every command, a copy of the world as
it stood before that command runs it with SAFEDEPLOY_CRASH_AT=n.

The contract checked at each point (docs/reliability.md):
- right after the kill: every JSON file parses and every audit stream verifies; at most
  one incident or proposal file is behind the log (its line was appended, the file not
  yet renamed into place);
- the same command run again exits as the clean run did (a human transition whose line
  was already logged is refused as an illegal edge, which is what it now is), and then
  `replay --check` finds no difference;
- the incidents and proposals, and their states, are exactly the clean run's; the
  incidents and governance streams hold exactly the clean run's lines, plus at most one
  repeat of the interrupted line (a freeze logged whose control file was not written);
  the metrics and budget streams lose nothing (they may repeat an interrupted evaluation).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.cli import run as run_installed
from testing.faults import (
    AT_BREACH,
    HISTORY,
    INCIDENT,
    FaultWorld,
    Stage,
    copy_world,
    crash_then_rerun,
    decisions,
    leftovers,
    plan_history,
    problems,
    run,
)


@pytest.fixture(scope="module")
def stages(fault_world: FaultWorld, tmp_path_factory: pytest.TempPathFactory) -> list[Stage]:
    found = plan_history(fault_world, tmp_path_factory.mktemp("crash-history"))
    assert all(s.code == 0 for s in found), [s.args for s in found if s.code]
    return found


def _name(args: tuple[str, ...]) -> str:
    return "-".join(a.removeprefix("2026-11-01T").removesuffix(":00Z") for a in args[:4])


def test_the_history_has_over_a_hundred_kill_points(stages: list[Stage]) -> None:
    assert sum(s.steps for s in stages) >= 100
    assert all(s.steps > 0 for s in stages)


# Every stage of the history in the soak run; the default run kills the first stage (an
# incident opens), a middle one and the last, each at every one of its steps.
SWEEP = [
    pytest.param(
        index,
        id=_name(args),
        marks=(() if index in (0, len(HISTORY) // 2, len(HISTORY) - 1) else (pytest.mark.soak,)),
    )
    for index, args in enumerate(HISTORY)
]


@pytest.mark.parametrize("index", SWEEP)
def test_killed_at_every_step_a_rerun_finishes_the_job(
    stages: list[Stage], index: int, tmp_path: Path
) -> None:
    stage = stages[index]
    failures: list[str] = []
    for point in range(1, stage.steps + 1):
        world = copy_world(stage.before, tmp_path / f"at-{point}")
        failures += [f"kill at {point}: {p}" for p in crash_then_rerun(stage, world, point)]
    assert failures == []


@pytest.mark.soak
def test_a_run_killed_after_logging_an_incident_does_not_open_a_second_one(
    stages: list[Stage], tmp_path: Path
) -> None:
    """The next cron run comes a few minutes later, not at the same instant.

    Killed before the incident's line, the next run opens its own incident (nothing of
    the first run's decision survived); killed after it, the next run keeps that one.
    Either way there is one incident and one pair of proposals, never two.
    """
    breach = next(s for s in stages if s.args == ("reconcile", "--at", AT_BREACH))
    later = stages[breach.index + 1]
    trace = tmp_path / "trace"
    probe = copy_world(breach.before, tmp_path / "probe")
    run(*breach.args, cwd=probe.state, env={"SAFEDEPLOY_CRASH_TRACE": str(trace)})
    logged_at = next(
        n for n, line in enumerate(trace.read_text().splitlines(), 1) if "audit incidents" in line
    )
    for point in range(1, breach.steps + 1):
        world = copy_world(breach.before, tmp_path / f"at-{point}")
        assert run(*breach.args, cwd=world.state, env={"SAFEDEPLOY_CRASH_AT": str(point)}).killed
        assert run(*later.args, cwd=world.state).code == 0
        assert problems(world.state) == [], f"kill at {point}"
        found = decisions(world.state)
        incidents = [k for k in found if k.startswith("incidents/")]
        proposals = [k for k in found if k.startswith("action-proposals/")]
        assert len(incidents) == 1, f"kill at {point}: {found}"
        assert len(proposals) == 2, f"kill at {point}: {found}"
        if point > logged_at:
            assert found == later.decisions, f"kill at {point}"


def test_temp_files_of_killed_writes_are_ignored(stages: list[Stage], tmp_path: Path) -> None:
    """A write killed between its temp file and the rename leaves `.name.xxx.tmp`: harmless."""
    breach = next(s for s in stages if s.args == ("reconcile", "--at", AT_BREACH))
    world = copy_world(breach.before, tmp_path / "world")
    trace = tmp_path / "trace"
    probe = copy_world(breach.before, tmp_path / "probe")
    run(*breach.args, cwd=probe.state, env={"SAFEDEPLOY_CRASH_TRACE": str(trace)})
    point = next(
        n for n, line in enumerate(trace.read_text().splitlines(), 1) if "write checkout-" in line
    )
    assert run(*breach.args, cwd=world.state, env={"SAFEDEPLOY_CRASH_AT": str(point)}).killed
    (left,) = leftovers(world.state)
    assert left.startswith(f"incidents/.{INCIDENT}.json.")
    assert run(*breach.args, cwd=world.state).code == 0
    assert problems(world.state) == []
    assert decisions(world.state) == breach.decisions


@pytest.mark.parametrize("point", [1, 3, 5])
def test_the_installed_command_dies_where_told(
    stages: list[Stage], tmp_path: Path, point: int
) -> None:
    """The same through the `safedeploy` executable: a real process start, a real kill."""
    breach = next(s for s in stages if s.args == ("reconcile", "--at", AT_BREACH))
    world = copy_world(breach.before, tmp_path / "world")
    killed = run_installed(*breach.args, cwd=world.state, env={"SAFEDEPLOY_CRASH_AT": str(point)})
    assert killed.code == -9
    assert run_installed(*breach.args, cwd=world.state).code == 0
    assert problems(world.state) == []
    assert decisions(world.state) == breach.decisions
