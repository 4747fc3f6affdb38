"""GITHUB_TOKEN reaches GitHub's Authorization header and nowhere else.

One whole scenario through the installed command with a recognisable token in the
environment: reconciles that open an incident, an approval that is rate limited and then
succeeds with the GitHub provider against the local server, a second approval, report,
explain, gate posting a commit status, verify, replay and history. Then every file under
the world (state, its Git history, the environment repo and its cached clone), the patch
of every commit on every ref of both repositories, every line each command printed, and
every request the server recorded except its Authorization header are searched for the
token, its base64 form and its second half.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from testing.cli import Result
from testing.cli import run as run_installed
from testing.faults import (
    AT_BREACH,
    AT_HEALTHY,
    BLOCK,
    INCIDENT,
    ROLLBACK,
    TOKEN,
    FaultWorld,
    copy_world,
)
from testing.github_server import FakeGitHub
from testing.gitrepos import git

SHA = "0123456789abcdef0123456789abcdef01234567"
NEEDLES = (TOKEN, TOKEN[len(TOKEN) // 2 :], base64.b64encode(TOKEN.encode()).decode())


def _scenario(world: FaultWorld, server: FakeGitHub) -> list[Result]:
    env = {
        "GITHUB_TOKEN": TOKEN,
        "SAFEDEPLOY_PROVIDER": "github",
        "SAFEDEPLOY_GITHUB_REPO": "acme/env",
        "SAFEDEPLOY_GITHUB_API_URL": server.base_url,
    }

    def sd(*args: str) -> Result:
        return run_installed(*args, cwd=world.state, env=env)

    outputs = [sd("reconcile", "--at", at) for at in (AT_HEALTHY, AT_BREACH)]
    server.fail_next("/repos/acme/env/pulls", 403, method="POST", rate_limited=True)
    outputs.append(sd("approve", ROLLBACK, "--by", "alice"))
    assert outputs[-1].code == 3, outputs[-1].stderr
    outputs += [sd("approve", ROLLBACK, "--by", "alice"), sd("approve", BLOCK, "--by", "alice")]
    outputs += [
        sd("report"),
        sd("report", "--json"),
        sd("explain", INCIDENT),
        sd("explain", ROLLBACK, "--json"),
        sd("gate", "checkout", "--at", "2026-11-01T11:30:00Z", "--github-status", SHA),
        sd("audit", "verify"),
        sd("replay", "--check"),
        sd("history"),
    ]
    assert [o.code for o in outputs[3:5]] == [0, 0], [o.stderr for o in outputs[3:5]]
    assert len(server.pulls["acme/env"]) == 2
    assert server.requests_to(f"/statuses/{SHA}", "POST")
    return outputs


# A whole scenario, about ten seconds: the soak run (the /proc and host checks of
# test_git_credentials.py run by default).
@pytest.mark.soak
def test_the_token_appears_nowhere_but_the_authorization_header(
    fault_world: FaultWorld, github_server: FakeGitHub, tmp_path: Path
) -> None:
    world = copy_world(fault_world, tmp_path / "world")
    git(world.state, "init", "-q", "--initial-branch=main")
    git(world.state, "add", ".")
    git(world.state, "commit", "-qm", "Initial state")
    outputs = _scenario(world, github_server)

    places: dict[str, str] = {}
    for path in sorted(world.base.rglob("*")):
        if path.is_file():
            places[str(path.relative_to(world.base))] = path.read_bytes().decode("latin-1")
    for repo in (world.state, world.env):
        places[f"git log -p --all in {repo.name}"] = git(repo, "log", "-p", "--all")
    for number, output in enumerate(outputs):
        places[f"command {number} stdout"] = output.stdout
        places[f"command {number} stderr"] = output.stderr
    for number, request in enumerate(github_server.requests):
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        places[f"request {number} {request.path}"] = f"{request.query} {headers} {request.body}"
    for pull in github_server.pulls["acme/env"]:
        places[f"pull request {pull['number']} body"] = str(pull["body"])

    leaks = [where for where, text in places.items() for n in NEEDLES if n in text]
    assert leaks == []
    # The scan saw what it should have: the commits, the bodies, the header.
    assert any(name.startswith("audit/") or "/audit/" in name for name in places)
    assert "evidence" in places["pull request 1 body"]
    authorizations = {r.headers.get("Authorization") for r in github_server.requests}
    assert authorizations == {f"token {TOKEN}"}
