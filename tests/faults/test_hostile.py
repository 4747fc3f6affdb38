"""Hostile input: every id and name from the command line or from a file, symlinks out of
the state directory, proposal files edited to reach another service, YAML alias bombs in
the environment repo, deeply nested or huge JSON, invalid UTF-8.

Each is refused with one clear line (exit 2, or the service skipped and named), and
nothing is written outside the state directory: a sibling directory `outside/`, which the
symlinks point into, is snapshotted before and compared after, and so are the branches of
the environment repo. Single-module cases already covered elsewhere are listed in
docs/reliability.md (unsafe ids in the store, alias bombs and huge files in services/,
PromQL injection through label values).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from testing.cli import tree_snapshot
from testing.faults import (
    BLOCK,
    INCIDENT,
    ROLLBACK,
    FaultWorld,
    Outcome,
    copy_world,
    problems,
    run,
)

LATER = "2026-11-01T11:30:00Z"
BY = ("--by", "alice", "--reason", "r")
BAD_IDS = ("../../outside/x", "/etc/passwd", "..", "checkout-1/../../../outside")
COMMANDS: dict[str, Callable[[str], tuple[str, ...]]] = {
    "incidents show": lambda bad: ("incidents", "show", bad),
    "incidents transition": lambda bad: ("incidents", "transition", bad, "acknowledge", *BY),
    "proposals show": lambda bad: ("proposals", "show", bad),
    "explain": lambda bad: ("explain", bad),
    "approve": lambda bad: ("approve", bad, "--by", "alice"),
    "reject": lambda bad: ("reject", bad, "--by", "alice", "--reason", "r"),
    "reconcile --service": lambda bad: ("reconcile", "--at", LATER, "--service", bad),
    "gate": lambda bad: ("gate", bad),
}


class Guarded:
    """A copy of the burning world with `outside/` beside the state, and what to compare."""

    def __init__(self, world: FaultWorld) -> None:
        self.world = world
        self.state = world.state
        self.outside = world.base / "outside"
        self.outside.mkdir()
        (self.outside / "keep.txt").write_text("not yours\n")
        self._outside = tree_snapshot(self.outside)
        self._branches = self.branches()

    def branches(self) -> str:
        return subprocess.run(
            ["git", "for-each-ref", "--format=%(refname) %(objectname)"],
            cwd=self.world.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def untouched(self, *, pushed: bool = False) -> None:
        """Nothing changed outside; nothing pushed either unless `pushed` is allowed."""
        assert tree_snapshot(self.outside) == self._outside
        if not pushed:
            assert self.branches() == self._branches

    def move_out(self, relative: str) -> None:
        """Replace `relative` by a symlink to a copy of it in outside/."""
        source = self.state / relative
        target = self.outside / relative.replace("/", "_")
        shutil.move(source, target)
        source.symlink_to(target, target_is_directory=target.is_dir())
        self._outside = tree_snapshot(self.outside)


@pytest.fixture
def guarded(burning_world: FaultWorld, tmp_path: Path) -> Guarded:
    return Guarded(copy_world(burning_world, tmp_path / "world"))


def _one_clear_line(done: Outcome, *fragments: str) -> None:
    assert done.code == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in done.stderr + done.stdout, done.stderr + done.stdout


# --- ids and names from the command line -----------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_unsafe_ids_on_the_command_line_are_refused(guarded: Guarded, command: str) -> None:
    before = tree_snapshot(guarded.state)
    for bad in BAD_IDS:
        done = run(*COMMANDS[command](bad), cwd=guarded.state)
        _one_clear_line(done, bad)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    # Nothing at all was written: a refusal comes before the lock and before any change.
    assert tree_snapshot(guarded.state) == before
    guarded.untouched()


# --- ids and names inside files --------------------------------------------------------------


def _edit(guarded: Guarded, relative: str, **fields: object) -> None:
    path = guarded.state / relative
    document = json.loads(path.read_bytes())
    for dotted, value in fields.items():
        *parents, last = dotted.split("__")
        node = document
        for key in parents:
            node = node[key]
        node[last] = value
    path.write_text(json.dumps(document, indent=2))


PROPOSAL_FILE = f"action-proposals/{ROLLBACK}.json"
EDITS: dict[str, tuple[str, dict[str, object], str]] = {
    "service-traversal": (PROPOSAL_FILE, {"service": "../../../outside"}, "DNS label"),
    "incident-traversal": (PROPOSAL_FILE, {"incident_id": "../../outside/x"}, "incident_id"),
    "id-traversal": (PROPOSAL_FILE, {"id": "../../outside/x"}, "field id"),
    "incident-file-id": (f"incidents/{INCIDENT}.json", {"id": "../../outside/x"}, "field id"),
    # Edited to reach another service's repository or file: refused before any push.
    "other-service": (PROPOSAL_FILE, {"service": "payments"}, "edited by hand"),
    "other-path": (
        PROPOSAL_FILE,
        {"change__path": "apps/payments/values.yaml", "change__kind": "helm"},
        "edited by hand",
    ),
    "other-incident": (PROPOSAL_FILE, {"incident_id": "payments-20261101t1105z"}, "id must be"),
}


@pytest.mark.parametrize("edit", EDITS)
def test_hand_edited_files_are_refused_before_anything_is_pushed(
    guarded: Guarded, edit: str
) -> None:
    relative, fields, fragment = EDITS[edit]
    _edit(guarded, relative, **fields)
    approving = run("approve", ROLLBACK, "--by", "alice", cwd=guarded.state)
    _one_clear_line(approving, fragment)
    guarded.untouched()
    # reconcile names the file and skips only the service that owns it.
    reconciled = run("reconcile", "--at", LATER, cwd=guarded.state)
    assert reconciled.code in (0, 2), reconciled.stderr
    assert "Traceback" not in reconciled.stderr
    guarded.untouched()


# --- symlinks out of the state directory -----------------------------------------------------


READERS: tuple[tuple[str, ...], ...] = (
    ("reconcile", "--at", LATER),
    ("approve", ROLLBACK, "--by", "alice"),
    ("reject", BLOCK, "--by", "alice", "--reason", "r"),
    ("incidents", "show", INCIDENT),
    ("incidents", "transition", INCIDENT, "acknowledge", "--by", "alice", "--reason", "r"),
    ("proposals", "show", ROLLBACK),
    ("explain", INCIDENT),
    ("replay",),
)


@pytest.mark.parametrize(
    "relative",
    ["incidents", "action-proposals", "audit", "evidence", "control-plane/state/services"],
)
def test_a_state_folder_symlinked_outside_is_never_written_through(
    guarded: Guarded, relative: str
) -> None:
    guarded.move_out(relative)
    for args in READERS:
        done = run(*args, cwd=guarded.state)
        assert "Traceback" not in done.stderr, (args, done.stderr)
        # Approval never writes control-plane/state/services: there it may go ahead.
        guarded.untouched(pushed=relative.startswith("control-plane"))
    if not relative.startswith("control-plane"):
        _one_clear_line(
            run("approve", ROLLBACK, "--by", "alice", cwd=guarded.state),
            "outside the state directory",
        )


def test_a_proposal_symlinked_to_etc_passwd_is_refused(guarded: Guarded) -> None:
    link = guarded.state / PROPOSAL_FILE
    link.unlink()
    link.symlink_to("/etc/passwd")
    for args in READERS:
        done = run(*args, cwd=guarded.state)
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert "root:" not in done.stdout + done.stderr
    for args in (("approve", ROLLBACK, "--by", "alice"), ("proposals", "show", ROLLBACK)):
        _one_clear_line(run(*args, cwd=guarded.state), "outside the state directory")
    guarded.untouched()


# --- hostile contents ------------------------------------------------------------------------


CONTENTS: dict[str, bytes] = {
    "nested": b"[" * 200_000,
    "invalid-utf8": b'{"id": "\xff\xfe", "service": "checkout"}',
    "huge": b'{"id": "' + b"x" * 20_000_000 + b'"}',
    "empty": b"",
}


HOSTILE_FILES = [
    f"incidents/{INCIDENT}.json",
    PROPOSAL_FILE,
    f"evidence/incident-{INCIDENT}/decision.json",
    "control-plane/state/summary.json",
]


# Each content and each file by default (the diagonal); every pair in the soak run.
@pytest.mark.parametrize(
    ("relative", "content"),
    [
        pytest.param(
            relative,
            content,
            id=f"{relative}-{content}",
            marks=() if i == j else (pytest.mark.soak,),
        )
        for i, relative in enumerate(HOSTILE_FILES)
        for j, content in enumerate(CONTENTS)
    ],
)
def test_hostile_contents_get_a_clean_error(guarded: Guarded, relative: str, content: str) -> None:
    (guarded.state / relative).write_bytes(CONTENTS[content])
    for args in (*READERS, ("report",), ("gate", "checkout"), ("replay", "--check")):
        started = time.monotonic()
        done = run(*args, cwd=guarded.state)
        assert done.code in (0, 1, 2, 3), (args, done.code, done.stderr)
        assert "Traceback" not in done.stderr and "Error:" not in done.stderr[:6], done.stderr
        assert time.monotonic() - started < 20, args
    # A broken evidence document or summary does not hold a rollback back.
    guarded.untouched(pushed=not relative.startswith(("incidents", "action-proposals")))


def test_invalid_utf8_in_the_configuration_and_the_audit_log(guarded: Guarded) -> None:
    with open(guarded.state / "audit" / "incidents.log", "ab") as log:
        log.write(b'{"seq": 2, "\xff": 1}\n')
    _one_clear_line(run("audit", "verify", cwd=guarded.state), "incidents.log:2")
    _one_clear_line(run("replay", "--check", cwd=guarded.state), "incidents.log:2")
    (guarded.state / "safedeploy.toml").write_bytes(b'[prometheus]\nmetrics_file = "\xff"\n')
    _one_clear_line(run("reconcile", "--at", LATER, cwd=guarded.state), "safedeploy.toml")
    guarded.untouched()


def test_an_alias_bomb_in_the_environment_repo(guarded: Guarded, tmp_path: Path) -> None:
    """The manifest reconcile reads versions from, rewritten as a billion laughs."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9)
    )
    work = tmp_path / "work"
    git = ["git", "-c", "user.name=x", "-c", "user.email=x@example.com"]
    subprocess.run([*git, "clone", "-q", str(guarded.world.env), str(work)], check=True)
    (work / "apps" / "checkout" / "rollout.yaml").write_text(bomb)
    subprocess.run([*git, "commit", "-qam", "bomb"], cwd=work, check=True)
    subprocess.run([*git, "push", "-q", "origin", "HEAD"], cwd=work, check=True)
    guarded._branches = guarded.branches()
    started = time.monotonic()
    reconciled = run("reconcile", "--at", LATER, cwd=guarded.state)
    assert "Traceback" not in reconciled.stderr
    approving = run("approve", ROLLBACK, "--by", "alice", cwd=guarded.state)
    _one_clear_line(approving, "rollout.yaml")
    assert time.monotonic() - started < 20
    assert problems(guarded.state) == []
    guarded.untouched()
