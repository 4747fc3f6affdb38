"""A full disk or a read-only state directory: exit 3, one line, every file as it was.

The state directory lives on its own small tmpfs (the metrics, the environment repo and
its clone cache stay outside, linked in), so the disk can be filled to the last byte or
remounted read-only under a real run. Mounting needs root; without it the tests skip.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safedeploy.adapters.audit import AuditLog
from safedeploy.adapters.store import atomic_write_bytes
from safedeploy.errors import StateWriteError
from testing.faults import AT_BREACH, AT_HEALTHY, FaultWorld, copy_world, run

SIZE = "8m"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _world_on(disk: Path, fault_world: FaultWorld, tmp_path: Path) -> FaultWorld:
    """The state on `disk`; what it reads, and the clone cache, beside it by links."""
    outside = copy_world(fault_world, tmp_path / "outside")
    shutil.copytree(outside.state, disk / "state")
    (outside.base / "cache").mkdir(exist_ok=True)
    for name in ("metrics.om", "env.git", "cache"):
        (disk / name).symlink_to(outside.base / name)
    return FaultWorld(disk)


def _files(state: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(state)): p.read_bytes() for p in sorted(state.rglob("*")) if p.is_file()
    }


def _fill(disk: Path) -> None:
    """Write until the disk refuses the very last byte."""
    with (disk / "filler").open("wb", buffering=0) as filler:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    filler.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC


def _refused_cleanly(state: Path, before: dict[str, bytes], why: str) -> None:
    refused = run("reconcile", "--at", AT_BREACH, cwd=state)
    assert refused.code == 3, refused.stderr
    lines = refused.stderr.splitlines()
    assert len(lines) == 1 and why in lines[0], refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    assert [p for p in state.rglob("*") if p.name.endswith(".tmp")] == []
    assert _files(state) == before


def test_a_full_disk_exits_3_and_leaves_the_state_as_it_was(
    disk: Path, fault_world: FaultWorld, tmp_path: Path
) -> None:
    world = _world_on(disk, fault_world, tmp_path)
    first = run("reconcile", "--at", AT_HEALTHY, cwd=world.state)
    assert first.code == 0, first.stderr
    before = _files(world.state)
    _fill(disk)
    _refused_cleanly(world.state, before, "No space left on device (ENOSPC)")
    # With room again the same run goes through: nothing was left half done.
    (disk / "filler").unlink()
    again = run("reconcile", "--at", AT_BREACH, cwd=world.state)
    assert again.code == 0, again.stderr
    assert any(p.name.startswith("checkout-") for p in (world.state / "incidents").iterdir())


def test_a_read_only_state_exits_3_and_changes_nothing(
    disk: Path, fault_world: FaultWorld, tmp_path: Path
) -> None:
    world = _world_on(disk, fault_world, tmp_path)
    first = run("reconcile", "--at", AT_HEALTHY, cwd=world.state)
    assert first.code == 0, first.stderr
    before = _files(world.state)
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    _refused_cleanly(world.state, before, "Read-only file system (EROFS)")


def test_a_write_the_disk_cannot_hold_keeps_the_old_file_and_no_temporary(disk: Path) -> None:
    """The disk filling up after a run's check: each write still whole or not at all."""
    target = disk / "control-plane" / "summary.json"
    target.parent.mkdir(parents=True)
    target.write_bytes(b'{"old": true}\n')
    _fill(disk)
    with pytest.raises(StateWriteError, match=r"No space left on device \(ENOSPC\)"):
        atomic_write_bytes(target, b"x" * (1 << 20))
    assert target.read_bytes() == b'{"old": true}\n'
    assert sorted(p.name for p in target.parent.iterdir()) == ["summary.json"]


def test_an_audit_line_the_disk_cannot_hold_is_cut_off(disk: Path) -> None:
    log = AuditLog(disk / "audit")
    at = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    log.append("governance", "approved", {"by": "alice"}, at)
    before = (disk / "audit" / "governance.log").read_bytes()
    _fill(disk)
    with pytest.raises(StateWriteError, match="ENOSPC"):
        log.append("governance", "approved", {"note": "x" * (1 << 20)}, at)
    assert (disk / "audit" / "governance.log").read_bytes() == before
    assert log.last("governance") is not None
