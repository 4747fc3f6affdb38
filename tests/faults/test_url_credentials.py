"""Credentials in a URL are used, and appear in no file, commit, message or status.

One scenario through the command with a password in each URL it is given:
Prometheus (a real one, at the instant its history burns checkout's budget), the
environment repo and the state remote (both served over HTTP by git's http-backend, which
lets only those passwords push), and the chat webhook (which first fails, so the failure
is recorded too). Reconciles open an incident, notify and push the state; an approval
pushes its branch; report, explain, gate with a GitHub commit status, verify and history
follow, and a reconcile against an unreachable Prometheus prints its errors. Then every
file of the world, the patch of every commit of the three repositories, every byte each
command printed, every webhook body and every GitHub request are searched for the
passwords and for the Basic credentials made of them.
"""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from testing.faults import AT_BREACH, AT_LATE, ROLLBACK, TOKEN, FaultWorld, Outcome, copy_world, run
from testing.git_http import GitHttpServer, serve_git
from testing.github_server import FakeGitHub
from testing.gitrepos import git
from testing.prometheus import RunningPrometheus
from testing.webhook import Webhook, unreachable_url

SHA = "0123456789abcdef0123456789abcdef01234567"
SECRETS = {
    "prometheus": ("prom-user", "PROMPW-3b1f0c"),
    "environment": ("env-bot", "ENVPW-77aa01"),
    "state": ("state-bot", "STATEPW-90ce42"),
    "webhook": ("hook-user", "HOOKPW-5d2e88"),
}
NEEDLES = [pw for _, pw in SECRETS.values()] + [
    base64.b64encode(f"{user}:{pw}".encode()).decode() for user, pw in SECRETS.values()
]


def _with(url: str, which: str) -> str:
    user, password = SECRETS[which]
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{user}:{password}@{rest}"


def _state_repository(world: FaultWorld) -> Path:
    git(world.state, "init", "-q", "--initial-branch=main")
    git(world.state, "add", ".")
    git(world.state, "commit", "-qm", "Initial state")
    bare = world.base / "state.git"
    git(world.base, "init", "-q", "--bare", "--initial-branch=main", str(bare))
    git(world.state, "push", "-q", str(bare), "main")
    return bare


def _env(server: GitHttpServer, world: str, hook: Webhook, github: FakeGitHub) -> dict[str, str]:
    return {
        "SAFEDEPLOY_ENV_REPO": _with(server.url(f"{world}/env.git"), "environment"),
        "SAFEDEPLOY_STATE_REMOTE": _with(server.url(f"{world}/state.git"), "state"),
        "SAFEDEPLOY_WEBHOOK_URL": _with(hook.url, "webhook"),
        "SAFEDEPLOY_GITHUB_REPO": "acme/env",
        "SAFEDEPLOY_GITHUB_API_URL": github.base_url,
        "GITHUB_TOKEN": TOKEN,
    }


def _scenario(
    worlds: tuple[FaultWorld, FaultWorld],
    server: GitHttpServer,
    prometheus: RunningPrometheus,
    hook: Webhook,
    github: FakeGitHub,
    dead_host: str,
) -> list[Outcome]:
    """`worlds`: one reads the real Prometheus where its history burns (an incident, its
    evidence, a commit status); the other the embedded story, up to an approval."""
    measured, story = worlds
    live = {
        **_env(server, measured.base.name, hook, github),
        "SAFEDEPLOY_PROMETHEUS_URL": _with(prometheus.url, "prometheus"),
    }
    env = _env(server, story.base.name, hook, github)
    dead = {**env, "SAFEDEPLOY_PROMETHEUS_URL": _with(f"http://{dead_host}", "prometheus")}
    at_burn = prometheus.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    hook.statuses = [500, 500]
    outputs = [
        run("reconcile", "--at", at_burn, "--push", cwd=measured.state, env=live),
        run(
            "gate",
            "checkout",
            "--at",
            at_burn,
            "--github-status",
            SHA,
            cwd=measured.state,
            env=live,
        ),
        run("report", "--json", cwd=measured.state, env=live),
    ]
    for args, with_env in (
        (("reconcile", "--at", AT_BREACH, "--push"), env),
        (("approve", ROLLBACK, "--by", "alice"), env),
        (("reconcile", "--at", AT_LATE), dead),
        (("report",), env),
        (("explain", ROLLBACK, "--json"), env),
        (("audit", "verify"), env),
        (("history",), env),
    ):
        outputs.append(run(*args, cwd=story.state, env=with_env))
    codes = [outputs[0].code, outputs[3].code, outputs[4].code]
    assert codes == [0, 0, 0], [outputs[i].stderr for i in (0, 3, 4)]
    return outputs


@pytest.mark.soak  # about 5 s: ten commands, two worlds
def test_no_url_credential_is_written_or_printed(
    fault_world: FaultWorld,
    prometheus: RunningPrometheus,
    webhook: Webhook,
    github_server: FakeGitHub,
    tmp_path: Path,
) -> None:
    dead_host = urlsplit(unreachable_url()).netloc
    worlds = (copy_world(fault_world, tmp_path / "a"), copy_world(fault_world, tmp_path / "b"))
    bare = [_state_repository(world) for world in worlds]
    with serve_git(tmp_path, *(pw for _, pw in SECRETS.values())) as server:
        outputs = _scenario(worlds, server, prometheus, webhook, github_server, dead_host)

    places: dict[str, str] = {}
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            places[str(path.relative_to(tmp_path))] = path.read_bytes().decode("latin-1")
    for world in worlds:
        for repo in (world.state, world.base / "state.git", world.env):
            log = git(repo, "log", "-p", "--all")
            places[f"git log -p --all in {repo.relative_to(tmp_path)}"] = log
    for number, output in enumerate(outputs):
        places[f"command {number} stdout"] = output.stdout
        places[f"command {number} stderr"] = output.stderr
    for number, body in enumerate(webhook.bodies):
        places[f"webhook body {number}"] = str(body)
    for number, request in enumerate(github_server.requests):
        places[f"github request {number} {request.path}"] = (
            f"{request.query} {dict(request.headers)} {request.body}"
        )

    leaks = [(where, n) for where, text in places.items() for n in NEEDLES if n in text]
    assert leaks == []
    # Each credential was used: git pushed with both, Prometheus answered, the hook got two.
    assert {SECRETS["environment"][1], SECRETS["state"][1]} <= set(server.passwords_sent)
    for world, remote in zip(worlds, bare, strict=True):
        pushed = git(remote, "rev-parse", "main")
        assert git(world.state, "merge-base", "--is-ancestor", pushed, "HEAD") == ""
        assert int(git(remote, "rev-list", "--count", "main")) >= 2  # beyond the initial one
    assert len(webhook.bodies) >= 3  # the failed two attempts, then a delivered message
    # The scan saw the URLs it had to: what was read from the Prometheus it names.
    # The scan saw the URLs it had to: the gate names the Prometheus it read, the summary
    # of a run against an unreachable one names it in every reason.
    assert f"Prometheus at {prometheus.url}" in outputs[1].stdout
    summary = places["b/state/control-plane/state/summary.json"]
    assert f"{dead_host}/api/v1/query" in summary and "cannot connect" in summary
    statuses = github_server.requests_to(f"/statuses/{SHA}", "POST")
    assert statuses
    assert f"{dead_host}/api/v1/query" in outputs[5].stdout
