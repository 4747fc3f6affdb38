"""The environment repository: read a target's history, propose one change as a branch.

safedeploy never touches the cluster; it pushes a branch that ArgoCD applies once merged.
Commits are built with plumbing (a private index, commit-tree, push of a sha) so the
cached clone has no working tree that could drift, and nothing but the one file changes.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from safedeploy.adapters import faults, git_locks
from safedeploy.adapters.git_credentials import GITHUB_GIT_USER, HostToken, credential_env
from safedeploy.domain import trailers
from safedeploy.domain.urls import Credentials, host_of, redact, split_credentials
from safedeploy.errors import BadInputError, GitError

if TYPE_CHECKING:
    from git import Repo

_TIMEOUT_SECONDS = 120


class Identity(NamedTuple):
    name: str = "safedeploy"
    email: str = "safedeploy@localhost"


DEFAULT_IDENTITY = Identity()


class VersionAt(NamedTuple):
    """The version a file held from this commit on."""

    sha: str
    committed_at: datetime
    version: str


class CommitAt(NamedTuple):
    sha: str
    committed_at: datetime


class ProposedChange(NamedTuple):
    branch: str
    sha: str
    created: bool


def _git_failure(exc: Exception) -> str:
    """The last meaningful line git wrote, without credentials."""
    stderr = getattr(exc, "stderr", "") or ""
    lines = [ln.strip() for ln in str(stderr).splitlines() if ln.strip()]
    lines = [ln.removeprefix("stderr: ").strip("'").strip() for ln in lines]
    # git's first "fatal:"/"error:" line says what went wrong; the rest is advice.
    causes = [ln for ln in lines if ln.startswith(("fatal:", "error:", "! ["))]
    chosen = causes[0] if causes else (lines[-1] if lines else type(exc).__name__)
    return redact(chosen)


class EnvRepo:
    """A cached clone of one environment repository; the network is used on first need."""

    def __init__(
        self,
        remote: str,
        cache_dir: Path,
        *,
        identity: Identity = DEFAULT_IDENTITY,
        timeout_seconds: int = _TIMEOUT_SECONDS,
        host_token: HostToken | None = None,
    ) -> None:
        # A relative local path would otherwise resolve against the cache directory.
        remote = str(Path(remote).resolve()) if Path(remote).exists() else remote
        # The clone cache stores the remote without credentials; git gets them from
        # the environment (see credential_env).
        self.remote, credentials = split_credentials(remote)
        if credentials is None and host_token and host_of(self.remote) == host_token.host:
            credentials = Credentials(GITHUB_GIT_USER, host_token.token)
        self._credentials = credentials
        self.identity = identity
        self._timeout = timeout_seconds
        digest = hashlib.sha256(self.remote.encode()).hexdigest()[:16]
        self._dir = cache_dir / f"env-{digest}"
        self._repo: Repo | None = None
        self._default_branch: str | None = None

    @property
    def shown_remote(self) -> str:
        return redact(self.remote)

    # --- syncing ----------------------------------------------------------------------

    def sync(self) -> None:
        """Clone into the cache, or fetch if the clone is there, and find the default branch."""
        import filelock
        import git

        env = self._env()
        # Runs share the cache and read it before taking the state lock: without this lock
        # two of them initialise or fetch into the same clone at once and one fails.
        self._dir.parent.mkdir(parents=True, exist_ok=True)
        guard = filelock.FileLock(f"{self._dir}.lock", timeout=self._timeout)
        try:
            with guard:
                if (self._dir / "HEAD").exists():
                    repo = git.Repo(self._dir)
                else:
                    # A bare repository with a plain remote: refs land under origin/, and
                    # the fetch below is the one network step, under the timeout.
                    repo = git.Repo.init(self._dir, mkdir=True, bare=True)
                git_locks.recover(self._dir)
                if "origin" not in {r.name for r in repo.remotes}:  # also a clone cut short
                    repo.git.remote("add", "origin", self.remote, env=env)
                elif repo.remote("origin").url != self.remote:
                    # A cache written with a token in the URL: stored without it from now on.
                    repo.git.remote("set-url", "origin", self.remote, env=env)
                repo.git.fetch(
                    "--prune", "--quiet", "origin", env=env, kill_after_timeout=self._timeout
                )
        except git_locks.HeldLockError as exc:
            raise GitError(str(exc)) from None
        except filelock.Timeout:
            raise GitError(
                f"environment repo cache {self._dir} is busy: another run held it for "
                f"{self._timeout}s"
            ) from None
        except (git.GitCommandError, git.InvalidGitRepositoryError, OSError) as exc:
            raise GitError(
                f"cannot fetch environment repo {self.shown_remote}: {_git_failure(exc)}"
            ) from None  # git's own error repeats the URL, credentials included
        self._repo = repo
        self._default_branch = self._find_default_branch(repo)

    def _find_default_branch(self, repo: Repo) -> str:
        import git

        try:
            head = str(
                repo.git.ls_remote(
                    "--symref", "origin", "HEAD", env=self._env(), kill_after_timeout=self._timeout
                )
            )
        except git.GitCommandError:
            head = ""
        found = re.search(r"^ref: refs/heads/(\S+)\s+HEAD", head, re.MULTILINE)
        candidates = [found.group(1)] if found else []
        candidates += ["main", "master"]
        remote_branches = {ref.remote_head for ref in repo.remote("origin").refs}
        for branch in candidates:
            if branch in remote_branches:
                return branch
        raise GitError(f"{self.shown_remote}: no default branch (origin/HEAD, main or master)")

    def _ready(self) -> Repo:
        if self._repo is None:
            self.sync()
        assert self._repo is not None
        return self._repo

    @property
    def default_branch(self) -> str:
        self._ready()
        assert self._default_branch is not None
        return self._default_branch

    def _env(self) -> Mapping[str, str]:
        # Never wait on a credential prompt: cron has no terminal.
        return {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "true",
            **credential_env(self._credentials),
        }

    # --- reading ----------------------------------------------------------------------

    def read_file(self, path: str, ref: str | None = None) -> str:
        """The file as the default branch (or `ref`) holds it on the remote."""
        import git

        repo = self._ready()
        rev = ref or f"origin/{self.default_branch}"
        try:
            text: str = repo.git.show(f"{rev}:{path}", strip_newline_in_stdout=False)
        except git.GitCommandError as exc:
            raise BadInputError(f"{self.shown_remote}: {path}: not found on {rev}") from exc
        return text

    def versions_of(self, path: str, reader: Callable[[str], str]) -> list[VersionAt]:
        """Versions of a target file, oldest first, one entry per change of version.

        The last entry is what runs now. The history is read back from the newest commit
        and ends at the first older one whose file the reader cannot read (written another
        way, before the service pointed at it): only what runs now must be readable.
        """
        import git

        repo = self._ready()
        rev = f"origin/{self.default_branch}"
        log = repo.git.log(rev, "--format=%H %ct", "--", path)
        newest_first: list[VersionAt] = []
        for line in log.splitlines():
            sha, stamp = line.split()
            try:
                text = repo.git.show(f"{sha}:{path}", strip_newline_in_stdout=False)
            except git.GitCommandError:
                continue  # the commit deleted the file
            try:
                version = reader(text)
            except BadInputError as exc:
                if newest_first:
                    break
                raise BadInputError(f"{path} at commit {sha[:12]}: {exc}") from exc
            newest_first.append(VersionAt(sha, datetime.fromtimestamp(int(stamp), tz=UTC), version))
        history: list[VersionAt] = []
        for entry in reversed(newest_first):
            if not history or history[-1].version != entry.version:
                history.append(entry)
        return history

    def landing_of(self, path: str, holds: Callable[[str], bool]) -> CommitAt | None:
        """The commit of the default branch that made `path` what it is now, when what it is
        now `holds`: the merge of a pull request, a squash, or a direct commit. Followed
        along first parents, so a merge is named, not the branch commit it brought in."""
        import git

        repo = self._ready()
        rev = f"origin/{self.default_branch}"
        log = repo.git.log("--first-parent", rev, "--format=%H %ct", "--", path)
        found: CommitAt | None = None
        for line in log.splitlines():
            sha, stamp = line.split()
            try:
                text = repo.git.show(f"{sha}:{path}", strip_newline_in_stdout=False)
            except git.GitCommandError:
                break  # the commit deleted the file
            if not holds(text):
                break
            found = CommitAt(sha, datetime.fromtimestamp(int(stamp), tz=UTC))
        return found

    def has_branch(self, branch: str) -> bool:
        """Whether the remote still has `branch` (as of the last sync)."""
        repo = self._ready()
        return branch in {ref.remote_head for ref in repo.remote("origin").refs}

    def show_commit(self, sha: str) -> str:
        """The patch of one commit, for people to read what a proposal changes."""
        import git

        repo = self._ready()
        try:
            text: str = repo.git.show("--format=%H%n%an%n%n%B", "--stat", "--patch", sha)
        except git.GitCommandError as exc:
            raise GitError(
                f"{self.shown_remote}: cannot show {sha[:12]}: {_git_failure(exc)}"
            ) from None
        return text

    # --- proposing --------------------------------------------------------------------

    def propose_change(self, branch: str, path: str, new_text: str, message: str) -> ProposedChange:
        """Push `branch` with one commit setting `path` to `new_text`, once per proposal."""
        proposal_id = trailers.proposal_of_branch(branch)
        if proposal_id is None:
            raise BadInputError(
                f"branch {branch!r}: must be {trailers.branch_for('<proposal-id>')}"
            )
        self.sync()  # always from the up-to-date default branch
        existing = self._commit_for(branch, proposal_id)
        if existing is not None:
            return ProposedChange(branch, existing, created=False)
        base = f"origin/{self.default_branch}"
        if self.read_file(path) == new_text:
            raise BadInputError(
                f"{self.shown_remote}: {path} on {self.default_branch} already has the "
                "proposed content; nothing to commit"
            )
        sha = self._commit(base, path, new_text, _with_trailer(message, proposal_id))
        self._push(sha, branch)
        return ProposedChange(branch, sha, created=True)

    def _commit_for(self, branch: str, proposal_id: str) -> str | None:
        """The commit of this proposal already on the remote branch, if any."""
        repo = self._ready()
        refs = {ref.remote_head: ref for ref in repo.remote("origin").refs}
        if branch not in refs:
            return None
        # A record separator that cannot occur in a commit message.
        log = repo.git.log(f"origin/{branch}", "-n", "50", "--format=%H%n%B%x1e")
        for record in log.split("\x1e"):
            sha, _, body = record.strip().partition("\n")
            if proposal_id in trailers.values(body, trailers.PROPOSAL):
                return str(sha)
        return None

    def _commit(self, base: str, path: str, new_text: str, message: str) -> str:
        repo = self._ready()
        mode = repo.git.ls_tree(base, "--", path).split(" ", 1)[0] or "100644"
        env = {
            **self._env(),
            "GIT_AUTHOR_NAME": self.identity.name,
            "GIT_AUTHOR_EMAIL": self.identity.email,
            "GIT_COMMITTER_NAME": self.identity.name,
            "GIT_COMMITTER_EMAIL": self.identity.email,
        }
        with tempfile.TemporaryDirectory() as scratch:
            source = Path(scratch) / "new"
            source.write_bytes(new_text.encode())
            env["GIT_INDEX_FILE"] = str(Path(scratch) / "index")
            blob = repo.git.hash_object("-w", str(source), env=env)
            repo.git.read_tree(base, env=env)
            repo.git.update_index("--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
            tree = repo.git.write_tree(env=env)
        sha: str = repo.git.commit_tree(tree, "-p", base, "-m", message, env=env)
        return sha

    def _push(self, sha: str, branch: str) -> None:
        import git

        repo = self._ready()
        faults.step(f"push {branch}")
        try:
            repo.git.push(
                "origin",
                f"{sha}:refs/heads/{branch}",
                env=self._env(),
                kill_after_timeout=self._timeout,
            )
        except git.GitCommandError as exc:
            detail = _git_failure(exc)
            stderr = str(getattr(exc, "stderr", ""))
            if "non-fast-forward" in stderr or "fetch first" in stderr or "rejected" in stderr:
                raise GitError(
                    f"push of {branch} to {self.shown_remote} rejected (non-fast-forward): the "
                    f"remote branch holds commits this proposal did not make ({detail})"
                ) from None
            raise GitError(f"push of {branch} to {self.shown_remote} failed: {detail}") from None


def _with_trailer(message: str, proposal_id: str) -> str:
    if proposal_id in trailers.values(message, trailers.PROPOSAL):
        return message
    return f"{message.rstrip()}\n\n{trailers.trailer(trailers.PROPOSAL, proposal_id)}\n"


def create_repository(
    bare: Path,
    commits: list[tuple[str, dict[str, str], datetime]],
    *,
    branch: str = "main",
    identity: Identity = DEFAULT_IDENTITY,
) -> None:
    """A new bare repository holding `commits` (message, files, time) on `branch`.

    For the demo and for teams trying safedeploy on a local copy of their manifests.
    """
    import git

    if bare.exists() and any(bare.iterdir()):
        raise BadInputError(f"{bare}: already exists and is not empty")
    env = {
        "GIT_AUTHOR_NAME": identity.name,
        "GIT_AUTHOR_EMAIL": identity.email,
        "GIT_COMMITTER_NAME": identity.name,
        "GIT_COMMITTER_EMAIL": identity.email,
    }
    with tempfile.TemporaryDirectory(prefix="safedeploy-seed-") as work:
        repo = git.Repo.init(work, initial_branch=branch)
        for message, files, when in commits:
            for relative, text in files.items():
                path = Path(work) / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                repo.git.add(relative)
            stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
            repo.git.commit(
                "--quiet",
                "-m",
                message,
                env={**env, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp},
            )
        git.Repo.init(bare, bare=True, mkdir=True, initial_branch=branch)
        repo.git.push("--quiet", str(bare), f"HEAD:refs/heads/{branch}")
