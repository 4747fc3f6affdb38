"""git gets credentials through its environment, and GITHUB_TOKEN only on GitHub's host.

The environment repo is served over HTTP by git's own http-backend on 127.0.0.1, which
lets anyone fetch and only the token's holder push; the GitHub API URL names the same
host, so git may send the token there. While a push waits in the repository's pre-receive
hook, every process's command line is read from /proc; afterwards the clone cache's
files are searched. The same remote named `localhost` is another host: the token is not
sent, and the push is refused.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from safedeploy.domain.trailers import branch_for
from testing.faults import AT_BREACH, ROLLBACK, TOKEN, FaultWorld, copy_world, finish, run, start
from testing.git_http import GitHttpServer, serve_git
from testing.held_git import Gate, hold_pushes

NEEDLES = (TOKEN, base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode())


def _env(server: GitHttpServer, host: str = "127.0.0.1") -> dict[str, str]:
    return {
        "GITHUB_TOKEN": TOKEN,
        "SAFEDEPLOY_ENV_REPO": server.url("env.git", host),
        "SAFEDEPLOY_GITHUB_API_URL": f"http://127.0.0.1:{server.port}/api/v3",
    }


def _command_lines() -> dict[str, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[entry.name] = (entry / "cmdline").read_bytes().decode("latin-1")
            except OSError:
                continue  # ended meanwhile
    return found


@pytest.fixture
def world(fault_world: FaultWorld, tmp_path: Path) -> FaultWorld:
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("no /proc on this system: command lines cannot be read")
    return copy_world(fault_world, tmp_path / "world")


def test_the_token_reaches_git_through_the_environment_only(world: FaultWorld) -> None:
    with serve_git(world.base, TOKEN) as server:
        env = _env(server)
        opened = run("reconcile", "--at", AT_BREACH, cwd=world.state, env=env)
        assert opened.code == 0, opened.stderr
        gate = Gate(world.base / "gate")
        hold_pushes(world.env, gate)
        pushing = start("approve", ROLLBACK, "--by", "alice", cwd=world.state, env=env)
        gate.wait_for_arrival()
        lines = _command_lines()
        gate.release()
        approved = finish(pushing)
    assert approved.code == 0, approved.stderr
    # The push reached the hook, so git and its helpers were running when /proc was read.
    assert any("git" in line and "receive-pack" in line for line in lines.values())
    assert [pid for pid, line in lines.items() if any(n in line for n in NEEDLES)] == []
    # git authenticated with the token, which it had from nowhere but its environment.
    assert TOKEN in server.passwords_sent
    cached = {
        str(path): path.read_bytes().decode("latin-1")
        for path in (world.base / "cache").rglob("*")
        if path.is_file()
    }
    assert any(name.endswith("/config") for name in cached)
    assert [name for name, text in cached.items() if any(n in text for n in NEEDLES)] == []
    branches = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)"],
        cwd=world.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"refs/heads/{branch_for(ROLLBACK)}" in branches.split()


def test_the_token_is_not_sent_to_another_host(world: FaultWorld) -> None:
    with serve_git(world.base, TOKEN) as server:
        # localhost is loopback too, but it is not the GitHub host 127.0.0.1.
        env = {**_env(server, "localhost"), "SAFEDEPLOY_ENVIRONMENT_ALLOWED_HOSTS": "localhost"}
        opened = run("reconcile", "--at", AT_BREACH, cwd=world.state, env=env)
        assert opened.code == 0, opened.stderr
        approved = run("approve", ROLLBACK, "--by", "alice", cwd=world.state, env=env)
    assert approved.code == 3
    assert "Authentication failed" in approved.stderr
    assert server.passwords_sent == []
    assert server.authorizations  # git did ask this host, without the token
