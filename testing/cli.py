"""Runs the installed `safedeploy` command the way users and cron do: a real subprocess."""

from __future__ import annotations

import os
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
