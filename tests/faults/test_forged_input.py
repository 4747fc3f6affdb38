"""Forged input: names and reasons that would write commit trailers of their own, and
service files whose numbers or regexes would switch detection off.

`history --service payments` greps the state repository for `Safedeploy-Service: payments`
lines; a newline in `--by` or `--reason` (or in `$GITHUB_ACTOR`) would put such a line in a
checkout decision's message and file it under payments. Every such value is refused before
anything is written: exit 2, one line naming the option, the state tree and its history as
they were, nothing pushed to the environment repo.

`validate` refuses a factor, a promotion limit, a threshold or `min_events` that is
infinite, NaN or past its bound, an objective that is no plausible ratio or percent, and a
regex Prometheus cannot compile: one line naming the file, its line and the field.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from testing.cli import tree_snapshot
from testing.faults import BLOCK, INCIDENT, ROLLBACK, FaultWorld, Outcome, copy_world, run
from testing.state_repo import git

FORGED = "Safedeploy-Service: payments"
# A few ways of starting a line of its own; tests/domain/test_one_line.py has every kind.
BREAKS = ("\n\n", "\r", "\u2028", "\x85")


class Recorded:
    """A copy of the burning world whose state directory is a Git work tree."""

    def __init__(self, world: FaultWorld) -> None:
        self.state = world.state
        self.env = world.env
        git(self.state, "init", "--quiet", "--initial-branch=main")
        git(self.state, "add", ".")
        git(self.state, "commit", "--quiet", "-m", "Initial state")
        self.before = self.snapshot()

    def snapshot(self) -> tuple[dict[str, bytes], str, str]:
        refs = subprocess.run(
            ["git", "for-each-ref", "--format=%(refname) %(objectname)"],
            cwd=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return tree_snapshot(self.state), git(self.state, "rev-parse", "HEAD"), refs

    def history(self, service: str) -> list[dict[str, object]]:
        done = run("history", "--service", service, "--json", cwd=self.state)
        assert done.code == 0, done.stderr
        listed: list[dict[str, object]] = json.loads(done.stdout)
        return listed


@pytest.fixture
def recorded(burning_world: FaultWorld, tmp_path: Path) -> Recorded:
    return Recorded(copy_world(burning_world, tmp_path / "world"))


def _refused(recorded: Recorded, done: Outcome, option: str) -> None:
    assert done.code == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "control character" in lines[0], lines
    assert recorded.snapshot() == recorded.before
    assert recorded.history("payments") == []


def test_a_plain_reason_is_recorded_under_its_own_service_only(recorded: Recorded) -> None:
    """The control: the decision is committed and `history` files it under checkout."""
    done = run(
        "incidents", "transition", INCIDENT, "acknowledge", "--by", "alice",
        "--reason", f"looking; {FORGED}", cwd=recorded.state,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert [c["services"] for c in recorded.history("checkout")] == [["checkout"]]
    assert recorded.history("payments") == []


@pytest.mark.parametrize("brk", BREAKS, ids=repr)
def test_a_line_break_in_the_reason_is_refused(recorded: Recorded, brk: str) -> None:
    done = run(
        "incidents", "transition", INCIDENT, "acknowledge", "--by", "alice",
        "--reason", f"looking{brk}{FORGED}", cwd=recorded.state,
    )  # fmt: skip
    _refused(recorded, done, "--reason")


@pytest.mark.parametrize(
    "args",
    [
        ("incidents", "transition", INCIDENT, "acknowledge", "--reason", "r", "--by"),
        ("reject", ROLLBACK, "--reason", "r", "--by"),
        ("approve", BLOCK, "--by"),
    ],
    ids=["transition", "reject", "approve"],
)
def test_a_line_break_in_the_name_is_refused(recorded: Recorded, args: tuple[str, ...]) -> None:
    done = run(*args, f"alice\n\n{FORGED}", cwd=recorded.state)
    _refused(recorded, done, "--by")


def test_a_line_break_in_the_rejection_reason_is_refused(recorded: Recorded) -> None:
    done = run("reject", ROLLBACK, "--by", "alice", "--reason", f"no\n{FORGED}", cwd=recorded.state)
    _refused(recorded, done, "--reason")


def test_a_line_break_in_the_actor_from_the_environment_is_refused(recorded: Recorded) -> None:
    done = run(
        "reject", ROLLBACK, "--reason", "not now", cwd=recorded.state,
        env={"GITHUB_ACTOR": f"alice\n{FORGED}"},
    )  # fmt: skip
    _refused(recorded, done, "GITHUB_ACTOR")


# --- numbers and regexes that would switch detection off -------------------------------------

MIN_EVENTS = "      min_events: 100\n"
ALERTS = (
    "      min_events: 100\n      alerts:\n        - {severity: fast-burn, long: 1h, short: 5m, "
)
SWITCHED_OFF = {
    "factor .inf": (MIN_EVENTS, ALERTS + "factor: .inf}\n", "slos[0].alerts[0].factor"),
    "factor past every event failing": (
        MIN_EVENTS,
        ALERTS + "factor: 1000}\n",
        "alerts[0].factor 1000 can never be exceeded",
    ),
    "max_burn_rate .inf": ("max_burn_rate: 2", "max_burn_rate: .inf", "policy.max_burn_rate"),
    "max_burn_rate .nan": ("max_burn_rate: 2", "max_burn_rate: .nan", "policy.max_burn_rate"),
    "min_events 1e38": ("min_events: 100", "min_events: 1.0e+38", "slos[0].min_events"),
    "objective 9.99": ("objective: 99.9", "objective: 9.99", "did you mean 99.9?"),
    "objective 999": ("objective: 99.9", "objective: 999", "did you mean 99.9?"),
    "objective 1.5": ("objective: 0.99", "objective: 1.5", "slos[1].objective: 1.5 is read as"),
    "threshold .inf": ("threshold: 0.3", "threshold: .inf", "slos[1].sli.threshold"),
    "lookahead": ('code=~"5.."', 'code=~"5(?=0)."', "slos[0].sli.errors"),
    "possessive": ('code=~"5.."', 'code=~"5.*+"', "not one Prometheus takes"),
}


@pytest.mark.parametrize("case", SWITCHED_OFF)
def test_validate_refuses_what_would_switch_detection_off(
    fault_world: FaultWorld, tmp_path: Path, case: str
) -> None:
    old, new, named = SWITCHED_OFF[case]
    state = copy_world(fault_world, tmp_path / "world").state
    service = state / "services" / "checkout.yaml"
    text = service.read_text()
    assert old in text
    service.write_text(text.replace(old, new, 1))
    before = tree_snapshot(state)
    done = run("validate", cwd=state)
    assert done.code == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("services/checkout.yaml:"), lines
    assert named in lines[0], lines
    assert tree_snapshot(state) == before
