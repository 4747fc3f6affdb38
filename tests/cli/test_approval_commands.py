from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.cli import Result, Runner, state_snapshot, tree_snapshot
from testing.github_server import FakeGitHub
from testing.gitrepos import EnvRemote, git
from testing.scenario import Scenario, build_scenario, commit_state
from testing.signing import SigningKey, sign_with, signature_status

TOKEN = "ghp_cli-test-token"


@pytest.fixture
def scenario(tmp_path: Path, env_remote: EnvRemote) -> Scenario:
    return build_scenario(tmp_path, env_remote)


def decide(cli: Runner, scenario: Scenario, *args: str, **env: str) -> Result:
    # The caller's own GitHub variables must not decide who approves or which token is sent.
    environ = {"GITHUB_ACTOR": "", "GITHUB_TOKEN": "", **env}
    return cli("--state", str(scenario.state), *args, env=environ)


def use_github(scenario: Scenario, server: FakeGitHub) -> None:
    scenario.configure(
        environment={"repo": scenario.remote.url},
        github={"provider": "github", "repo": "acme/env", "api_url": server.base_url},
    )


def remote_branches(remote: EnvRemote) -> list[str]:
    return git(remote.path, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def test_approve_pushes_the_branch_and_says_where(cli: Runner, scenario: Scenario) -> None:
    result = decide(cli, scenario, "approve", scenario.proposal.id, "--by", "alice")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{scenario.proposal.id}: approved by alice (identity not verified)",
        f"branch {scenario.branch} on {scenario.remote.path}",
        "no pull request (github.provider is git): open one from this branch",
        f"incident {scenario.incident.id}: detected: mitigated once reconcile sees the change "
        "on the default branch",
    ]
    assert remote_branches(scenario.remote) == ["main", scenario.branch]
    assert scenario.current_proposal().status == "approved"


def test_approve_json_and_the_second_approve_changes_nothing(
    cli: Runner, scenario: Scenario
) -> None:
    first = decide(cli, scenario, "approve", scenario.proposal.id, "--json", GITHUB_ACTOR="alice")
    assert first.code == 0, first.stderr
    data = json.loads(first.stdout)
    sha = git(scenario.remote.path, "rev-parse", scenario.branch)
    assert {k: data[k] for k in ("status", "by", "branch", "commit", "pr_url")} == {
        "status": "approved",
        "by": "alice",
        "branch": scenario.branch,
        "commit": sha,
        "pr_url": None,
    }
    assert (data["incident_state"], data["created"], data["already_approved"]) == (
        "detected",
        True,
        False,
    )
    before = state_snapshot(scenario.state)
    second = decide(cli, scenario, "approve", scenario.proposal.id, "--by", "alice", "--json")
    assert second.code == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["already_approved"] is True and again["branch"] == scenario.branch
    assert again["at"] == data["at"]
    assert state_snapshot(scenario.state) == before
    assert git(scenario.remote.path, "rev-parse", scenario.branch) == sha


def test_approve_opens_the_pull_request(
    cli: Runner, scenario: Scenario, github_server: FakeGitHub
) -> None:
    use_github(scenario, github_server)
    result = decide(
        cli, scenario, "approve", scenario.proposal.id, "--by", "alice", GITHUB_TOKEN=TOKEN
    )
    assert result.code == 0, result.stderr
    (pull,) = github_server.pulls["acme/env"]
    assert f"pull request {pull['html_url']}" in result.stdout.splitlines()
    assert TOKEN not in result.stdout + result.stderr


def test_pull_request_error_exits_3_and_leaves_the_proposal_failed(
    cli: Runner, scenario: Scenario, github_server: FakeGitHub
) -> None:
    use_github(scenario, github_server)
    github_server.fail_next("/repos/acme/env/pulls", 500, method="POST")
    result = decide(
        cli, scenario, "approve", scenario.proposal.id, "--by", "alice", GITHUB_TOKEN=TOKEN
    )
    assert result.code == 3
    (line,) = result.stderr.splitlines()
    assert "500 server error" in line and f"{scenario.proposal.id} is now failed" in line
    assert scenario.current_proposal().status == "failed"
    retry = decide(
        cli, scenario, "approve", scenario.proposal.id, "--by", "alice", GITHUB_TOKEN=TOKEN
    )
    assert retry.code == 0, retry.stderr
    assert len(github_server.pulls["acme/env"]) == 1


def test_unreachable_remote_exits_3(cli: Runner, scenario: Scenario, tmp_path: Path) -> None:
    scenario.configure(environment={"repo": str(tmp_path / "gone.git")})
    result = decide(cli, scenario, "approve", scenario.proposal.id, "--by", "alice")
    assert result.code == 3
    assert "cannot fetch environment repo" in result.stderr
    assert scenario.current_proposal().status == "failed"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ("--by", "mallory"),
            {},
            "mallory (identity not verified) may not approve checkout-20261101t000000z-"
            "rollback-rollout: not an approver or owner of checkout",
        ),
        ((), {"GITHUB_ACTOR": "mallory"}, "mallory (identity not verified) may not approve"),
        ((), {}, "pass --by NAME or set GITHUB_ACTOR"),
    ],
)
def test_refusals_exit_2_and_write_nothing(
    cli: Runner, scenario: Scenario, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    before = tree_snapshot(scenario.state)
    result = decide(cli, scenario, "approve", scenario.proposal.id, *args, **env)
    assert result.code == 2
    assert message in result.stderr
    assert tree_snapshot(scenario.state) == before
    assert remote_branches(scenario.remote) == ["main"]


@pytest.mark.parametrize(
    ("proposal_id", "message"),
    [
        ("checkout-20261101t000000z-block-promotion", "no proposal"),
        ("../../etc/passwd", "not file-name safe"),
    ],
)
def test_bad_ids_exit_2(cli: Runner, scenario: Scenario, proposal_id: str, message: str) -> None:
    before = tree_snapshot(scenario.state)
    result = decide(cli, scenario, "approve", proposal_id, "--by", "alice")
    assert result.code == 2
    assert message in result.stderr
    assert tree_snapshot(scenario.state) == before


def test_missing_token_exits_2(cli: Runner, scenario: Scenario, github_server: FakeGitHub) -> None:
    use_github(scenario, github_server)
    before = tree_snapshot(scenario.state)
    result = decide(cli, scenario, "approve", scenario.proposal.id, "--by", "alice")
    assert (result.code, result.stderr.strip()) == (2, "GITHUB_TOKEN is not set")
    assert tree_snapshot(scenario.state) == before
    assert github_server.requests == []


def test_reject_then_approve_is_refused(cli: Runner, scenario: Scenario) -> None:
    rejected = decide(
        cli,
        scenario,
        "reject",
        scenario.proposal.id,
        "--by",
        "alice",
        "--reason",
        "deploy is fine",
        "--json",
    )
    assert rejected.code == 0, rejected.stderr
    data = json.loads(rejected.stdout)
    assert (data["status"], data["by"], data["reason"]) == (
        "rejected",
        "alice (identity not verified)",
        "deploy is fine",
    )
    approved = decide(cli, scenario, "approve", scenario.proposal.id, "--by", "alice")
    assert approved.code == 2
    assert "was rejected" in approved.stderr
    assert scenario.current_proposal().status == "rejected"
    assert remote_branches(scenario.remote) == ["main"]


def test_reject_text_and_its_refusals(cli: Runner, scenario: Scenario) -> None:
    no_reason = decide(cli, scenario, "reject", scenario.proposal.id, "--by", "alice")
    assert no_reason.code == 2 and "--reason" in no_reason.stderr
    stranger = decide(
        cli, scenario, "reject", scenario.proposal.id, "--by", "eve", "--reason", "no"
    )
    assert stranger.code == 2
    assert "eve (identity not verified) may not reject" in stranger.stderr
    done = decide(
        cli, scenario, "reject", scenario.proposal.id, "--by", "alice", "--reason", "noise"
    )
    assert done.code == 0, done.stderr
    assert done.stdout.strip() == (
        f"{scenario.proposal.id}: rejected by alice (identity not verified): noise"
    )


@pytest.mark.parametrize(
    "args",
    [
        ("approve", "{proposal}", "--by", "alice", "--push"),
        ("approve", "{proposal}", "--by", "alice"),  # with state.push = true
        ("reject", "{proposal}", "--by", "alice", "--reason", "noise", "--push"),
        ("incidents", "transition", "{incident}", "acknowledge", "--by", "alice", "--reason", "r",
         "--push"),
    ],
    ids=["approve", "approve-configured", "reject", "transition"],
)  # fmt: skip
def test_push_outside_a_git_work_tree_is_refused_before_anything_is_pushed(
    cli: Runner, scenario: Scenario, args: tuple[str, ...]
) -> None:
    if "--push" not in args:
        scenario.configure(environment={"repo": scenario.remote.url}, state={"push": True})
    before = tree_snapshot(scenario.state)
    filled = [a.format(proposal=scenario.proposal.id, incident=scenario.incident.id) for a in args]
    result = decide(cli, scenario, *filled)
    assert result.code == 2
    assert result.stderr.strip() == (
        f"--push: {scenario.state} is not a Git work tree; nothing was changed"
    )
    assert remote_branches(scenario.remote) == ["main"]
    assert tree_snapshot(scenario.state) == before


def test_approving_the_rollback_of_a_resolved_incident_exits_2_in_one_line(
    cli: Runner, scenario: Scenario
) -> None:
    for event in ("mitigate", "resolve"):
        moved = decide(
            cli, scenario, "incidents", "transition", scenario.incident.id, event,
            "--by", "alice", "--reason", "rolled forward",
        )  # fmt: skip
        assert moved.code == 0, moved.stderr
    before = tree_snapshot(scenario.state)
    result = decide(cli, scenario, "approve", scenario.proposal.id, "--by", "alice")
    assert result.code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        f"alice (identity not verified) cannot approve {scenario.proposal.id}: incident "
        f"{scenario.incident.id} is resolved since "
    )
    assert line.endswith("; nothing was pushed")
    assert remote_branches(scenario.remote) == ["main"]
    assert tree_snapshot(scenario.state) == before


def test_a_signed_approval_from_the_command_line(
    cli: Runner, tmp_path: Path, env_remote: EnvRemote, signing_keys: dict[str, SigningKey]
) -> None:
    alice = signing_keys["alice"]
    scenario = build_scenario(tmp_path, env_remote, approvals={})
    scenario.configure(
        approvals={"allowed_signers": "allowed_signers"}, environment={"repo": env_remote.url}
    )
    (scenario.state / "allowed_signers").write_text(f"{alice.allowed()}\n")
    commit_state(scenario.state)
    sign_with(scenario.state, alice)
    refused = decide(cli, scenario, "approve", scenario.proposal.id, "--by", "bob")
    assert refused.code == 2
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"--by bob: the signing key {alice.fingerprint} belongs to alice")
    assert remote_branches(scenario.remote) == ["main"]
    done = decide(cli, scenario, "approve", scenario.proposal.id)
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"{scenario.proposal.id}: approved by alice"
    allowed = tmp_path / "signers-to-check"
    allowed.write_text(f"{alice.allowed()}\n")
    assert signature_status(scenario.state, "HEAD", allowed) == ("G", alice.fingerprint)
