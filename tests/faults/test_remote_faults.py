"""The outside systems failing, end to end through the command: what single-fault tests of
the adapters (tests/adapters/test_prometheus.py, tests/adapters/test_github.py,
tests/usecases/test_approval.py) do not already show.

- Prometheus hanging, answering 500, garbage, an HTML error page, a truncated body or
  one nested past the parser's recursion limit:
  reconcile decides nothing, proposes nothing, leaves every incident as it was, exits 3.
- GitHub rate limiting (403 with X-RateLimit-Remaining: 0) on the pull request's read or
  write, or GitHub unreachable: the proposal is recorded as failed with the reason, the
  pushed branch is kept, and the next approval opens exactly one pull request.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from testing.faults import (
    AT_BREACH,
    ROLLBACK,
    TOKEN,
    BadPrometheus,
    FaultWorld,
    copy_world,
    decisions,
    problems,
    run,
)
from testing.github_server import FakeGitHub

LATER = "2026-11-01T11:30:00Z"


def _prometheus(bad: BadPrometheus) -> dict[str, str]:
    return {
        "SAFEDEPLOY_PROMETHEUS_URL": bad.url,
        "SAFEDEPLOY_PROMETHEUS_TIMEOUT": "0.3",
        "SAFEDEPLOY_PROMETHEUS_RETRIES": "0",
        "SAFEDEPLOY_PROMETHEUS_DEADLINE": "2",
    }


def _files(state: Path, *directories: str) -> dict[str, bytes]:
    return {
        str(p.relative_to(state)): p.read_bytes()
        for d in directories
        for p in sorted((state / d).rglob("*"))
        if p.is_file()
    }


# A hang costs the whole deadline twice; the client's own deadline test covers it by
# default (tests/adapters/test_prometheus.py), the whole command in the soak run.
@pytest.mark.parametrize(
    "mode",
    [pytest.param("hang", marks=pytest.mark.soak), "500", "garbage", "html", "truncated", "nested"],
)
def test_a_broken_prometheus_proposes_nothing_and_exits_3(
    fault_world: FaultWorld,
    burning_world: FaultWorld,
    bad_prometheus: BadPrometheus,
    tmp_path: Path,
    mode: str,
) -> None:
    bad_prometheus.mode = mode
    # Where real data opens an incident (the fast burn at 11:05), nothing is opened.
    fresh = copy_world(fault_world, tmp_path / "fresh")
    done = run(
        "reconcile", "--at", AT_BREACH, "--json", cwd=fresh.state, env=_prometheus(bad_prometheus)
    )
    assert done.code == 3, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["created"] == {"incidents": [], "proposals": []}
    assert {s["severity"] for s in result["services"]} == {"unknown"}
    assert all(bad_prometheus.url in reason for reason in result["undecided"]), result
    assert decisions(fresh.state) == {}
    assert not (fresh.state / "evidence").exists()
    assert bad_prometheus.queries > 0

    # An open incident and its proposals are left exactly as they were.
    world = copy_world(burning_world, tmp_path / "burning")
    before = _files(world.state, "incidents", "action-proposals", "evidence")
    done = run("reconcile", "--at", LATER, cwd=world.state, env=_prometheus(bad_prometheus))
    assert done.code == 3, done.stdout + done.stderr
    assert _files(world.state, "incidents", "action-proposals", "evidence") == before
    assert problems(world.state) == []


def _github(server: FakeGitHub, api_url: str | None = None) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": TOKEN,
        "SAFEDEPLOY_PROVIDER": "github",
        "SAFEDEPLOY_GITHUB_REPO": "acme/env",
        "SAFEDEPLOY_GITHUB_API_URL": api_url or server.base_url,
    }


def _branch(world: FaultWorld) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/safedeploy/{ROLLBACK}"],
        cwd=world.env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def _proposal(world: FaultWorld) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        (world.state / "action-proposals" / f"{ROLLBACK}.json").read_bytes()
    )
    return loaded


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_rate_limited_pull_request_is_recorded_and_opened_once_later(
    burning_world: FaultWorld, github_server: FakeGitHub, tmp_path: Path, method: str
) -> None:
    world = copy_world(burning_world, tmp_path / "world")
    github_server.fail_next("/repos/acme/env/pulls", 403, method=method, rate_limited=True)
    limited = run("approve", ROLLBACK, "--by", "alice", cwd=world.state, env=_github(github_server))
    assert limited.code == 3, limited.stdout + limited.stderr
    assert "rate limit" in limited.stderr and "resets at" in limited.stderr
    assert TOKEN not in limited.stdout + limited.stderr
    proposal = _proposal(world)
    assert proposal["status"] == "failed"
    assert "rate limit" in json.dumps(proposal["approval"])
    pushed = _branch(world)
    assert pushed, "the branch pushed before the limit is kept"
    assert github_server.pulls["acme/env"] == []

    again = run("approve", ROLLBACK, "--by", "alice", cwd=world.state, env=_github(github_server))
    assert again.code == 0, again.stdout + again.stderr
    assert _proposal(world)["status"] == "approved"
    assert len(github_server.pulls["acme/env"]) == 1
    assert _branch(world) == pushed
    assert problems(world.state) == []


def test_github_unreachable_then_back(
    burning_world: FaultWorld, github_server: FakeGitHub, tmp_path: Path
) -> None:
    world = copy_world(burning_world, tmp_path / "world")
    gone = f"http://127.0.0.1:{_closed_port()}"
    down = run(
        "approve", ROLLBACK, "--by", "alice", cwd=world.state, env=_github(github_server, gone)
    )
    assert down.code == 3, down.stdout + down.stderr
    assert TOKEN not in down.stdout + down.stderr
    assert _proposal(world)["status"] == "failed"
    pushed = _branch(world)
    assert pushed

    back = run("approve", ROLLBACK, "--by", "alice", cwd=world.state, env=_github(github_server))
    assert back.code == 0, back.stdout + back.stderr
    assert len(github_server.pulls["acme/env"]) == 1
    assert _branch(world) == pushed
    assert problems(world.state) == []
