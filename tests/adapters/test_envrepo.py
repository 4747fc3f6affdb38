from __future__ import annotations

from pathlib import Path

import pytest

from safedeploy.adapters import manifests
from safedeploy.adapters.envrepo import DEFAULT_IDENTITY, EnvRepo, Identity
from safedeploy.domain.catalog import Target
from safedeploy.errors import BadInputError, GitError
from testing.gitrepos import (
    HELM_PATH,
    KUSTOMIZE_PATH,
    ROLLOUT_PATH,
    EnvRemote,
    git,
    push_change,
    rollout_text,
)

ROLLOUT = Target(path=ROLLOUT_PATH, kind="rollout", container="checkout")
HELM = Target(path=HELM_PATH, kind="helm")
KUSTOMIZE = Target(path=KUSTOMIZE_PATH, kind="kustomize", image="search")


def open_repo(remote: EnvRemote, tmp_path: Path, identity: Identity = DEFAULT_IDENTITY) -> EnvRepo:
    return EnvRepo(remote.url, tmp_path / "cache", identity=identity)


def rollback_text(repo: EnvRepo, version: str) -> str:
    return manifests.set_version(repo.read_file(ROLLOUT_PATH), ROLLOUT, version)


def test_default_branch_and_current_file(env_remote: EnvRemote, tmp_path: Path) -> None:
    repo = open_repo(env_remote, tmp_path)
    assert repo.default_branch == "main"
    assert repo.read_file(ROLLOUT_PATH) == rollout_text("1.5.0")


def test_default_branch_falls_back_to_master(tmp_path: Path) -> None:
    bare = tmp_path / "other.git"
    work = tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=trunk", str(bare))
    git(tmp_path, "init", "--quiet", "--initial-branch=master", str(work))
    (work / "a.yaml").write_text("a: 1\n")
    git(work, "add", "a.yaml")
    git(work, "commit", "--quiet", "-m", "a")
    git(work, "push", "--quiet", str(bare), "master")  # HEAD still names the missing trunk
    assert EnvRepo(str(bare), tmp_path / "cache").default_branch == "master"


def test_versions_of_each_target(env_remote: EnvRemote, tmp_path: Path) -> None:
    repo = open_repo(env_remote, tmp_path)
    for path, target, expected in (
        (ROLLOUT_PATH, ROLLOUT, env_remote.rollout_versions),
        (HELM_PATH, HELM, env_remote.helm_versions),
        (KUSTOMIZE_PATH, KUSTOMIZE, env_remote.kustomize_versions),
    ):
        history = repo.versions_of(path, manifests.version_reader(target))
        assert tuple(v.version for v in history) == expected


def test_versions_collapse_and_point_at_the_introducing_commit(
    env_remote: EnvRemote, tmp_path: Path
) -> None:
    history = open_repo(env_remote, tmp_path).versions_of(
        ROLLOUT_PATH, manifests.version_reader(ROLLOUT)
    )
    by_message = {c.message: c for c in env_remote.commits}
    # The comment-only commit after 1.4.2 does not make a version of its own.
    assert [(v.sha, v.committed_at) for v in history] == [
        (by_message[m].sha, by_message[m].committed_at)
        for m in ("Initial environment", "checkout 1.4.2", "checkout 1.5.0")
    ]
    running, last_stable = history[-1].version, history[-2].version
    assert (running, last_stable) == ("1.5.0", "1.4.2")


def test_history_ends_at_an_older_file_the_reader_cannot_read(
    env_remote: EnvRemote, tmp_path: Path
) -> None:
    # Only the current file must hold what the target names: here the container `checkout`
    # is named `web` in every commit before the last one.
    work = tmp_path / "work"
    push_change(env_remote, work, "main", ROLLOUT_PATH, rollout_text("1.5.1"))
    target = Target(path=ROLLOUT_PATH, kind="rollout", container="checkout")
    renamed = Target(path=ROLLOUT_PATH, kind="rollout", container="web")
    git(work, "commit", "-q", "--allow-empty", "-m", "nothing")
    (work / ROLLOUT_PATH).write_text(
        rollout_text("1.6.0").replace("- name: checkout", "- name: web")
    )
    git(work, "commit", "-qam", "rename the container")
    git(work, "push", "-q", "origin", "main")
    repo = open_repo(env_remote, tmp_path)
    assert [
        v.version for v in repo.versions_of(ROLLOUT_PATH, manifests.version_reader(renamed))
    ] == ["1.6.0"]
    with pytest.raises(
        BadInputError, match=r"^apps/checkout/rollout.yaml at commit [0-9a-f]{12}: "
    ):
        repo.versions_of(ROLLOUT_PATH, manifests.version_reader(target))


def test_propose_change_pushes_one_minimal_commit(env_remote: EnvRemote, tmp_path: Path) -> None:
    repo = open_repo(env_remote, tmp_path, identity=Identity("Ops Bot", "ops@example.com"))
    change = repo.propose_change(
        "safedeploy/rb-1", ROLLOUT_PATH, rollback_text(repo, "1.4.2"), "Roll back checkout"
    )
    assert change.created and change.branch == "safedeploy/rb-1"
    remote = env_remote.path
    assert git(remote, "rev-parse", "refs/heads/safedeploy/rb-1") == change.sha
    assert git(remote, "rev-parse", f"{change.sha}^") == env_remote.commits[-1].sha
    assert git(remote, "diff", "--name-only", f"{change.sha}^", change.sha) == ROLLOUT_PATH
    diff = git(remote, "diff", "--unified=0", f"{change.sha}^", change.sha).splitlines()
    assert [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-          image: registry.example.com/checkout:1.5.0",
        "+          image: registry.example.com/checkout:1.4.2",
    ]
    assert git(remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>", change.sha) == (
        "Ops Bot <ops@example.com>|Ops Bot <ops@example.com>"
    )
    message = git(remote, "log", "-1", "--format=%B", change.sha)
    assert message.startswith("Roll back checkout\n")
    assert message.endswith("Safedeploy-Proposal: rb-1")
    assert git(remote, "rev-parse", "refs/heads/main") == env_remote.commits[-1].sha


def test_default_identity(env_remote: EnvRemote, tmp_path: Path) -> None:
    repo = open_repo(env_remote, tmp_path)
    change = repo.propose_change("safedeploy/p", ROLLOUT_PATH, rollback_text(repo, "1.4.2"), "m")
    author = git(env_remote.path, "log", "-1", "--format=%an <%ae>", change.sha)
    assert author == "safedeploy <safedeploy@localhost>"


def test_second_call_returns_the_same_commit(env_remote: EnvRemote, tmp_path: Path) -> None:
    repo = open_repo(env_remote, tmp_path)
    text = rollback_text(repo, "1.4.2")
    first = repo.propose_change("safedeploy/rb-2", ROLLOUT_PATH, text, "Roll back")
    # A fresh cache, as a second run on another machine would have.
    again = EnvRepo(env_remote.url, tmp_path / "other-cache")
    second = again.propose_change("safedeploy/rb-2", ROLLOUT_PATH, text, "Roll back")
    assert second == (first.branch, first.sha, False)
    assert git(env_remote.path, "rev-parse", "refs/heads/safedeploy/rb-2") == first.sha


def test_branch_starts_from_the_up_to_date_default(env_remote: EnvRemote, tmp_path: Path) -> None:
    repo = open_repo(env_remote, tmp_path)
    repo.sync()
    moved = push_change(
        env_remote, tmp_path / "other", "main", HELM_PATH, "image:\n  tag: '9.9.9'\n"
    )
    text = rollback_text(repo, "1.4.2")
    change = repo.propose_change("safedeploy/rb-3", ROLLOUT_PATH, text, "Roll back")
    assert git(env_remote.path, "rev-parse", f"{change.sha}^") == moved


def test_push_rejected_non_fast_forward(env_remote: EnvRemote, tmp_path: Path) -> None:
    push_change(env_remote, tmp_path / "other", "safedeploy/rb-4", ROLLOUT_PATH, "x: 1\n")
    repo = open_repo(env_remote, tmp_path)
    with pytest.raises(GitError) as caught:
        repo.propose_change("safedeploy/rb-4", ROLLOUT_PATH, rollback_text(repo, "1.4.2"), "m")
    message = str(caught.value)
    assert "rejected" in message and str(env_remote.path) in message


def test_nothing_to_commit_is_bad_input(env_remote: EnvRemote, tmp_path: Path) -> None:
    repo = open_repo(env_remote, tmp_path)
    with pytest.raises(BadInputError, match="already has the proposed content"):
        repo.propose_change("safedeploy/n", ROLLOUT_PATH, rollout_text("1.5.0"), "m")


def test_branch_must_carry_the_prefix(env_remote: EnvRemote, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="safedeploy/<proposal-id>"):
        open_repo(env_remote, tmp_path).propose_change("main", ROLLOUT_PATH, "x", "m")


def test_missing_file_is_bad_input(env_remote: EnvRemote, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"apps/nope\.yaml: not found"):
        open_repo(env_remote, tmp_path).read_file("apps/nope.yaml")


def test_unreachable_remote_names_it_without_credentials(tmp_path: Path) -> None:
    remote = "http://deploy:s3cr3t-token@127.0.0.1:9/env.git"
    with pytest.raises(GitError) as caught:
        EnvRepo(remote, tmp_path / "cache", timeout_seconds=20).sync()
    message = str(caught.value)
    assert "http://127.0.0.1:9/env.git" in message
    assert "s3cr3t" not in message and "deploy:" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_missing_local_remote(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="cannot fetch environment repo"):
        EnvRepo(str(tmp_path / "absent.git"), tmp_path / "cache").sync()
