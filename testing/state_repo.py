"""A state directory that is a Git work tree with a bare `origin`, built from the demo story."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from safedeploy.adapters.envrepo import create_repository
from safedeploy.adapters.templates import example_services
from safedeploy.demo import story


@dataclass(frozen=True)
class StateRepoFixture:
    root: Path  # the work tree
    origin: Path  # its bare remote
    env: Path  # the environment repo


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "sre",
            "GIT_AUTHOR_EMAIL": "sre@example.com",
            "GIT_COMMITTER_NAME": "sre",
            "GIT_COMMITTER_EMAIL": "sre@example.com",
            "HOME": str(cwd),
            "PATH": "/usr/bin:/bin",
        },
    )
    return done.stdout


def build_state_repo(base: Path) -> StateRepoFixture:
    env = base / "env.git"
    create_repository(env, story.env_commits())
    metrics = base / "metrics.om"
    metrics.write_text("".join(story.openmetrics()))
    origin = base / "state.git"
    git(base, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    root = base / "state"
    root.mkdir()
    for name, text in example_services().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "safedeploy.toml").write_text(
        f'[prometheus]\nmetrics_file = "{metrics}"\n[environment]\nrepo = "{env}"\n'
        f'cache = "{base / "cache"}"\n'
    )
    (root / "README.md").write_text("Control-plane state.\n")
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "Initial state")
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "--quiet", "origin", "main")
    return StateRepoFixture(root, origin, env)


def clone(fixture: StateRepoFixture, where: Path) -> Path:
    git(fixture.root.parent, "clone", "--quiet", str(fixture.origin), str(where))
    return where


@pytest.fixture
def state_repo(tmp_path: Path) -> StateRepoFixture:
    return build_state_repo(tmp_path)
