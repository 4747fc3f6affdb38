"""Real Git repositories on disk: a bare environment remote with a few commits of history.

The remote is built once per session and copied for each test, so a test may push to it
freely. Commit dates are fixed so history assertions are exact.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROLLOUT_PATH = "apps/checkout/rollout.yaml"
HELM_PATH = "apps/payments/values.yaml"
KUSTOMIZE_PATH = "apps/search/kustomization.yaml"

ROLLOUT_TEMPLATE = """\
# checkout: canary with manual gates between steps.
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: checkout
  namespace: payments
  labels:
    app.kubernetes.io/name: checkout
    app.kubernetes.io/part-of: shop
spec:
  replicas: 6
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: checkout
  strategy:
    canary:
      canaryService: checkout-canary
      stableService: checkout-stable
      steps:
        - setWeight: 20
        - pause: {}            # a human looks at the dashboards first
        - setWeight: 50
        - pause: {duration: 10m}
        - setWeight: 100
  template:
    metadata:
      labels:
        app.kubernetes.io/name: checkout
    spec:
      containers:
        - name: checkout
          # Bumped by the release pipeline; rolled back by safedeploy.
          image: registry.example.com/checkout:{version}
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          resources:
            requests: {cpu: 250m, memory: 256Mi}
            limits:
              memory: 512Mi
        - name: envoy
          image: "docker.io/envoyproxy/envoy:v1.29.1"  # sidecar, pinned on purpose
"""

HELM_TEMPLATE = """\
# Values for the payments chart.
replicaCount: 3

image:
    repository: registry.example.com/payments
    tag: "{version}"    # the release pipeline writes this
    pullPolicy: IfNotPresent

service:
    type: ClusterIP
    port: 80
"""

KUSTOMIZE_TEMPLATE = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: search
resources:
- deployment.yaml
- service.yaml
images:
- name: search
  newName: registry.example.com/search
  newTag: {version}
- name: redis  # cache
  newTag: 7.2.4
"""

ROLLOUT_VERSIONS = ("1.3.0", "1.4.2", "1.5.0")
HELM_VERSIONS = ("2.0.0", "2.1.0", "2.1.1")
KUSTOMIZE_VERSIONS = ("0.9.0", "1.0.0", "1.0.1")

_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Release Bot",
    "GIT_AUTHOR_EMAIL": "release@example.com",
    "GIT_COMMITTER_NAME": "Release Bot",
    "GIT_COMMITTER_EMAIL": "release@example.com",
}


def rollout_text(version: str) -> str:
    return ROLLOUT_TEMPLATE.replace("{version}", version)


def helm_text(version: str) -> str:
    return HELM_TEMPLATE.replace("{version}", version)


def kustomize_text(version: str) -> str:
    return KUSTOMIZE_TEMPLATE.replace("{version}", version)


@dataclass(frozen=True)
class Commit:
    sha: str
    committed_at: datetime
    message: str


@dataclass(frozen=True)
class EnvRemote:
    """A bare remote and what its history holds."""

    path: Path
    default_branch: str
    rollout_versions: tuple[str, ...] = ROLLOUT_VERSIONS
    helm_versions: tuple[str, ...] = HELM_VERSIONS
    kustomize_versions: tuple[str, ...] = KUSTOMIZE_VERSIONS
    commits: tuple[Commit, ...] = field(default=())

    @property
    def url(self) -> str:
        return str(self.path)


def git(cwd: Path, *args: str, when: int | None = None) -> str:
    env = {**os.environ, **_IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{when} +0000"
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def branch_file(repo: Path, branch: str, path: str) -> bytes:
    """A file's bytes on a branch, exactly as committed (no decoding, no stripping)."""
    shown = subprocess.run(
        ["git", "show", f"{branch}:{path}"], cwd=repo, check=True, capture_output=True
    )
    return shown.stdout


def _history() -> list[tuple[str, dict[str, str]]]:
    """(message, {path: text}) in commit order; one commit changes only comments."""
    return [
        (
            "Initial environment",
            {
                ROLLOUT_PATH: rollout_text("1.3.0"),
                HELM_PATH: helm_text("2.0.0"),
                KUSTOMIZE_PATH: kustomize_text("0.9.0"),
            },
        ),
        ("checkout 1.4.2", {ROLLOUT_PATH: rollout_text("1.4.2")}),
        ("payments 2.1.0", {HELM_PATH: helm_text("2.1.0")}),
        (
            "checkout: document the canary",
            {ROLLOUT_PATH: rollout_text("1.4.2").replace("canary with", "a canary with")},
        ),
        ("search 1.0.0", {KUSTOMIZE_PATH: kustomize_text("1.0.0")}),
        ("payments 2.1.1", {HELM_PATH: helm_text("2.1.1")}),
        ("search 1.0.1", {KUSTOMIZE_PATH: kustomize_text("1.0.1")}),
        ("checkout 1.5.0", {ROLLOUT_PATH: rollout_text("1.5.0")}),
    ]


def build_env_remote(root: Path, default_branch: str = "main") -> EnvRemote:
    bare = root / "env.git"
    work = root / "env-work"
    git(root, "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(bare))
    git(root, "clone", "--quiet", str(bare), str(work))
    git(work, "checkout", "--quiet", "-b", default_branch)
    commits = []
    for number, (message, files) in enumerate(_history()):
        for rel, text in files.items():
            target = work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            git(work, "add", rel)
        when = _EPOCH + number * 3600
        git(work, "commit", "--quiet", "-m", message, when=when)
        sha = git(work, "rev-parse", "HEAD")
        commits.append(Commit(sha, datetime.fromtimestamp(when, tz=UTC), message))
    git(work, "push", "--quiet", "origin", default_branch)
    shutil.rmtree(work)
    return EnvRemote(path=bare, default_branch=default_branch, commits=tuple(commits))


def push_change(remote: EnvRemote, workdir: Path, branch: str, rel: str, text: str) -> str:
    """Push one commit changing `rel` to `branch` of the remote, as another user would."""
    git(workdir.parent, "clone", "--quiet", str(remote.path), str(workdir))
    base = f"origin/{branch}"
    if not git(workdir, "branch", "-r", "--list", base):
        base = f"origin/{remote.default_branch}"
    git(workdir, "checkout", "--quiet", "-B", branch, base)
    (workdir / rel).write_text(text)
    git(workdir, "commit", "--quiet", "-am", f"manual change on {branch}")
    git(workdir, "push", "--quiet", "origin", f"{branch}:{branch}")
    return git(workdir, "rev-parse", "HEAD")


@pytest.fixture(scope="session")
def _env_remote_template(tmp_path_factory: pytest.TempPathFactory) -> EnvRemote:
    return build_env_remote(tmp_path_factory.mktemp("env-remote-template"))


@pytest.fixture
def env_remote(_env_remote_template: EnvRemote, tmp_path: Path) -> Iterator[EnvRemote]:
    """A private copy of the bare environment remote (apps/checkout/rollout.yaml et al.)."""
    copy = tmp_path / "remote" / "env.git"
    shutil.copytree(_env_remote_template.path, copy)
    yield EnvRemote(
        path=copy,
        default_branch=_env_remote_template.default_branch,
        commits=_env_remote_template.commits,
    )


def env_with_two_releases(root: Path, names: list[str]) -> Path:
    """A bare environment repo where every service's rollout went 1.0.0 -> 1.1.0."""
    bare, work = root / "env.git", root / "env-work"
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(root, "clone", "--quiet", str(bare), str(work))
    git(work, "checkout", "--quiet", "-b", "main")
    for number, version in enumerate(("1.0.0", "1.1.0")):
        for name in names:
            target = work / "apps" / name / "rollout.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rollout_text(version).replace("checkout", name))
        git(work, "add", "apps")
        git(work, "commit", "--quiet", "-m", f"release {version}", when=1_767_225_600 + number)
    git(work, "push", "--quiet", "origin", "main")
    return bare
