"""The state directory as a Git work tree: every decision a commit, pushed if asked.

Only the files safedeploy manages are ever staged; a human's unrelated edits in the same
work tree are left alone. A run killed between writing and committing leaves dirty managed
files behind, and the next run's commit picks them up, so nothing is lost or duplicated.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from safedeploy.errors import GitError

if TYPE_CHECKING:
    from git import Repo

MANAGED = ("incidents", "action-proposals", "evidence", "audit", "control-plane/state")
# Written on every evaluation: they ride along with a decision commit but never make one.
TELEMETRY = frozenset(
    {
        "audit/metrics.log",
        "audit/budget.log",
        "control-plane/state/summary.json",
        "control-plane/state/last-reconcile.json",
    }
)
NEVER = ("control-plane/state/.lock",)
RUN_TRAILER = "Safedeploy-Run"
AUTHOR = ("safedeploy", "safedeploy@localhost")


@dataclass(frozen=True)
class DecisionCommit:
    sha: str
    at: str
    subject: str
    body: str


class StateRepo:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._repo: Repo | None = None

    def is_work_tree(self) -> bool:
        import git

        try:
            repo = git.Repo(self.root, search_parent_directories=False)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return False
        if repo.bare:
            return False
        self._repo = repo
        return True

    @property
    def repo(self) -> Repo:
        if self._repo is None and not self.is_work_tree():
            raise GitError(f"{self.root} is not a Git work tree")
        assert self._repo is not None
        return self._repo

    def dirty_managed(self) -> list[str]:
        """Managed paths that differ from HEAD or are untracked, in a stable order."""
        out = self.repo.git.status("--porcelain=v1", "-z", "--untracked-files=all", "--", *MANAGED)
        paths: list[str] = []
        entries = out.split("\0")
        skip = False
        for entry in entries:
            if skip:
                skip = False
                continue
            if len(entry) < 4:
                continue
            status, path = entry[:2], entry[3:]
            if status.startswith("R"):
                skip = True  # the rename's source follows
            if path not in NEVER and not path.endswith(".tmp"):
                paths.append(path)
        return sorted(set(paths))

    def commit(self, message: str, *, force: bool = False) -> str | None:
        """Commit the dirty managed files, if any of them is a decision (or `force`)."""
        dirty = self.dirty_managed()
        if not dirty or (not force and all(p in TELEMETRY for p in dirty)):
            return None
        import git

        repo = self.repo
        name, email = AUTHOR
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        try:
            repo.git.add("--all", "--", *dirty)
            # Only these paths: anything a human staged stays staged, not committed.
            repo.git.commit("--quiet", "--no-verify", "-m", message, "--", *dirty, env=env)
        except git.GitCommandError as exc:
            raise GitError(f"cannot commit the state in {self.root}: {_stderr(exc)}") from None
        return str(repo.head.commit.hexsha)

    def push(self, remote: str, verify: Callable[[], list[str]]) -> str:
        """Push HEAD; on a concurrent push rebase onto it, verify, and push again once.

        `verify` re-checks the audit chain after a rebase and returns its problems; any
        problem (or a conflict) restores the local commits and refuses the push.
        """
        import git

        repo = self.repo
        branch = repo.active_branch.name
        try:
            repo.git.push("--quiet", remote, f"HEAD:refs/heads/{branch}")
            return "pushed"
        except git.GitCommandError as exc:
            if "rejected" not in _stderr(exc) and "fetch first" not in _stderr(exc):
                raise GitError(f"cannot push the state to {remote}: {_stderr(exc)}") from None
        before = repo.head.commit.hexsha
        try:
            repo.git.pull("--rebase", "--autostash", "--quiet", remote, branch)
        except git.GitCommandError as exc:
            _abort_rebase(repo, before)
            raise GitError(
                f"push to {remote} refused: another run pushed conflicting state "
                f"({_stderr(exc)}); the local commit is kept, resolve by hand"
            ) from None
        problems = verify()
        if problems:
            repo.git.reset("--keep", "--quiet", before)
            raise GitError(
                f"push to {remote} refused: after rebasing, the audit chain breaks "
                f"({problems[0]}); the local commit is kept"
            )
        try:
            repo.git.push("--quiet", remote, f"HEAD:refs/heads/{branch}")
        except git.GitCommandError as exc:
            raise GitError(f"cannot push the state to {remote}: {_stderr(exc)}") from None
        return "rebased and pushed"

    def head_of(self, relative: str) -> str | None:
        """The last commit that touched `relative`, for permalinks."""
        import git

        try:
            sha = self.repo.git.log("-1", "--format=%H", "--", relative)
        except git.GitCommandError:
            return None
        return sha or None

    def decisions(self, service: str | None = None, limit: int = 200) -> list[DecisionCommit]:
        import git

        args = ["--format=%H%x1f%cI%x1f%s%x1f%b%x1e", f"--max-count={limit}"]
        args.append(f"--grep=^{RUN_TRAILER}:")
        if service:
            args.append(f"--grep=^Safedeploy-Service: {service}$")
            args.append("--all-match")
        try:
            out = self.repo.git.log(*args)
        except git.GitCommandError as exc:
            raise GitError(f"cannot read the history of {self.root}: {_stderr(exc)}") from None
        commits = []
        for record in out.split("\x1e"):
            parts = record.strip("\n").split("\x1f")
            if len(parts) == 4:
                commits.append(DecisionCommit(*parts))
        return commits


def _abort_rebase(repo: Repo, before: str) -> None:
    import git

    with contextlib.suppress(git.GitCommandError):
        repo.git.rebase("--abort")
    # --keep, never --hard: a human's uncommitted edits in the work tree survive.
    repo.git.reset("--keep", "--quiet", before)


def _stderr(exc: Exception) -> str:
    text = getattr(exc, "stderr", "") or str(exc)
    return " ".join(str(text).split()).removeprefix("stderr: ").strip("' ")[:300]
