"""git's lock files (`index.lock`, `HEAD.lock`, `refs/...lock`) left behind by a dead git.

git creates `<file>.lock` to change `<file>` and removes it when it exits, even on an
error; only a killed git (or a power cut) leaves one, and then every later git that needs
the file refuses, forever. The rule that tells a left-over lock from a held one:

- a lock is held while a live git process (its command name starts with `git`) has its
  working directory inside the repository: git changes to the repository (the work tree's
  top, or a bare repository's own directory) before it takes any lock; and
- a lock modified in the last `GRACE_SECONDS` is treated as held too, for a program that
  is not named git (an editor using a git library) and has just taken it.

A lock that is not held is removed. A held one is waited for, at most `wait` seconds, and
then named with the process that holds it. Without /proc (not Linux) no process can be
seen and only the age counts, with `STALE_WITHOUT_PROC_SECONDS`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Final

from safedeploy.errors import EXIT_CANNOT_DECIDE, SafedeployError

GRACE_SECONDS: Final = 2.0
STALE_WITHOUT_PROC_SECONDS: Final = 600.0
_POLL_SECONDS: Final = 0.1
_PROC: Final = Path("/proc")


class HeldLockError(SafedeployError):
    """A live process holds a git lock past the wait bound."""

    exit_code = EXIT_CANNOT_DECIDE


def lock_files(git_dir: Path) -> list[Path]:
    """The lock files git may leave in `git_dir`: its own files and every ref."""
    if not git_dir.is_dir():
        return []
    found = [p for p in git_dir.glob("*.lock") if p.is_file()]
    refs = git_dir / "refs"
    if refs.is_dir():
        found += [p for p in refs.rglob("*.lock") if p.is_file()]
    return sorted(found)


def holders(root: Path) -> list[int]:
    """Live git processes, other than this one, working inside `root`."""
    if not _PROC.is_dir():
        return []
    root = root.resolve()
    found = []
    for entry in _pids():
        with suppress(OSError):  # gone meanwhile, or another user's
            if not (entry / "comm").read_text().startswith("git"):
                continue
            cwd = Path(os.readlink(entry / "cwd"))
            if cwd == root or cwd.is_relative_to(root):
                found.append(int(entry.name))
    return found


def _pids() -> Iterator[Path]:
    mine = os.getpid()
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and int(entry.name) != mine:
            yield entry


def _held(lock: Path, pids: list[int], now: float) -> bool:
    try:
        age = now - lock.stat().st_mtime
    except FileNotFoundError:
        return False
    if not _PROC.is_dir():
        return age < STALE_WITHOUT_PROC_SECONDS
    return bool(pids) or age < GRACE_SECONDS


def recover(root: Path, git_dir: Path | None = None, *, wait: float = 10.0) -> list[Path]:
    """Remove the left-over locks of the repository at `root`; the ones removed.

    `git_dir` defaults to `root/.git`, or `root` itself for a bare repository. A held lock
    is waited for up to `wait` seconds; still held then, HeldLockError names it.
    """
    if git_dir is None:
        git_dir = root / ".git" if (root / ".git").is_dir() else root
    removed: list[Path] = []
    deadline = time.monotonic() + wait
    while True:
        locks = lock_files(git_dir)
        if not locks:
            return removed
        pids = holders(root)
        now = time.time()
        for lock in locks:
            if not _held(lock, pids, now):
                with suppress(FileNotFoundError):
                    lock.unlink()
                    removed.append(lock)
        held = [lock for lock in locks if lock.exists()]
        if not held:
            return removed
        if time.monotonic() >= deadline:
            by = f" by git process {', '.join(map(str, pids))}" if pids else " (just taken)"
            raise HeldLockError(
                f"git lock {held[0]} is held{by}; gave up after {wait:g}s, retry when it finishes"
            )
        time.sleep(_POLL_SECONDS)
