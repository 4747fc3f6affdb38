"""Runs the installed `safedeploy` command the way users and cron do: a real subprocess."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def safedeploy_executable() -> str:
    beside = Path(sys.executable).with_name("safedeploy")
    if beside.exists():
        return str(beside)
    found = shutil.which("safedeploy")
    if found is None:
        raise RuntimeError("the safedeploy command is not installed (pip install -e .)")
    return found


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


Runner = Callable[..., Result]


def run(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> Result:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SAFEDEPLOY_")}
    environ.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    environ.update(env or {})
    done = subprocess.run(
        [safedeploy_executable(), *args],
        cwd=cwd,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(tmp_path: Path) -> Runner:
    """`cli("validate", cwd=...)`: the real command, from the test's temp dir by default."""

    def invoke(*args: str, cwd: Path | None = None, **kwargs: object) -> Result:
        return run(*args, cwd=cwd or tmp_path, **kwargs)  # type: ignore[arg-type]

    return invoke


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its content, to prove a command wrote nothing."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def state_snapshot(root: Path) -> dict[str, bytes]:
    """`tree_snapshot` without the environment repo's cached clone, which a command that
    only reads the environment repo (to see whether a change was merged) fetches into."""
    from safedeploy.adapters.settings import EnvironmentSettings

    cache = f"{EnvironmentSettings().cache}/"
    return {name: data for name, data in tree_snapshot(root).items() if not name.startswith(cache)}


def run_in_terminal(*args: str, cwd: Path, columns: int, timeout: float = 120) -> Result:
    """The command with its stdout on a pseudo-terminal `columns` wide, as a person sees it.

    stdout comes back without escape codes, and with CR LF as LF.
    """
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SAFEDEPLOY_")}
    environ.update({"COLUMNS": str(columns), "NO_COLOR": "1", "TERM": "xterm"})
    process = subprocess.Popen(
        [safedeploy_executable(), *args],
        cwd=cwd,
        env=environ,
        stdout=follower,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other side closed: the command has ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, stderr = process.communicate(timeout=timeout)
    os.close(leader)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return Result(process.returncode, ANSI.sub("", text), stderr.decode("utf-8", "replace"))


# Styles, cursor moves and erasures: what a terminal draws with, not what it shows.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
