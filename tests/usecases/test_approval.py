from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from safedeploy.adapters.github import Throttle
from safedeploy.errors import (
    BadInputError,
    GitError,
    GitHubError,
    IllegalTransitionError,
    NotAuthorizedError,
)
from safedeploy.usecases.approval import ApprovalResult, approve, reject
from safedeploy.usecases.context import Context
from testing.cli import state_snapshot, tree_snapshot
from testing.github_server import FakeGitHub
from testing.gitrepos import ROLLOUT_PATH, EnvRemote, git, push_change, rollout_text
from testing.manifests import assert_valid_rollout, changed_lines
from testing.scenario import APPROVED_AT, README, RULE, Scenario, build_scenario

NO_WAIT = Throttle(seconds_between_requests=0, seconds_between_writes=0, retries=0)
TOKEN = "ghp_approval-test-token"
OLD_IMAGE = "          image: registry.example.com/checkout:1.5.0"
NEW_IMAGE = "          image: registry.example.com/checkout:1.4.2"


@pytest.fixture
def scenario(tmp_path: Path, env_remote: EnvRemote) -> Scenario:
    return build_scenario(tmp_path, env_remote)


def use_github(scenario: Scenario, server: FakeGitHub) -> dict[str, str]:
    scenario.configure(
        environment={"repo": scenario.remote.url},
        github={"provider": "github", "repo": "acme/env", "api_url": server.base_url},
    )
    return {"GITHUB_TOKEN": TOKEN}


def ctx_of(scenario: Scenario) -> Context:
    """A command's context on the scenario's state, with nothing from this shell."""
    return Context(scenario.state, environ={})


def run_approve(
    scenario: Scenario,
    by: str | None = "alice",
    environ: dict[str, str] | None = None,
    minutes: int = 0,
) -> ApprovalResult:
    at = APPROVED_AT + timedelta(minutes=minutes)
    return approve(
        Context(scenario.state, environ=environ or {}, github_throttle=NO_WAIT),
        scenario.proposal.id,
        by,
        at,
    )


def show(remote: EnvRemote, ref: str, path: str = ROLLOUT_PATH) -> str:
    return git(remote.path, "show", f"{ref}:{path}")


def branches(remote: EnvRemote) -> list[str]:
    return git(remote.path, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def audit_events(scenario: Scenario, stream: str) -> list[str]:
    log = scenario.state / "audit" / f"{stream}.log"
    return [json.loads(line)["event"] for line in log.read_text().splitlines()]


# --- the change in the environment repo ----------------------------------------------------


def test_rollback_pushes_one_image_line_on_its_own_branch(scenario: Scenario) -> None:
    main_before = git(scenario.remote.path, "rev-parse", "main")
    result = run_approve(scenario)

    assert branches(scenario.remote) == ["main", scenario.branch]
    assert git(scenario.remote.path, "rev-parse", "main") == main_before
    after = show(scenario.remote, scenario.branch)
    assert changed_lines(show(scenario.remote, "main"), after) == [
        f"-{OLD_IMAGE}",
        f"+{NEW_IMAGE}",
    ]
    assert_valid_rollout(after)
    # One commit on top of main, touching one file.
    assert git(scenario.remote.path, "rev-parse", f"{scenario.branch}~1") == main_before
    files = git(scenario.remote.path, "diff", "--name-only", "main", scenario.branch)
    assert files == ROLLOUT_PATH
    assert result.commit == git(scenario.remote.path, "rev-parse", scenario.branch)
    assert result.created and not result.already_approved


def test_commit_message_names_the_decision_and_its_numbers(scenario: Scenario) -> None:
    run_approve(scenario)
    message = git(scenario.remote.path, "log", "-1", "--format=%B", scenario.branch)
    lines = message.splitlines()
    assert lines[0] == "safedeploy: Roll back checkout to 1.4.2 (from 1.5.0)"
    assert f"Proposal: {scenario.proposal.id} (rollback-rollout)" in lines
    assert f"Rule: {RULE}" in lines
    fired = lines.index("Alerts fired:")
    assert lines[fired : fired + 7] == [
        "Alerts fired:",
        "  availability 1h/5m (fast-burn): burn rate 20.50x long / 31.00x short, threshold 14.4",
        "Burn rates:",
        "  availability 5m: 31.00x",
        "  availability 1h: 20.50x",
        "Budget remaining:",
        "  availability: 58.0%",
    ]
    assert f"Evidence: evidence/incident-{scenario.incident.id}/" in lines
    assert "Approved by: alice (identity not verified)" in lines
    trailers = git(
        scenario.remote.path, "log", "-1", "--format=%(trailers:only,unfold)", scenario.branch
    )
    assert trailers.splitlines() == [
        f"Safedeploy-Proposal: {scenario.proposal.id}",
        f"Safedeploy-Incident: {scenario.incident.id}",
    ]


def test_block_promotion_adds_the_pause_and_nothing_else(
    tmp_path: Path, env_remote: EnvRemote
) -> None:
    scenario = build_scenario(tmp_path, env_remote, kind="block-promotion")
    result = run_approve(scenario)
    after = show(env_remote, scenario.branch)
    assert changed_lines(show(env_remote, "main"), after) == ["+  paused: true"]
    lines = after.splitlines()
    assert lines[lines.index("spec:") + 1] == "  paused: true"
    assert_valid_rollout(after)
    # A pause holds the release where it is; it mitigates nothing.
    assert result.proposal.status == "approved"
    assert scenario.current_incident().state == "detected"


def test_promote_canary_moves_the_version(tmp_path: Path, env_remote: EnvRemote) -> None:
    scenario = build_scenario(tmp_path, env_remote, kind="promote-canary")
    run_approve(scenario)
    after = show(env_remote, scenario.branch)
    assert changed_lines(show(env_remote, "main"), after) == [
        f"-{OLD_IMAGE}",
        "+          image: registry.example.com/checkout:1.6.0",
    ]
    assert_valid_rollout(after)


def test_refuses_when_the_environment_moved_on(scenario: Scenario, tmp_path: Path) -> None:
    push_change(scenario.remote, tmp_path / "other", "main", ROLLOUT_PATH, rollout_text("1.6.0"))
    before = tree_snapshot(scenario.state)
    with pytest.raises(
        BadInputError, match=r"superseded: .* runs 1\.6\.0 since .*nothing was pushed"
    ):
        run_approve(scenario)
    assert branches(scenario.remote) == ["main"]
    assert scenario.current_proposal().status == "proposed"
    # Only the clone cache may appear; no state file changes.
    after = {k: v for k, v in tree_snapshot(scenario.state).items() if "cache" not in k}
    assert after == before


def commit_later(remote: EnvRemote, workdir: Path, text: str, message: str) -> None:
    """One commit of the rollout on main, an hour after the proposal was made."""
    git(workdir.parent, "clone", "--quiet", str(remote.path), str(workdir))
    (workdir / ROLLOUT_PATH).write_text(text)
    when = int((APPROVED_AT + timedelta(hours=1)).timestamp())
    git(workdir, "commit", "--quiet", "-am", message, when=when)
    git(workdir, "push", "--quiet", "origin", "HEAD:main")


def test_an_old_block_promotion_never_pauses_a_newer_release(
    tmp_path: Path, env_remote: EnvRemote
) -> None:
    scenario = build_scenario(tmp_path, env_remote, kind="block-promotion")
    commit_later(env_remote, tmp_path / "release", rollout_text("1.6.0"), "checkout 1.6.0")
    before = tree_snapshot(scenario.state)
    with pytest.raises(
        BadInputError,
        match=rf"^alice \(identity not verified\) cannot approve {scenario.proposal.id}: "
        rf"superseded: {ROLLOUT_PATH} runs 1\.6\.0 since 2026-11-01T01:20:00Z \(commit "
        r"[0-9a-f]{12}\), a release made after the proposal \(2026-11-01T00:00:00Z\); "
        r"nothing was pushed \(reject it\)$",
    ) as caught:
        run_approve(scenario)
    assert caught.value.exit_code == 2
    assert branches(scenario.remote) == ["main"]
    assert "paused" not in show(env_remote, "main")
    assert scenario.current_proposal().status == "proposed"
    assert state_snapshot(scenario.state) == before


def test_a_commit_that_keeps_the_version_supersedes_nothing(
    tmp_path: Path, env_remote: EnvRemote
) -> None:
    scenario = build_scenario(tmp_path, env_remote, kind="block-promotion")
    commented = rollout_text("1.5.0").replace("canary with", "the canary with")
    commit_later(env_remote, tmp_path / "comment", commented, "checkout: comment")
    run_approve(scenario)
    assert "paused: true" in show(env_remote, scenario.branch)


def test_the_rollback_of_a_resolved_incident_is_refused_and_nothing_is_pushed(
    scenario: Scenario,
) -> None:
    from safedeploy.domain.incidents import next_state
    from safedeploy.usecases.records import record_incident

    mitigated = next_state(scenario.incident, "mitigate", APPROVED_AT, "bob", "by hand")
    resolved = next_state(mitigated, "resolve", APPROVED_AT, "bob", "rolled forward")
    with scenario.store.lock():
        record_incident(scenario.store, resolved, "resolve", APPROVED_AT)
    before = tree_snapshot(scenario.state)
    with pytest.raises(
        IllegalTransitionError,
        match=rf"^alice \(identity not verified\) cannot approve {scenario.proposal.id}: "
        rf"incident {scenario.incident.id} is resolved since 2026-11-01T00:20:00Z; nothing "
        "was pushed$",
    ) as caught:
        run_approve(scenario, minutes=5)
    assert caught.value.exit_code == 2
    assert branches(scenario.remote) == ["main"]
    # Refused before the environment repo was even read: not a file written, not a clone.
    assert tree_snapshot(scenario.state) == before


def test_relative_environment_repo_is_relative_to_the_state_directory(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario.configure(environment={"repo": os.path.relpath(scenario.remote.path, scenario.state)})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_approve(scenario)
    assert result.remote == str(scenario.remote.path)
    assert scenario.branch in branches(scenario.remote)


# --- state, evidence and audit ---------------------------------------------------------------


def test_state_after_approval(scenario: Scenario) -> None:
    result = run_approve(scenario)
    proposal = scenario.current_proposal()
    assert proposal == result.proposal
    assert proposal.status == "approved"
    assert proposal.approval is not None
    assert (proposal.approval.by, proposal.approval.branch) == ("alice", scenario.branch)
    assert proposal.approval.pr_url is None
    assert proposal.approval.identity == "identity not verified"
    # Mitigated only once the change is merged: until then the incident records where it is.
    incident = scenario.current_incident()
    assert incident.state == "detected"
    last = incident.transitions[-1]
    assert (last.event, last.at) == ("propose-rollback", APPROVED_AT)
    assert last.actor == "alice (identity not verified)"
    assert last.reason == (
        f"rollback approved and proposed in branch {scenario.branch} (no pull request: open "
        "one from it)"
    )
    record = json.loads((scenario.evidence / "approval.json").read_text())
    assert record["schema_version"] == 1
    assert record["status"] == "approved"
    assert record["branch"] == scenario.branch
    assert record["commit"] == result.commit
    assert record["base"] == "main"
    assert record["at"] == "2026-11-01T00:20:00Z"
    assert record["identity"] == "identity not verified"
    assert audit_events(scenario, "governance")[-1] == "approve"
    assert audit_events(scenario, "incidents")[-1] == "propose-rollback"
    readme = (scenario.evidence / "README.md").read_text()
    assert (
        f"- `{scenario.proposal.id}` (rollback-rollout, approved) by alice (identity not "
        f"verified) at 2026-11-01T00:20:00Z; branch {scenario.branch}, waiting to be merged."
    ) in readme
    assert "proposed)" not in readme


def test_a_rerun_after_the_incident_was_recorded_does_not_record_it_again(
    scenario: Scenario,
) -> None:
    """An approve killed after the incident's line: its rerun adds no second line."""
    from safedeploy.domain.incidents import next_state
    from safedeploy.usecases.records import record_incident

    reason = (
        f"rollback approved and proposed in branch {scenario.branch} (no pull request: open "
        "one from it)"
    )
    proposed = next_state(
        scenario.incident, "propose-rollback", APPROVED_AT, "alice (identity not verified)", reason
    )
    with scenario.store.lock():
        record_incident(scenario.store, proposed, "propose-rollback", APPROVED_AT)
    lines = audit_events(scenario, "incidents")
    run_approve(scenario)
    assert scenario.current_proposal().status == "approved"
    assert scenario.current_incident() == proposed
    assert audit_events(scenario, "incidents") == lines


def test_actor_comes_from_github_actor(scenario: Scenario) -> None:
    result = run_approve(scenario, by=None, environ={"GITHUB_ACTOR": "alice"})
    assert result.proposal.approval is not None and result.proposal.approval.by == "alice"


def test_an_already_mitigated_incident_is_left_as_it_is(scenario: Scenario) -> None:
    from safedeploy.domain.incidents import next_state
    from safedeploy.usecases.records import record_incident

    mitigated = next_state(scenario.incident, "mitigate", APPROVED_AT, "bob", "by hand")
    with scenario.store.lock():
        record_incident(scenario.store, mitigated, "mitigate", APPROVED_AT)
    run_approve(scenario, minutes=5)
    assert scenario.current_incident() == mitigated
    assert scenario.current_proposal().status == "approved"


def test_approving_twice_changes_nothing_the_second_time(scenario: Scenario) -> None:
    first = run_approve(scenario)
    before = state_snapshot(scenario.state)
    refs = git(scenario.remote.path, "show-ref")
    second = run_approve(scenario, minutes=5)
    assert second.already_approved and not second.created
    assert second.proposal == first.proposal
    assert state_snapshot(scenario.state) == before
    assert git(scenario.remote.path, "show-ref") == refs


# --- GitHub --------------------------------------------------------------------------------


def test_opens_one_labelled_pull_request_with_the_evidence(
    scenario: Scenario, github_server: FakeGitHub
) -> None:
    environ = use_github(scenario, github_server)
    result = run_approve(scenario, environ=environ)
    (pull,) = github_server.pulls["acme/env"]
    assert result.proposal.approval is not None
    assert result.proposal.approval.pr_url == pull["html_url"]
    assert pull["head"]["ref"] == scenario.branch and pull["base"]["ref"] == "main"
    assert pull["title"] == "[safedeploy] Roll back checkout to 1.4.2 (from 1.5.0)"
    assert [label["name"] for label in pull["labels"]] == [
        "safedeploy",
        "rollback",
        "severity:fast-burn",
    ]
    body = pull["body"]
    folder = f"evidence/incident-{scenario.incident.id}/"
    assert f"- **Rule that fired:** {RULE}" in body
    assert f"- **Evidence folder:** `{folder}`" in body
    assert "- availability 1h/5m (fast-burn): burn rate 20.50x long / 31.00x short" in body
    assert "- availability 1h: 20.50x" in body
    assert "- availability: 58.0%" in body
    assert f"> {README.splitlines()[2]}" in body
    for name in ("budget.json", "decision.json", "proposal.json", "slo.json"):
        assert f"- `{folder}{name}`" in body
    record = json.loads((scenario.evidence / "approval.json").read_text())
    assert record["pr_url"] == pull["html_url"]
    assert {r.headers.get("Authorization") for r in github_server.requests} == {f"token {TOKEN}"}


def test_the_charts_of_the_readme_are_named_in_the_pull_request(
    scenario: Scenario, github_server: FakeGitHub
) -> None:
    """Relative images would be broken in the environment repository: named instead."""
    environ = use_github(scenario, github_server)
    chart = "chart-availability-burn-rates.svg"
    with (scenario.evidence / "README.md").open("a", encoding="utf-8") as readme:
        readme.write(f"\n## Charts\n\n![checkout availability: burn rates]({chart})\n")
    run_approve(scenario, environ=environ)
    body = github_server.pulls["acme/env"][0]["body"]
    folder = f"evidence/incident-{scenario.incident.id}/"
    assert f"> checkout availability: burn rates: `{folder}{chart}`" in body
    assert "![" not in body


def test_second_approval_opens_no_second_pull_request(
    scenario: Scenario, github_server: FakeGitHub
) -> None:
    environ = use_github(scenario, github_server)
    run_approve(scenario, environ=environ)
    posts = len(github_server.requests_to("/pulls", "POST"))
    run_approve(scenario, environ=environ, minutes=1)
    assert len(github_server.pulls["acme/env"]) == 1
    assert len(github_server.requests_to("/pulls", "POST")) == posts == 1


@pytest.mark.parametrize("status", [500, 422])
def test_pull_request_failure_fails_the_proposal_and_a_retry_recovers(
    scenario: Scenario, github_server: FakeGitHub, status: int
) -> None:
    environ = use_github(scenario, github_server)
    github_server.fail_next("/repos/acme/env/pulls", status, method="POST")
    with pytest.raises(GitHubError, match=f"{status}.*is now failed") as caught:
        run_approve(scenario, environ=environ)
    assert caught.value.exit_code == 3
    failed = scenario.current_proposal()
    assert failed.status == "failed"
    assert failed.approval is not None and f"{status}" in (failed.approval.error or "")
    assert scenario.current_incident().state == "detected"
    record = json.loads((scenario.evidence / "approval.json").read_text())
    assert record["status"] == "failed" and str(status) in record["error"]
    pushed = git(scenario.remote.path, "rev-parse", scenario.branch)
    assert record["commit"] == pushed

    result = run_approve(scenario, environ=environ, minutes=5)
    assert result.proposal.status == "approved"
    assert [t.to_status for t in result.proposal.transitions] == ["failed", "approved"]
    # The branch of the failed run is reused, not pushed again.
    assert git(scenario.remote.path, "rev-parse", scenario.branch) == pushed
    assert branches(scenario.remote) == ["main", scenario.branch]
    assert len(github_server.pulls["acme/env"]) == 1
    assert audit_events(scenario, "governance")[-2:] == ["fail", "approve"]


def test_missing_token_refuses_before_anything_changes(
    scenario: Scenario, github_server: FakeGitHub
) -> None:
    use_github(scenario, github_server)
    before = tree_snapshot(scenario.state)
    with pytest.raises(BadInputError, match="GITHUB_TOKEN is not set"):
        run_approve(scenario, environ={})
    assert tree_snapshot(scenario.state) == before
    assert branches(scenario.remote) == ["main"]
    assert github_server.requests == []


# --- git failures --------------------------------------------------------------------------


def test_rejected_push_fails_the_proposal(scenario: Scenario, tmp_path: Path) -> None:
    push_change(
        scenario.remote, tmp_path / "other", scenario.branch, ROLLOUT_PATH, rollout_text("9.9.9")
    )
    foreign = git(scenario.remote.path, "rev-parse", scenario.branch)
    with pytest.raises(GitError, match="non-fast-forward") as caught:
        run_approve(scenario)
    assert caught.value.exit_code == 3
    proposal = scenario.current_proposal()
    assert proposal.status == "failed"
    assert proposal.approval is not None
    assert "non-fast-forward" in (proposal.approval.error or "")
    assert git(scenario.remote.path, "rev-parse", scenario.branch) == foreign


def test_unreachable_remote_fails_then_approves_once_fixed(
    scenario: Scenario, tmp_path: Path
) -> None:
    scenario.configure(environment={"repo": str(tmp_path / "gone.git")})
    with pytest.raises(GitError, match=r"cannot fetch environment repo .*gone\.git"):
        run_approve(scenario)
    assert scenario.current_proposal().status == "failed"
    scenario.configure(environment={"repo": scenario.remote.url})
    result = run_approve(scenario, minutes=1)
    assert result.proposal.status == "approved"
    assert scenario.branch in branches(scenario.remote)


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposal_id", "error", "message"),
    [
        ("checkout-20261101t0000z-promote-canary", BadInputError, "no proposal"),
        ("../../etc/passwd", BadInputError, "not file-name safe"),
    ],
)
def test_bad_proposal_ids_are_refused(
    scenario: Scenario, proposal_id: str, error: type[Exception], message: str
) -> None:
    before = tree_snapshot(scenario.state)
    with pytest.raises(error, match=message):
        approve(ctx_of(scenario), proposal_id, "alice", APPROVED_AT)
    assert tree_snapshot(scenario.state) == before


@pytest.mark.parametrize("by", ["mallory", "Alice"])
def test_only_listed_approvers_may_approve(scenario: Scenario, by: str) -> None:
    before = tree_snapshot(scenario.state)
    with pytest.raises(
        NotAuthorizedError,
        match=f"^{by} \\(identity not verified\\) may not approve {scenario.proposal.id}: not an "
        "approver or owner of checkout on disk \\(approvers: alice; owner: team-checkout\\)$",
    ):
        run_approve(scenario, by=by)
    with pytest.raises(NotAuthorizedError):
        run_approve(scenario, by=None, environ={"GITHUB_ACTOR": by})
    assert tree_snapshot(scenario.state) == before
    assert branches(scenario.remote) == ["main"]


def test_no_actor_is_refused(scenario: Scenario) -> None:
    with pytest.raises(BadInputError, match="GITHUB_ACTOR"):
        run_approve(scenario, by=None, environ={})


# --- reject --------------------------------------------------------------------------------


def test_reject_closes_the_proposal_without_action(scenario: Scenario) -> None:
    result = reject(
        ctx_of(scenario), scenario.proposal.id, "alice", APPROVED_AT, reason="false alarm"
    )
    assert result.proposal.status == "rejected" and not result.already_rejected
    stored = scenario.current_proposal()
    assert stored == result.proposal
    # Declared in this scenario: the record says so wherever it names who rejected.
    assert (stored.transitions[-1].actor, stored.transitions[-1].reason) == (
        "alice (identity not verified)",
        "false alarm",
    )
    assert scenario.current_incident() == scenario.incident
    assert audit_events(scenario, "governance")[-1] == "reject"
    assert branches(scenario.remote) == ["main"]

    before = tree_snapshot(scenario.state)
    again = reject(
        Context(scenario.state, environ={}), scenario.proposal.id, "alice", APPROVED_AT, reason="x"
    )
    assert again.already_rejected
    assert tree_snapshot(scenario.state) == before
    with pytest.raises(IllegalTransitionError, match="was rejected"):
        run_approve(scenario, minutes=1)
    assert tree_snapshot(scenario.state) == before


def test_reject_needs_an_approver_and_a_reason(scenario: Scenario) -> None:
    with pytest.raises(NotAuthorizedError):
        reject(
            Context(scenario.state, environ={}),
            scenario.proposal.id,
            "mallory",
            APPROVED_AT,
            reason="no",
        )
    with pytest.raises(BadInputError, match="--reason"):
        reject(
            Context(scenario.state, environ={}),
            scenario.proposal.id,
            "alice",
            APPROVED_AT,
            reason="  ",
        )
    assert scenario.current_proposal().status == "proposed"


def test_an_approved_proposal_cannot_be_rejected(scenario: Scenario) -> None:
    run_approve(scenario)
    with pytest.raises(IllegalTransitionError, match="cannot reject from status approved"):
        reject(
            Context(scenario.state, environ={}),
            scenario.proposal.id,
            "alice",
            APPROVED_AT,
            reason="late",
        )


def test_missing_or_broken_evidence_is_named_not_fatal(
    scenario: Scenario, github_server: FakeGitHub
) -> None:
    environ = use_github(scenario, github_server)
    (scenario.evidence / "README.md").unlink()
    (scenario.evidence / "decision.json").write_text("{not json")
    run_approve(scenario, environ=environ)
    body = github_server.pulls["acme/env"][0]["body"]
    folder = f"evidence/incident-{scenario.incident.id}/"
    assert f"_No README.md in `{folder}`._" in body
    assert f"- `{folder}decision.json`: not valid JSON, left out" in body
    assert "Alerts fired" not in body
    assert "- availability 1h: 20.50x" in body


def test_a_broken_definition_of_another_service_does_not_block(scenario: Scenario) -> None:
    (scenario.state / "services" / "search.yaml").write_text("kind: [not a service\n")
    assert run_approve(scenario).proposal.status == "approved"


def test_a_proposal_for_an_undefined_service_is_refused(scenario: Scenario) -> None:
    (scenario.state / "services" / "checkout.yaml").unlink()
    with pytest.raises(BadInputError, match=r"has no services/checkout\.yaml"):
        run_approve(scenario)
    assert scenario.current_proposal().status == "proposed"


def test_the_audit_log_rebuilds_the_state_after_failure_and_approval(
    scenario: Scenario, github_server: FakeGitHub
) -> None:
    from safedeploy.usecases.audit_replay import replay, verify

    environ = use_github(scenario, github_server)
    github_server.fail_next("/repos/acme/env/pulls", 500, method="POST")
    with pytest.raises(GitHubError):
        run_approve(scenario, environ=environ)
    run_approve(scenario, environ=environ, minutes=5)
    assert verify(Context(scenario.state)).ok
    result = replay(Context(scenario.state), check=True)
    assert result.differences == []
    assert (result.incidents, result.proposals) == (1, 1)
