"""The state directory as a Git work tree: real repositories, a bare remote, the real command."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from safedeploy.demo import story
from testing.cli import Runner
from testing.state_repo import StateRepoFixture, clone, git

END = story.END.isoformat()
INCIDENT = "checkout-20261101t120000z"


def _head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def _message(root: Path, rev: str = "HEAD") -> str:
    return git(root, "log", "-1", "--format=%B", rev)


def _dirty(root: Path) -> list[str]:
    out = git(root, "status", "--porcelain", "--untracked-files=all")
    return [line[3:] for line in out.splitlines()]


def _reconcile(cli: Runner, root: Path, at: str, *extra: str) -> None:
    result = cli("--state", str(root), "reconcile", "--at", at, *extra)
    assert result.code == 0, result.stderr + result.stdout


def test_each_decision_is_one_commit_and_quiet_runs_make_none(
    cli: Runner, state_repo: StateRepoFixture
) -> None:
    root = state_repo.root
    first = _head(root)
    _reconcile(cli, root, story.BEFORE_RELEASE.isoformat())
    # The first run starts every service's normal streak: state, but no incident.
    assert _message(root).startswith("reconcile 2026-11-01T10:30:00Z: state updated")
    streak = _head(root)
    assert streak != first
    _reconcile(cli, root, (story.BEFORE_RELEASE + timedelta(minutes=1)).isoformat())
    assert _head(root) == streak, "a run that decided nothing must not commit"
    _reconcile(cli, root, END)
    message = _message(root)
    assert message.startswith(
        "reconcile 2026-11-01T12:00:00Z: checkout fast-burn; incident "
        f"{INCIDENT} opened; proposed rollback-rollout, block-promotion"
    )
    assert "Why: availability: 1h/5m burn rate 100.00/100.00 over 14.4" in message
    assert "Safedeploy-Run: 2026-11-01T12:00:00Z" in message.splitlines()
    assert "Safedeploy-Service: checkout" in message.splitlines()
    committed = git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert f"incidents/{INCIDENT}.json" in committed
    assert f"evidence/incident-{INCIDENT}/README.md" in committed
    assert "control-plane/state/.lock" not in committed
    assert not [p for p in _dirty(root) if not p.startswith("control-plane/state/.lock")]
    decision = _head(root)
    _reconcile(cli, root, END)
    assert _head(root) == decision

    listed = json.loads(cli("--state", str(root), "history", "--json").stdout)
    assert [c["commit"] for c in listed] == [decision, streak]
    assert listed[0]["services"] == ["checkout"]
    only = json.loads(
        cli("--state", str(root), "history", "--service", "checkout", "--json").stdout
    )
    assert [c["commit"] for c in only] == [decision]


def test_a_run_killed_before_committing_is_committed_by_the_next(
    cli: Runner, state_repo: StateRepoFixture
) -> None:
    root = state_repo.root
    before = _head(root)
    _reconcile(cli, root, END, "--no-commit")
    assert _head(root) == before
    assert f"incidents/{INCIDENT}.json" in " ".join(_dirty(root))
    _reconcile(cli, root, (story.END + timedelta(minutes=1)).isoformat())
    committed = git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert f"incidents/{INCIDENT}.json" in committed
    assert git(root, "ls-files", "incidents").split() == [f"incidents/{INCIDENT}.json"]
    assert cli("--state", str(root), "audit", "verify").code == 0
    assert cli("--state", str(root), "replay", "--check").code == 0


def test_unrelated_edits_in_the_work_tree_are_left_alone(
    cli: Runner, state_repo: StateRepoFixture
) -> None:
    root = state_repo.root
    (root / "README.md").write_text("Control-plane state, edited by a person.\n")
    (root / "notes.txt").write_text("draft\n")
    git(root, "add", "notes.txt")  # even staged, it is not safedeploy's to commit
    _reconcile(cli, root, END)
    committed = git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert "README.md" not in committed and "notes.txt" not in committed
    status = git(root, "status", "--porcelain").splitlines()
    assert " M README.md" in status and "A  notes.txt" in status
    assert (root / "README.md").read_text() == "Control-plane state, edited by a person.\n"


def test_concurrent_pushes_are_combined_without_losing_audit_lines(
    cli: Runner, state_repo: StateRepoFixture, tmp_path: Path
) -> None:
    a = clone(state_repo, tmp_path / "a")
    b = clone(state_repo, tmp_path / "b")
    _reconcile(cli, a, END, "--service", "checkout", "--push")
    _reconcile(cli, b, END, "--service", "payments", "--push")
    fresh = clone(state_repo, tmp_path / "fresh")
    assert cli("--state", str(fresh), "audit", "verify").code == 0
    assert cli("--state", str(fresh), "replay", "--check").code == 0
    metrics = [json.loads(x) for x in (fresh / "audit/metrics.log").read_text().splitlines()]
    assert [m["data"]["service"] for m in metrics] == ["checkout", "payments"]
    assert [m["seq"] for m in metrics] == [1, 2]
    assert (fresh / f"incidents/{INCIDENT}.json").is_file()
    log = git(fresh, "log", "--format=%s").splitlines()
    assert len(log) == 3  # initial, a's decision, b's run on top of it


def test_a_push_that_would_overwrite_another_decision_is_refused(
    cli: Runner, state_repo: StateRepoFixture, tmp_path: Path
) -> None:
    a = clone(state_repo, tmp_path / "a")
    b = clone(state_repo, tmp_path / "b")
    _reconcile(cli, a, END, "--service", "checkout", "--push")
    later = (story.END + timedelta(minutes=1)).isoformat()
    result = cli("--state", str(b), "reconcile", "--at", later, "--service", "checkout", "--push")
    assert result.code == 3
    assert "push to origin refused" in result.stderr
    assert (
        "two active incidents for checkout: checkout-20261101t120000z, checkout-20261101t120100z"
        in result.stderr
    )
    assert "the local commit is kept" in result.stderr
    assert git(state_repo.origin, "log", "--format=%s", "main").count("\n") == 2
    assert _message(b).startswith("reconcile 2026-11-01T12:01:00Z")
    assert git(b, "status", "--porcelain", "--", "incidents") == ""
