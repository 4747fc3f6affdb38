"""A catalog cannot send safedeploy (and its credentials) to a host nobody allowed.

`spec.target.repo` is written by each service's team; `environment.allowed_hosts` by
whoever runs the control plane. A repo on another host, or on plain http:// off this
machine, is refused before anything is fetched: exit 2, one line naming file and field,
nothing written. `init` writes the `.gitignore` that keeps the clone cache and the lock
out of the state repository, and the lock stays out of `git status` without it too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from safedeploy.domain import layout
from testing.faults import AT_BREACH, FaultWorld, copy_world, run
from testing.gitrepos import git

CHECKOUT = "services/checkout.yaml"


def _target_repo(world: FaultWorld, repo: str) -> None:
    path = world.state / CHECKOUT
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  target:\n", f"  target:\n    repo: {repo}\n", 1), "utf-8")


def _allow(world: FaultWorld, hosts: str) -> None:
    config = world.state / layout.CONFIG
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[environment]\n", f"[environment]\n{hosts}\n"), "utf-8")


@pytest.mark.parametrize(
    ("repo", "hosts", "why"),
    [
        pytest.param(
            "https://deploy:s3cret@evil.example/env.git",
            "",
            "host evil.example is not in environment.allowed_hosts (none)",
            id="other-host",
        ),
        pytest.param(
            "http://git.example.com/env.git",
            'allowed_hosts = ["git.example.com"]',
            "plain http:// is refused except on loopback; use https://",
            id="plain-http",
        ),
    ],
)
def test_a_target_repo_off_the_allowed_hosts_is_refused(
    fault_world: FaultWorld, tmp_path: Path, repo: str, hosts: str, why: str
) -> None:
    world = copy_world(fault_world, tmp_path / "world")
    _target_repo(world, repo)
    _allow(world, hosts)
    before = sorted(p.relative_to(world.base) for p in world.base.rglob("*"))
    refused = run("reconcile", "--at", AT_BREACH, cwd=world.state)
    assert refused.code == 2
    lines = refused.stderr.splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith(f"{CHECKOUT}: spec.target.repo: ")
    assert why in lines[0]
    assert "s3cret" not in refused.stderr + refused.stdout
    # Nothing fetched, nothing written: not even the clone cache or the lock.
    assert sorted(p.relative_to(world.base) for p in world.base.rglob("*")) == before


def test_an_allowed_host_passes_the_check(fault_world: FaultWorld, tmp_path: Path) -> None:
    world = copy_world(fault_world, tmp_path / "world")
    _target_repo(world, "https://127.0.0.1:9/env.git")  # nothing listens there
    fetched = run(
        "reconcile",
        "--at",
        AT_BREACH,
        cwd=world.state,
        env={"SAFEDEPLOY_ENVIRONMENT_ALLOWED_HOSTS": "git.example.com, 127.0.0.1"},
    )
    # Past the check, the fetch itself fails: checkout cannot be decided, the rest is.
    assert "allowed_hosts" not in fetched.stderr + fetched.stdout
    assert "cannot fetch environment repo https://127.0.0.1:9/env.git" in fetched.stdout


def test_init_keeps_the_cache_and_the_lock_out_of_the_state_repo(tmp_path: Path) -> None:
    state = tmp_path / "state"
    made = run("init", str(state), cwd=tmp_path)
    assert made.code == 0, made.stderr
    ignored = (state / layout.GITIGNORE).read_text(encoding="utf-8").splitlines()
    assert set(layout.IGNORED) <= set(ignored)
    git(state, "init", "-q")
    (state / layout.DEFAULT_CACHE / "env-0123").mkdir(parents=True)
    (state / layout.DEFAULT_CACHE / "env-0123" / "config").write_text("[core]\n")
    (state / layout.LOCK).write_text("")
    (state / layout.CONTROL / ".summary.json.abc.tmp").write_text("{")
    git(state, "add", "-A")
    staged = git(state, "diff", "--cached", "--name-only").split()
    assert layout.GITIGNORE in staged and layout.CONFIG in staged
    assert [p for p in staged if layout.DEFAULT_CACHE in p or p.endswith((".lock", ".tmp"))] == []


def test_the_lock_never_shows_in_git_status(fault_world: FaultWorld, tmp_path: Path) -> None:
    world = copy_world(fault_world, tmp_path / "world")  # made without init: no .gitignore
    git(world.state, "init", "-q", "--initial-branch=main")
    git(world.state, "add", ".")
    git(world.state, "commit", "-qm", "Initial state")
    done = run("reconcile", "--at", AT_BREACH, cwd=world.state)
    assert done.code == 0, done.stderr
    assert (world.state / layout.LOCK).exists()
    status = git(world.state, "status", "--porcelain", "--untracked-files=all")
    assert layout.LOCK not in status
    assert len(git(world.state, "log", "--oneline").splitlines()) >= 2  # the run did commit
