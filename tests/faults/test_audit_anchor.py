"""The audit log is the record only when it extends what every state commit recorded of it.

One world, through the command's entry point, on a state directory that is a real Git work
tree: two reconciles open checkout's incident and propose its rollback, alice approves it;
each run is one commit carrying the head of every audit stream. Each test then does to a
copy what someone with write access to the directory could: rewrite the approval and seal
every later hash anew, cut the last lines off, reorder lines, and see what `audit verify`,
`replay` and the next `reconcile` make of it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from safedeploy.domain import trailers
from testing.cli import run as run_installed
from testing.faults import (
    AT_BREACH,
    AT_HEALTHY,
    AT_LATE,
    ROLLBACK,
    FaultWorld,
    Outcome,
    build_fault_state,
    copy_world,
    run,
)
from testing.forgery import Records, cut_file, reseal_file
from testing.scenario import commit_state

GOVERNANCE = "audit/governance.log"


def _sd(world: FaultWorld, *args: str) -> Outcome:
    """The command forked from this warm process (testing/faults.py): its entry point, fast."""
    return run(*args, cwd=world.state)


def _commits(state: Path) -> list[str]:
    """The state repository's commits, newest first."""
    out = subprocess.run(
        ["git", "log", "--format=%H"], cwd=state, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


@pytest.fixture(scope="module")
def anchored(tmp_path_factory: pytest.TempPathFactory) -> FaultWorld:
    world = build_fault_state(tmp_path_factory.mktemp("anchored"))
    commit_state(world.state, "the services as reviewed")
    for args in (
        ("reconcile", "--at", AT_HEALTHY),
        ("reconcile", "--at", AT_BREACH),
        ("approve", ROLLBACK, "--by", "alice"),
    ):
        done = _sd(world, *args)
        assert done.code == 0, done.stderr
    return world


@pytest.fixture
def world(anchored: FaultWorld, tmp_path: Path) -> FaultWorld:
    return copy_world(anchored, tmp_path / "world")


def _approval_by(by: str) -> Callable[[Records], Records]:
    def edit(records: Records) -> Records:
        for record in records:
            approval = record["data"].get("proposal", {}).get("approval")
            if record["event"] == "approve" and approval:
                approval["by"] = by
        return records

    return edit


def _forge_the_approval(world: FaultWorld) -> None:
    """mallory for alice, in the log (sealed anew) and in the proposal file alike, so that
    the chain verifies and the log rebuilds exactly the files on disk."""
    reseal_file(world.state / GOVERNANCE, _approval_by("mallory"))
    path = world.state / "action-proposals" / f"{ROLLBACK}.json"
    proposal = json.loads(path.read_text())
    proposal["approval"]["by"] = "mallory"
    path.write_text(json.dumps(proposal, indent=2) + "\n")


def test_the_untouched_record_verifies(world: FaultWorld) -> None:
    done = _sd(world, "audit", "verify")
    assert done.code == 0, done.stderr
    assert "audit/governance.log: 4 lines, chain intact" in done.stdout


def test_a_resealed_approval_is_named_with_the_commit_that_recorded_it(world: FaultWorld) -> None:
    approve_commit = _commits(world.state)[0]
    _forge_the_approval(world)
    done = run_installed("audit", "verify", cwd=world.state)  # the installed command, once
    assert done.code == 2
    assert done.stderr.strip() == (
        f"{GOVERNANCE}:4: not the line state commit {approve_commit[:12]} recorded "
        f"(hash {_recorded(world, approve_commit, 'governance')[:12]}): the log was "
        "rewritten and its hashes sealed anew"
    )


def test_a_resealed_early_line_names_the_oldest_commit_it_contradicts(world: FaultWorld) -> None:
    breach_commit = _commits(world.state)[1]

    def reason(records: Records) -> Records:
        records[0]["data"]["proposal"]["reason"] = "nothing to see here"
        return records

    reseal_file(world.state / GOVERNANCE, reason)
    done = _sd(world, "audit", "verify", "--json")
    assert done.code == 2
    governance = next(r for r in json.loads(done.stdout) if r["stream"] == "governance")
    assert (governance["line"], governance["commit"]) == (3, breach_commit)


def test_cut_lines_are_named_with_the_commit_that_recorded_them(world: FaultWorld) -> None:
    approve_commit = _commits(world.state)[0]
    cut_file(world.state / GOVERNANCE, 1)
    done = _sd(world, "audit", "verify")
    assert done.code == 2
    assert (
        f"{GOVERNANCE}:4: state commit {approve_commit[:12]} recorded 4 lines, the log has 3: "
        "1 line(s) removed from its end"
    ) in done.stderr


@pytest.mark.parametrize("resealed", [True, False], ids=["resealed", "as-is"])
def test_reordered_lines_are_named_with_the_commit_they_contradict(
    world: FaultWorld, resealed: bool
) -> None:
    breach_commit = _commits(world.state)[1]
    path = world.state / GOVERNANCE
    if resealed:
        reseal_file(path, lambda records: [records[1], records[0], *records[2:]])
    else:
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join([lines[1], lines[0], *lines[2:]]))
    done = _sd(world, "audit", "verify")
    assert done.code == 2
    assert f"{GOVERNANCE}:" in done.stderr
    assert f"state commit {breach_commit[:12]}" in done.stderr


def test_replay_refuses_a_log_that_does_not_verify(world: FaultWorld) -> None:
    """Cut the approval off: restoring from what is left would erase it."""
    proposal = world.state / "action-proposals" / f"{ROLLBACK}.json"
    before = proposal.read_bytes()
    cut_file(world.state / GOVERNANCE, 1)
    for args in (("replay", "--check"), ("replay",)):
        done = _sd(world, *args)
        assert done.code == 2, done.stdout
        [line] = done.stderr.splitlines()
        assert line.startswith(f"{GOVERNANCE}:4: state commit ")
        assert line.endswith(f"; {' '.join(args)} refused: the audit log does not verify")
    assert proposal.read_bytes() == before


def test_replay_refuses_a_chain_the_log_itself_breaks(world: FaultWorld) -> None:
    path = world.state / GOVERNANCE
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines[:2], lines[3]]))
    done = _sd(world, "replay")
    assert done.code == 2
    assert "replay refused: the audit log does not verify" in done.stderr


def test_the_next_reconcile_does_not_commit_a_forgery_as_its_own(world: FaultWorld) -> None:
    _forge_the_approval(world)
    head, log = _commits(world.state)[0], (world.state / GOVERNANCE).read_bytes()
    done = _sd(world, "reconcile", "--at", AT_LATE)
    assert done.code == 2, done.stdout
    [line] = done.stderr.splitlines()
    assert line == (
        f"{GOVERNANCE}: not the log state commit {head[:12]} recorded (4 lines, sha256 "
        f"{_recorded(world, head, 'governance')[:12]}): cut or rewritten; nothing was "
        "changed, run safedeploy audit verify"
    )
    assert _commits(world.state)[0] == head
    assert (world.state / GOVERNANCE).read_bytes() == log
    assert _sd(world, "audit", "verify").code == 2


def test_a_clean_record_keeps_verifying_as_runs_go_on(world: FaultWorld) -> None:
    done = _sd(world, "reconcile", "--at", AT_LATE)
    assert done.code in (0, 1), done.stderr
    assert _sd(world, "audit", "verify").code == 0
    assert _sd(world, "replay", "--check").code == 0


READERS = [
    ("audit", "verify"),
    ("replay",),
    ("replay", "--check"),
    ("incidents", "list"),
    ("proposals", "list"),
    ("incidents", "show", "checkout-20261101t110500z"),
    ("report",),
    ("history",),
    ("gate", "checkout"),
    ("explain", "checkout-20261101t110500z"),
]


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_a_directory_that_is_not_a_state_directory_is_refused(tmp_path: Path, where: str) -> None:
    state = tmp_path / "nowhere"
    if where == "empty":
        state.mkdir()
    for args in READERS:
        done = run("--state", str(state), *args, cwd=tmp_path)
        assert done.code == 2, (args, done.stdout)
        [line] = done.stderr.splitlines()
        assert line.startswith(f"{state}: "), (args, line)
        assert "state directory" in line
    assert not state.exists() or not any(state.iterdir())


def _recorded(world: FaultWorld, commit: str, stream: str) -> str:
    """The hash `commit` recorded as the head of `stream`."""
    message = subprocess.run(
        ["git", "log", "-1", "--format=%B", commit],
        cwd=world.state,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [head] = [h for h in trailers.audit_heads(message) if h.stream == stream]
    return head.hash


# --- authenticated heads: SAFEDEPLOY_AUDIT_KEY ----------------------------------------------

KEY = "k3y-0f-the-audit-log-SAFEDEPLOY-0123456789abcdef"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> FaultWorld:
    """The same story with the key set, in a state directory that is no Git work tree: no
    commit records anything, the macs are all there is."""
    world = build_fault_state(tmp_path_factory.mktemp("keyed"))
    for args in (
        ("reconcile", "--at", AT_HEALTHY),
        ("reconcile", "--at", AT_BREACH),
        ("approve", ROLLBACK, "--by", "alice"),
    ):
        done = run(*args, cwd=world.state, env={"SAFEDEPLOY_AUDIT_KEY": KEY})
        assert done.code == 0, done.stderr
    return world


def _keyed(world: FaultWorld, *args: str, key: str | None = KEY) -> Outcome:
    env = {"SAFEDEPLOY_AUDIT_KEY": key} if key else {}
    return run(*args, cwd=world.state, env=env)


def test_a_reseal_without_the_key_is_caught_without_git(keyed: FaultWorld, tmp_path: Path) -> None:
    world = copy_world(keyed, tmp_path / "world")
    assert _keyed(world, "audit", "verify").code == 0
    _forge_the_approval(world)  # sealed anew, by someone without the key
    assert _keyed(world, "audit", "verify", key=None).code == 0  # no key, no proof
    done = _keyed(world, "audit", "verify")
    assert done.code == 2
    assert done.stderr.strip() == (
        f"{GOVERNANCE}:1: no mac: not sealed with SAFEDEPLOY_AUDIT_KEY (sealed anew by someone "
        "without it?)"
    )
    log = (world.state / GOVERNANCE).read_bytes()
    for args in (("replay",), ("reconcile", "--at", AT_LATE)):
        refused = _keyed(world, *args)
        assert refused.code == 2, refused.stdout
        assert len(refused.stderr.splitlines()) == 1
        assert GOVERNANCE in refused.stderr
    assert (world.state / GOVERNANCE).read_bytes() == log


def test_a_line_sealed_with_another_key_is_caught(keyed: FaultWorld, tmp_path: Path) -> None:
    world = copy_world(keyed, tmp_path / "world")
    other = "another-key-of-the-same-length-0123456789abcdef"
    assert _keyed(world, "reconcile", "--at", AT_LATE, key=other).code == 2
    done = _keyed(world, "audit", "verify", key=other)
    assert done.code == 2
    assert "mac does not match: not sealed with this SAFEDEPLOY_AUDIT_KEY" in done.stderr


def test_the_key_reaches_no_file_and_no_output(keyed: FaultWorld, tmp_path: Path) -> None:
    world = copy_world(keyed, tmp_path / "world")
    outputs = [
        _keyed(world, *args)
        for args in (("audit", "verify", "--json"), ("replay", "--check"), ("report",))
    ]
    short = _keyed(world, "audit", "verify", key="short")
    assert short.code == 2 and "SAFEDEPLOY_AUDIT_KEY: too short" in short.stderr
    for path in world.base.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    for done in [*outputs, short]:
        assert KEY not in done.stdout + done.stderr
        assert "short" not in done.stdout
