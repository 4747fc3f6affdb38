from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from safedeploy.adapters import git_locks


def _bare(tmp_path: Path) -> Path:
    repo = tmp_path / "clone"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    return repo


def _lock(path: Path, age: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_lock_files_are_git_files_and_refs_only(tmp_path: Path) -> None:
    repo = _bare(tmp_path)
    found = [
        _lock(repo / "index.lock", 60),
        _lock(repo / "refs" / "remotes" / "origin" / "main.lock", 60),
    ]
    (repo / "objects" / "pack" / "tmp.lock").write_bytes(b"")  # not one git takes this way
    assert git_locks.lock_files(repo) == sorted(found)


def test_left_over_locks_are_removed_and_listed(tmp_path: Path) -> None:
    repo = _bare(tmp_path)
    lock = _lock(repo / "HEAD.lock", 60)
    assert git_locks.recover(repo, wait=0) == [lock]
    assert not lock.exists()
    assert git_locks.recover(repo, wait=0) == []


def test_a_lock_just_taken_counts_as_held(tmp_path: Path) -> None:
    repo = _bare(tmp_path)
    lock = _lock(repo / "config.lock", 0)
    with pytest.raises(git_locks.HeldLockError, match=r"config\.lock is held \(just taken\)"):
        git_locks.recover(repo, wait=0)
    assert lock.exists()
    # Past the grace period, with no git working in the repository, it is a dead git's.
    os.utime(lock, (time.time() - 10, time.time() - 10))
    assert git_locks.recover(repo, wait=0) == [lock]


def test_a_git_working_in_the_repository_holds_its_locks(tmp_path: Path) -> None:
    repo = _bare(tmp_path)
    lock = _lock(repo / "packed-refs.lock", 60)
    # `git cat-file --batch` in the repository: a live git with its cwd there, waiting.
    holder = subprocess.Popen(["git", "cat-file", "--batch"], cwd=repo, stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while holder.pid not in git_locks.holders(repo):  # until the fork has become git
            assert time.monotonic() < deadline, "git cat-file never showed in /proc"
            time.sleep(0.01)
        with pytest.raises(git_locks.HeldLockError, match=f"by git process {holder.pid}"):
            git_locks.recover(repo, wait=0.2)
        assert lock.exists()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    assert git_locks.holders(repo) == []
    assert git_locks.recover(repo, wait=0) == [lock]
