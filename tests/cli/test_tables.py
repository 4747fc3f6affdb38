"""What people read: cron logs and pipes get plain lines, terminals get tables that fit,
from the same rows (cli/tables.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.cli import run, run_in_terminal
from testing.demo_state import AFTER_DEMO, state_ids

AT = AFTER_DEMO


PRINTING = [
    ("reconcile", "--at", AT, "--no-commit"),
    ("report",),
    ("incidents", "list"),
    ("proposals", "list"),
    ("slo", "status", "--at", AT),
    ("validate",),
]


@pytest.mark.parametrize("command", PRINTING, ids=lambda c: " ".join(c[:2]))
def test_off_a_terminal_every_line_is_whole_and_ends_without_spaces(
    demo_state: Path, command: tuple[str, ...]
) -> None:
    done = run(*command, cwd=demo_state)
    assert done.code in (0, 3), done.stderr
    lines = done.stdout.splitlines()
    assert lines
    assert [line for line in lines if line != line.rstrip()] == []
    for found in state_ids(demo_state):
        # An id is never split over two lines: where it is shown, it is whole.
        assert not any(line.endswith(found[:-3]) for line in lines), found
    # A line is only as long as what it says: no padding to a terminal's width.
    assert all(len(line) < 400 for line in lines)


def test_off_a_terminal_reconcile_and_report_give_one_line_per_service(demo_state: Path) -> None:
    for command in (("reconcile", "--at", AT, "--no-commit"), ("report",)):
        lines = run(*command, cwd=demo_state).stdout.splitlines()
        for service in ("checkout", "payments", "search"):
            rows = [line for line in lines if line.split("  ")[0] == service]
            assert len(rows) == 1, (command, service, lines)
        rollback = next(i for i in state_ids(demo_state) if i.endswith("rollback-rollout"))
        if command[0] == "reconcile":
            [checkout] = [line for line in lines if line.startswith("checkout ")]
            assert rollback in checkout  # the ids people copy, whole, on the service's line
            assert "availability: 6h/30m burn rate" in checkout


@pytest.mark.parametrize(
    "columns",
    [80, pytest.param(120, marks=pytest.mark.soak), pytest.param(200, marks=pytest.mark.soak)],
)
def test_in_a_terminal_tables_fit_and_never_split_an_id(demo_state: Path, columns: int) -> None:
    wanted = state_ids(demo_state)
    for command in (("reconcile", "--at", AT, "--no-commit"), ("proposals", "list"), ("report",)):
        done = run_in_terminal(*command, cwd=demo_state, columns=columns)
        assert done.code in (0, 3), done.stderr
        lines = done.stdout.splitlines()
        table = [line for line in lines if not line.startswith(("reconcile ", "state not"))]
        assert all(len(line) <= columns for line in table), (command, columns)
        shown = [i for i in wanted if any(i in line for line in lines)]
        # Each id the command shows is on one line; none is cut or folded.
        assert shown, (command, columns, done.stdout)
        for part in (i[: len(i) // 2] for i in wanted):
            for line in lines:
                if line.rstrip().endswith(part):
                    pytest.fail(f"{command} at {columns}: an id is split: {line!r}")


def test_the_same_rows_on_a_terminal_and_in_a_pipe(demo_state: Path) -> None:
    piped = run("incidents", "list", cwd=demo_state).stdout
    wide = run_in_terminal("incidents", "list", cwd=demo_state, columns=200).stdout
    for word in piped.split():
        assert word in wide, word


def test_counts_read_as_english(demo_state: Path) -> None:
    assert run("incidents", "list", cwd=demo_state).stdout.startswith("1 incident\n")
    assert run("proposals", "list", cwd=demo_state).stdout.startswith("2 proposals\n")
    summary = run("reconcile", "--at", AT, "--no-commit", cwd=demo_state).stdout
    assert "3 services, opened 0 incidents (none), created 0 proposals (none)" in summary
