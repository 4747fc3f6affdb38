"""A git lock left by a dead git is recovered; one a live git holds is waited for, then named.

A git killed mid-command leaves `<file>.lock` behind and every later git refuses to touch
the file. The locks here are made the way a dead git leaves them (a file nobody holds, a
minute old) in the state repository and in the environment repo's clone cache; the live
one is held by a real git command waiting for its input.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.faults import AT_BREACH, AT_HEALTHY, AT_LATE, FaultWorld, copy_world, run
from testing.gitrepos import git


def _left_over(path: Path) -> Path:
    """A lock as a git killed a minute ago leaves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    old = time.time() - 60
    os.utime(path, (old, old))
    return path


@pytest.fixture
def repo_world(fault_world: FaultWorld, tmp_path: Path) -> FaultWorld:
    world = copy_world(fault_world, tmp_path / "world")
    git(world.state, "init", "-q", "--initial-branch=main")
    git(world.state, "add", ".")
    git(world.state, "commit", "-qm", "Initial state")
    return world


def _commits(world: FaultWorld) -> int:
    return int(git(world.state, "rev-list", "--count", "HEAD"))


def test_a_left_over_index_lock_in_the_state_repo_is_removed(repo_world: FaultWorld) -> None:
    lock = _left_over(repo_world.state / ".git" / "index.lock")
    done = run("reconcile", "--at", AT_BREACH, cwd=repo_world.state)
    assert done.code == 0, done.stderr
    assert not lock.exists()
    assert _commits(repo_world) == 2  # the incident was committed


def test_left_over_locks_in_the_clone_cache_are_removed(repo_world: FaultWorld) -> None:
    first = run("reconcile", "--at", AT_HEALTHY, cwd=repo_world.state)
    assert first.code == 0, first.stderr
    (clone,) = [p for p in (repo_world.base / "cache").glob("env-*") if p.is_dir()]
    # A new commit on the remote: the next fetch must move origin/main, under its lock.
    work = repo_world.base / "work"
    git(repo_world.base, "clone", "-q", str(repo_world.env), str(work))
    (work / "NOTES").write_text("a change\n")
    git(work, "add", "NOTES")
    git(work, "commit", "-qm", "notes")
    git(work, "push", "-q", "origin", "HEAD")
    locks = [
        _left_over(clone / "index.lock"),
        _left_over(clone / "refs" / "remotes" / "origin" / "main.lock"),
        _left_over(clone / "config.lock"),
    ]
    done = run("reconcile", "--at", AT_BREACH, cwd=repo_world.state)
    assert done.code == 0, done.stderr
    assert [lock for lock in locks if lock.exists()] == []
    head = git(work, "rev-parse", "HEAD")
    assert git(clone, "rev-parse", "refs/remotes/origin/main") == head


@pytest.fixture
def held_index(repo_world: FaultWorld) -> Iterator[subprocess.Popen[bytes]]:
    """A live `git update-index --stdin`: it holds the state repo's index.lock until its
    input ends."""
    holder = subprocess.Popen(
        ["git", "update-index", "--add", "--stdin"],
        cwd=repo_world.state,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = repo_world.state / ".git" / "index.lock"
    deadline = time.monotonic() + 10
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lock.exists(), "git update-index did not take the index lock"
    try:
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # git ends and lets the lock go
        holder.wait(10)


def test_a_lock_a_live_git_holds_is_waited_for_and_named(
    repo_world: FaultWorld, held_index: subprocess.Popen[bytes]
) -> None:
    lock = repo_world.state / ".git" / "index.lock"
    started = time.monotonic()
    refused = run("reconcile", "--at", AT_LATE, "--lock-timeout", "1", cwd=repo_world.state)
    waited = time.monotonic() - started
    assert refused.code == 3, refused.stderr
    lines = refused.stderr.splitlines()
    assert len(lines) == 1, refused.stderr
    assert f"git lock {lock} is held by git process {held_index.pid}" in lines[0]
    assert "gave up after 1s" in lines[0]
    assert waited >= 1
    assert lock.exists()  # a held lock is never removed
