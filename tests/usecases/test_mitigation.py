"""Mitigated means merged: reconcile follows an approved change to the default branch.

Each test starts after checkout's bad release (one incident, a rollback and a block
proposed), approves the rollback at 11:07, then does to the environment repo and the
local GitHub server what people do (merge the pull request, close it, commit by hand,
delete the branch) and runs the real `safedeploy reconcile` after it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from safedeploy.adapters.github import Throttle
from safedeploy.errors import IllegalTransitionError
from safedeploy.usecases.approval import ApprovalResult, approve
from safedeploy.usecases.context import Context
from testing.faults import (
    BLOCK,
    INCIDENT,
    ROLLBACK,
    TOKEN,
    FaultWorld,
    Outcome,
    copy_world,
    problems,
    run,
)
from testing.github_server import FakeGitHub
from testing.gitrepos import git
from testing.webhook import Webhook

NO_WAIT = Throttle(seconds_between_requests=0, seconds_between_writes=0, retries=0)
APPROVED = datetime(2026, 11, 1, 11, 7, tzinfo=UTC)
MERGED = int(datetime(2026, 11, 1, 11, 8, tzinfo=UTC).timestamp())
BRANCH = f"safedeploy/{ROLLBACK}"
FOLDER = f"evidence/incident-{INCIDENT}"


@pytest.fixture
def world(burning_world: FaultWorld, tmp_path: Path, webhook: Webhook) -> FaultWorld:
    copied = copy_world(burning_world, tmp_path / "world")
    with (copied.state / "safedeploy.toml").open("a", encoding="utf-8") as config:
        config.write(f'[notify]\nwebhook_url = "{webhook.url}"\n')
    return copied


def on_github(world: FaultWorld, server: FakeGitHub) -> None:
    with (world.state / "safedeploy.toml").open("a", encoding="utf-8") as config:
        config.write(
            f'[github]\nprovider = "github"\nrepo = "acme/env"\napi_url = "{server.base_url}"\n'
        )


def approve_rollback(world: FaultWorld, at: datetime = APPROVED) -> ApprovalResult:
    ctx = Context(world.state, environ={"GITHUB_TOKEN": TOKEN}, github_throttle=NO_WAIT)
    return approve(ctx, ROLLBACK, "alice", at)


def reconcile(world: FaultWorld, minute: str) -> Outcome:
    done = run(
        "reconcile", "--at", f"2026-11-01T11:{minute}:00Z", "--json",
        cwd=world.state,
        env={"GITHUB_TOKEN": TOKEN},
    )  # fmt: skip
    assert done.code == 0, done.stderr
    return done


def work_clone(world: FaultWorld) -> Path:
    clone = world.base / "people"
    if not clone.exists():
        git(world.base, "clone", "--quiet", str(world.env), str(clone))
    git(clone, "fetch", "--quiet", "origin")
    return clone


def merge_branch(world: FaultWorld) -> str:
    """The approval's branch merged into main with a merge commit, at 11:08."""
    clone = work_clone(world)
    git(clone, "checkout", "--quiet", "-B", "main", "origin/main")
    git(
        clone,
        "merge",
        "--no-ff",
        "--quiet",
        "-m",
        "Merge rollback",
        f"origin/{BRANCH}",
        when=MERGED,
    )
    git(clone, "push", "--quiet", "origin", "main")
    return git(clone, "rev-parse", "HEAD")


def incident(world: FaultWorld) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((world.state / "incidents" / f"{INCIDENT}.json").read_text())
    return data


def proposal(world: FaultWorld, proposal_id: str = ROLLBACK) -> dict[str, Any]:
    path = world.state / "action-proposals" / f"{proposal_id}.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def approval_doc(world: FaultWorld) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((world.state / FOLDER / "approval.json").read_text())
    return data


def readme(world: FaultWorld) -> str:
    return (world.state / FOLDER / "README.md").read_text()


def posted(webhook: Webhook) -> str:
    return "\n".join(body["text"] for body in webhook.bodies)


def test_approved_is_proposed_in_the_pull_request_until_it_is_merged(
    world: FaultWorld, github_server: FakeGitHub, webhook: Webhook
) -> None:
    on_github(world, github_server)
    approved = approve_rollback(world)
    assert approved.incident is not None and approved.incident.state == "detected"
    (pull,) = github_server.pulls["acme/env"]
    last = incident(world)["transitions"][-1]
    assert (last["event"], last["to_state"]) == ("propose-rollback", "detected")
    assert last["reason"] == (
        f"rollback approved and proposed in pull request #{pull['number']} ({pull['html_url']})"
    )
    assert "waiting to be merged" in readme(world)
    assert "(rollback-rollout, proposed)" not in readme(world)

    # Open, not merged: the incident stays where it is, run after run.
    assert json.loads(reconcile(world, "10").stdout)["landed"] == []
    assert (incident(world)["state"], proposal(world)["status"]) == ("detected", "approved")

    sha = merge_branch(world)
    merged = github_server.merge_pull("acme/env", pull["number"], sha)
    landed = json.loads(reconcile(world, "15").stdout)["landed"]
    assert landed == [
        f"checkout: rollback-rollout {ROLLBACK}: pull request #{pull['number']} merged at "
        f"{merged['merged_at']}; incident {INCIDENT} mitigated"
    ]
    now = incident(world)
    assert now["state"] == "mitigated"
    assert now["transitions"][-1]["actor"] == "safedeploy-reconcile"
    assert proposal(world)["status"] == "merged"
    assert proposal(world)["approval"]["merge_commit"] == sha
    record = approval_doc(world)
    assert (record["status"], record["merge_commit"], record["merged_at"]) == (
        "merged",
        sha,
        merged["merged_at"],
    )
    text = readme(world)
    assert f"Incident `{INCIDENT}` is **mitigated**" in text
    assert f"on the default branch as {sha[:12]} at {merged['merged_at']}" in text
    assert "waiting to be merged" not in text
    assert f":information_source: checkout: rollback-rollout {ROLLBACK}: pull request" in posted(
        webhook
    )
    assert problems(world.state) == []


def test_without_github_the_merge_is_seen_on_the_default_branch(world: FaultWorld) -> None:
    approve_rollback(world)
    sha = merge_branch(world)
    reconcile(world, "10")
    assert incident(world)["state"] == "mitigated"
    record = approval_doc(world)
    # The merge commit (followed along first parents), and when it was made.
    assert (record["merge_commit"], record["merged_at"]) == (sha, "2026-11-01T11:08:00Z")
    assert incident(world)["transitions"][-1]["reason"] == (
        f"rollback {ROLLBACK} merged: on main as {sha[:12]} at 2026-11-01T11:08:00Z"
    )


def test_a_direct_commit_of_the_change_counts_as_merged(world: FaultWorld) -> None:
    approve_rollback(world)
    clone = work_clone(world)
    path = json.loads((world.state / FOLDER / "approval.json").read_text())["path"]
    git(clone, "checkout", "--quiet", "-B", "main", "origin/main")
    (clone / path).write_text(git(clone, "show", f"origin/{BRANCH}:{path}") + "\n")
    git(clone, "commit", "--quiet", "-am", "roll back by hand", when=MERGED)
    git(clone, "push", "--quiet", "origin", "main")
    sha = git(clone, "rev-parse", "HEAD")
    reconcile(world, "10")
    assert (proposal(world)["status"], incident(world)["state"]) == ("merged", "mitigated")
    assert approval_doc(world)["merge_commit"] == sha


def test_a_pull_request_closed_unmerged_sends_the_incident_back_to_investigating(
    world: FaultWorld, github_server: FakeGitHub, webhook: Webhook
) -> None:
    on_github(world, github_server)
    approve_rollback(world)
    (pull,) = github_server.pulls["acme/env"]
    closed = github_server.close_pull("acme/env", pull["number"])
    reconcile(world, "10")
    now = incident(world)
    assert now["state"] == "investigating"
    assert now["transitions"][-1]["event"] == "mitigation-failed"
    assert now["transitions"][-1]["reason"] == (
        f"rollback {ROLLBACK} not applied: pull request #{pull['number']} closed unmerged; "
        "back to investigating"
    )
    assert proposal(world)["status"] == "closed"
    assert approval_doc(world)["closed_at"] == closed["closed_at"]
    assert "(rollback-rollout, closed)" in readme(world)
    assert (
        f":warning: checkout: rollback-rollout {ROLLBACK}: pull request #{pull['number']} "
        f"closed unmerged at {closed['closed_at']}; incident {INCIDENT} investigating"
    ) in posted(webhook)
    # Closed is final: approving it again is refused.
    with pytest.raises(IllegalTransitionError, match="it was closed by safedeploy-reconcile"):
        approve_rollback(world, APPROVED.replace(minute=20))
    assert problems(world.state) == []


def test_without_github_a_branch_deleted_unmerged_closes_the_proposal(world: FaultWorld) -> None:
    approve_rollback(world)
    git(world.env, "branch", "--quiet", "-D", BRANCH)
    reconcile(world, "10")
    assert (proposal(world)["status"], incident(world)["state"]) == ("closed", "investigating")


def test_approve_run_again_records_the_merge_at_once(
    world: FaultWorld, github_server: FakeGitHub, webhook: Webhook
) -> None:
    on_github(world, github_server)
    approve_rollback(world)
    (pull,) = github_server.pulls["acme/env"]
    github_server.merge_pull("acme/env", pull["number"], merge_branch(world))
    again = approve_rollback(world, APPROVED.replace(minute=9))
    assert again.already_approved
    assert again.proposal.status == "merged"
    assert again.incident is not None and again.incident.state == "mitigated"
    assert again.landed == (
        f"rollback-rollout {ROLLBACK}: pull request #{pull['number']} merged at "
        f"{github_server.pulls['acme/env'][0]['merged_at']}; incident {INCIDENT} mitigated",
    )
    assert "pull request" in posted(webhook)
    before = incident(world)
    assert json.loads(reconcile(world, "10").stdout)["landed"] == []
    assert incident(world)["transitions"] == before["transitions"]


def test_a_merged_rollback_still_burning_after_the_timeout_escalates(
    world: FaultWorld, webhook: Webhook
) -> None:
    approve_rollback(world)
    merge_branch(world)
    reconcile(world, "10")
    reconcile(world, "39")  # 29 minutes after: the default 30m timeout not yet over
    assert incident(world)["state"] == "mitigated"
    reconcile(world, "40")
    now = incident(world)
    assert (now["state"], now["transitions"][-1]["event"]) == ("investigating", "mitigation-failed")
    assert now["transitions"][-1]["reason"].startswith(
        "still burning fast 30m after it was mitigated at 2026-11-01T11:10:00Z"
    )
    assert f":rotating_light: checkout: incident {INCIDENT} escalated: still burning" in posted(
        webhook
    )
    assert "**investigating**" in readme(world)


def test_a_pause_merged_leaves_the_incident_as_it_is(world: FaultWorld) -> None:
    ctx = Context(world.state, environ={}, github_throttle=NO_WAIT)
    approve(ctx, BLOCK, "alice", APPROVED)
    clone = work_clone(world)
    git(clone, "checkout", "--quiet", "-B", "main", "origin/main")
    git(clone, "merge", "--no-ff", "--quiet", "-m", "pause", f"origin/safedeploy/{BLOCK}")
    git(clone, "push", "--quiet", "origin", "main")
    reconcile(world, "10")
    assert proposal(world, BLOCK)["status"] == "merged"
    assert incident(world)["state"] == "detected"
