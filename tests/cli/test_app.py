"""The conventions every command follows: --json everywhere, JSON errors, --state after the
subcommand, --out is a file, --service names a service; and messages that say what happened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.cli import Result, run
from testing.demo_state import AFTER_DEMO, state_ids

AT = AFTER_DEMO


# --- flags and machine output --------------------------------------------------------------


JSON_COMMANDS = [
    ("validate", "--json"),
    ("slo", "status", "--at", AT, "--json"),
    ("reconcile", "--at", AT, "--no-commit", "--json"),
    ("incidents", "list", "--json"),
    ("proposals", "list", "--json"),
    ("audit", "verify", "--json"),
    ("replay", "--check", "--json"),
    ("report", "--json"),
    ("gate", "checkout", "--at", AT, "--json"),
]


@pytest.mark.parametrize("command", JSON_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_command_that_prints_results_speaks_json(
    demo_state: Path, command: tuple[str, ...]
) -> None:
    done = run(*command, cwd=demo_state)
    assert done.code in (0, 1, 3), done.stderr
    json.loads(done.stdout)


def test_report_json_is_report_format_json(demo_state: Path) -> None:
    flag = json.loads(run("report", "--json", cwd=demo_state).stdout)
    assert flag == json.loads(run("report", "--format", "json", cwd=demo_state).stdout)


def test_the_state_directory_may_follow_the_subcommand(demo_state: Path, tmp_path: Path) -> None:
    before = run("--state", str(demo_state), "report", "--json", cwd=tmp_path)
    after = run("report", "--json", "--state", str(demo_state), cwd=tmp_path)
    assert (before.code, after.code) == (0, 0)
    assert json.loads(before.stdout) == json.loads(after.stdout)


def error_json(done: Result) -> dict[str, object]:
    data = json.loads(done.stdout)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("command", "code", "says"),
    [
        (("gate", "nope", "--json"), 2, "services"),
        (("validate", "--json", "/nonexistent"), 2, "/nonexistent: no such file"),
        (("explain", "nope-20261101t0000z", "--json"), 2, "not a state directory"),
        (("report", "--format", "json", "--state", "/nonexistent"), 2, "no such state directory"),
    ],
)
def test_errors_of_json_commands_are_json_too(
    tmp_path: Path, command: tuple[str, ...], code: int, says: str
) -> None:
    done = run(*command, cwd=tmp_path)
    assert done.code == code
    data = error_json(done)
    assert data["exit"] == code
    assert says in str(data["error"])
    assert says in done.stderr  # and the one line for people, as ever


def test_a_report_into_a_folder_that_is_not_there_is_one_line(demo_state: Path) -> None:
    done = run("report", "--out", "/nonexistent/dir/r.txt", cwd=demo_state)
    assert done.code == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("--out /nonexistent/dir/r.txt: cannot write: ")


def test_one_way_to_name_a_service(demo_state: Path) -> None:
    only = json.loads(run("slo", "status", "--service", "search", "--json", cwd=demo_state).stdout)
    assert {s["service"] for s in only} == {"search"}
    reconciled = run("reconcile", "--service", "search", "--at", AT, "--no-commit", cwd=demo_state)
    assert reconciled.stdout.count("search") >= 1 and "checkout " not in reconciled.stdout
    # A service named where a filter belongs is refused, not read as something else.
    assert run("slo", "status", "search", cwd=demo_state).code == 2


# --- saying what happened ------------------------------------------------------------------


def test_a_state_directory_outside_git_says_nothing_was_committed(demo_state: Path) -> None:
    done = run("reconcile", "--at", AT, cwd=demo_state)
    assert f"{demo_state} is not a Git work tree: nothing committed" in done.stdout
    assert "no state change to commit" not in done.stdout


def test_a_github_repo_and_token_without_the_provider_says_no_pull_request(
    demo_state: Path,
) -> None:
    config = demo_state / "safedeploy.toml"
    config.write_text(config.read_text() + '\n[github]\nrepo = "acme/env"\n')
    block = next(i for i in state_ids(demo_state) if i.endswith("block-promotion"))
    done = run("approve", block, "--by", "alice", cwd=demo_state, env={"GITHUB_TOKEN": "t0ken"})
    assert done.code == 0, done.stderr
    assert "no pull request opened: github.repo is acme/env and GITHUB_TOKEN is set" in (
        done.stderr
    )
    assert "t0ken" not in done.stdout + done.stderr


def test_the_demo_off_a_terminal_prints_lines_a_log_can_hold(
    demo_run: tuple[Path, Result],
) -> None:
    """Piped into a CI log, headings, Markdown and the diff are plain lines, not padded."""
    state, done = demo_run
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) < 1_000
    assert sum(line.startswith("── Step ") for line in lines) >= 5
    assert "── done in " in done.stdout and f"the state directory is {state} ──" in done.stdout
    diff = [line.strip() for line in lines if line.lstrip("+-").strip().startswith("image: ")]
    assert diff == [
        "-          image: registry.example.com/checkout:1.5.0",
        "+          image: registry.example.com/checkout:1.4.2",
    ]
