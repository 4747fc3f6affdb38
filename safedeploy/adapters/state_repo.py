"""The state directory as a Git work tree: every decision a commit, pushed if asked.

Only the files safedeploy manages are ever staged; a human's unrelated edits in the same
work tree are left alone. A run killed between writing and committing leaves dirty managed
files behind, and the next run's commit picks them up, so nothing is lost or duplicated.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from safedeploy.adapters import git_locks
from safedeploy.adapters.git_credentials import credential_env
from safedeploy.domain import layout, trailers
from safedeploy.domain.audit_anchors import Anchor, AuditHead
from safedeploy.domain.state_commits import DecisionCommit
from safedeploy.domain.urls import redact, split_credentials
from safedeploy.errors import BadInputError, GitError

if TYPE_CHECKING:
    from git import Repo

AUTHOR = ("safedeploy", "safedeploy@localhost")
# How many times a push may find that another run pushed first (see StateRepo.push).
PUSH_ROUNDS = 32


class CommitSignature(NamedTuple):
    """git's `%G?` (G good, U good but of unknown validity, N none, B bad, ...), the signer
    it names (an SSH principal from the allowed signers, a GPG user id), the signing key's
    fingerprint and, for GPG, the primary key's."""

    status: str
    signer: str
    key: str
    primary_key: str


class StateRepo:
    def __init__(
        self, root: Path, audit_key: bytes | None = None, *, lock_wait: float = 10.0
    ) -> None:
        self.root = root.resolve()
        self.audit_key = audit_key  # audit lines replayed onto a concurrent push are sealed anew
        self.lock_wait = lock_wait
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
        out = self.repo.git.status(
            "--porcelain=v1", "-z", "--untracked-files=all", "--", *layout.MANAGED
        )
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
            if path not in layout.NEVER and not path.endswith(".tmp"):
                paths.append(path)
        return sorted(set(paths))

    def commit(self, message: str, *, force: bool = False, sign: bool = False) -> str | None:
        """Commit the dirty managed files, if any of them is a decision (or `force`).

        `sign`: with the signing key of the person running the command (git's own
        `user.signingKey` and `gpg.format`), which is what proves who decided. The message
        gets the head of every audit stream as trailers: the record `audit verify` holds
        the log to.
        """
        dirty = self.dirty_managed()
        if not dirty or (not force and all(layout.is_telemetry(p) for p in dirty)):
            return None
        import git

        repo = self.repo
        self._recover_locks()
        env = _identity()
        signing = ("-S",) if sign else ()
        message = trailers.with_audit_heads(message, self.audit_heads())
        try:
            repo.git.add("--all", "--", *dirty)
            # Only these paths: anything a human staged stays staged, not committed.
            repo.git.commit(
                "--quiet", "--no-verify", *signing, "-m", message, "--", *dirty, env=env
            )
        except git.GitCommandError as exc:
            raise GitError(f"cannot commit the state in {self.root}: {_stderr(exc)}") from None
        return str(repo.head.commit.hexsha)

    # --- the record: what HEAD holds, and who signed what -----------------------------

    def head(self) -> str | None:
        """The commit HEAD names; None in a repository without commits."""
        import git

        try:
            return str(self.repo.git.rev_parse("--verify", "--quiet", "HEAD^{commit}"))
        except git.GitCommandError:
            return None

    def committed_text(self, relative: str) -> str | None:
        """`relative` as HEAD holds it; None when HEAD has no such file (or no HEAD)."""
        import git

        if self.head() is None:
            return None
        try:
            text: str = self.repo.git.show(f"HEAD:{relative}", strip_newline_in_stdout=False)
        except git.GitCommandError:
            return None
        return text

    def differs_from_head(self, relative: str) -> bool:
        """Whether the work tree's `relative` has changes HEAD does not hold."""
        out = self.repo.git.status("--porcelain=v1", "--untracked-files=all", "--", relative)
        return bool(out.strip())

    def sign_probe(self, message: str) -> str:
        """A signed commit object on HEAD's tree, on no branch: proof, before anything is
        pushed, that whoever runs this holds a signing key. Nothing else changes."""
        import git

        try:
            sha: str = self.repo.git.commit_tree(
                "-S", "-p", "HEAD", "-m", message, "HEAD^{tree}", env=_identity()
            )
        except git.GitCommandError as exc:
            raise BadInputError(
                f"cannot sign with your git signing key in {self.root}: {_stderr(exc)} "
                "(set user.signingKey, and gpg.format = ssh for an SSH key)"
            ) from None
        return sha.strip()

    def signature(self, sha: str, allowed_signers: Path) -> CommitSignature:
        """What git says of the signature on `sha`, SSH keys checked against
        `allowed_signers` as `gpg.ssh.allowedSignersFile` (git runs `ssh-keygen -Y verify`),
        GPG keys against the keyring of the one running the command."""
        import git

        fields = "%G?%x1f%GS%x1f%GF%x1f%GP"
        try:
            out = self.repo.git.log("-1", f"--format={fields}", sha, env=_allowed(allowed_signers))
        except git.GitCommandError as exc:
            raise GitError(f"cannot read the signature of {sha[:12]}: {_stderr(exc)}") from None
        status, signer, key, primary = ([*out.strip().split("\x1f"), "", "", "", ""])[:4]
        return CommitSignature(status or "N", signer, key, primary)

    def push(self, remote: str, verify: Callable[[], list[str]]) -> str:
        """Push HEAD; after a concurrent push, replay our commits on top of it and retry.

        Audit logs that both sides appended to are re-chained (theirs, then ours, sealed
        anew); any other file both sides changed differently refuses the push. `verify`
        checks the combined state (audit chains, one active incident per service); a
        problem restores the local commits and refuses. Each round lets at least one of
        the runs racing to push through, so N shards pushing at once all land within N
        rounds; PUSH_ROUNDS bounds them.
        """
        import git

        repo = self.repo
        self._recover_locks()
        branch = repo.active_branch.name
        shown = redact(remote)
        # state.remote may be a URL with credentials: git gets them through the environment.
        remote, credentials = split_credentials(remote)
        env = {**os.environ, **credential_env(credentials, only=False)} if credentials else None
        before = repo.head.commit.hexsha
        for _ in range(PUSH_ROUNDS):
            try:
                repo.git.push("--quiet", remote, f"HEAD:refs/heads/{branch}", env=env)
            except git.GitCommandError as exc:
                text = _stderr(exc)
                if "rejected" not in text and "fetch first" not in text:
                    if repo.head.commit.hexsha != before:
                        repo.git.reset("--keep", "--quiet", before)
                    raise GitError(f"cannot push the state to {shown}: {text}") from None
            else:
                if repo.head.commit.hexsha == before:
                    return "pushed"
                return "combined with a concurrent push and pushed"
            if not self._combine(remote, branch, before, verify, shown=shown, env=env):
                return "nothing to push: the remote holds everything this run committed"
        repo.git.reset("--keep", "--quiet", before)
        raise GitError(
            f"cannot push the state to {shown}: other runs pushed first {PUSH_ROUNDS} times; "
            "the local commit is kept"
        )

    def _combine(
        self,
        remote: str,
        branch: str,
        before: str,
        verify: Callable[[], list[str]],
        *,
        shown: str,
        env: Mapping[str, str] | None,
    ) -> bool:
        """Our commits replayed on what the remote holds now, or refused as they were;
        False when we have none it lacks (a run that committed nothing)."""
        import git

        repo = self.repo
        try:
            repo.git.fetch("--quiet", remote, branch, env=env)
            theirs = repo.git.rev_parse("FETCH_HEAD")
            ours = repo.head.commit.hexsha
            if repo.git.merge_base(ours, theirs) == ours:
                repo.git.reset("--keep", "--quiet", theirs)
                return False
            self._replay_onto(theirs, ours)
        except GitError:
            # A clash found in a later round: the local commits go back as they were made.
            repo.git.reset("--keep", "--quiet", before)
            raise
        except git.GitCommandError as exc:
            repo.git.reset("--keep", "--quiet", before)
            raise GitError(
                f"push to {shown} refused: cannot combine with the concurrent push "
                f"({_stderr(exc)}); the local commit is kept"
            ) from None
        problems = verify()
        if problems:
            repo.git.reset("--keep", "--quiet", before)
            raise GitError(
                f"push to {shown} refused: combined with the concurrent push, the state "
                f"would be inconsistent ({problems[0]}); the local commit is kept, "
                "resolve by hand"
            )
        return True

    def _recover_locks(self) -> None:
        try:
            git_locks.recover(self.root, Path(self.repo.git_dir), wait=self.lock_wait)
        except git_locks.HeldLockError as exc:
            raise GitError(f"cannot commit the state in {self.root}: {exc}") from None

    def _replay_onto(self, theirs: str, ours: str) -> None:
        from safedeploy.adapters.audit import rechain

        repo = self.repo
        base = repo.git.merge_base(ours, theirs)
        mine = self._changed(base, ours)
        other = set(self._changed(base, theirs))
        contents: dict[str, bytes | None] = {}
        clashes = []
        for path in mine:
            ours_bytes, theirs_bytes = self._blob(ours, path), self._blob(theirs, path)
            if path not in other or ours_bytes == theirs_bytes:
                contents[path] = ours_bytes
            elif path.startswith(f"{layout.AUDIT}/") and path.endswith(".log"):
                contents[path] = rechain(
                    self._blob(base, path) or b"",
                    theirs_bytes or b"",
                    ours_bytes or b"",
                    self.audit_key,
                )
            elif layout.is_telemetry(path):
                # A snapshot of the latest evaluation: the next run rewrites it anyway.
                contents[path] = ours_bytes
            else:
                clashes.append(path)
        if clashes:
            raise GitError(
                f"the concurrent push changed the same state differently: {', '.join(clashes)}; "
                "the local commit is kept, resolve by hand"
            )
        message = repo.git.log("--format=%B", f"{base}..{ours}")
        repo.git.reset("--keep", "--quiet", theirs)
        for path, data in contents.items():
            target = self.root / path
            if data is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        env = _identity()
        paths = sorted(contents)
        # The commits replayed recorded heads of logs that were just sealed anew.
        message = trailers.with_audit_heads(message.strip(), self.audit_heads())
        repo.git.add("--all", "--", *paths)
        repo.git.commit("--quiet", "--no-verify", "-m", message, "--", *paths, env=env)

    def _changed(self, base: str, tip: str) -> list[str]:
        out = self.repo.git.diff("--name-only", f"{base}..{tip}", "--", *layout.MANAGED)
        return [p for p in out.splitlines() if p]

    def _blob(self, commit: str, path: str) -> bytes | None:
        try:
            blob = self.repo.commit(commit).tree / path
        except KeyError:
            return None
        data: bytes = blob.data_stream.read()
        return data

    def head_of(self, relative: str) -> str | None:
        """The last commit that touched `relative`, for permalinks."""
        import git

        try:
            sha = self.repo.git.log("-1", "--format=%H", "--", relative)
        except git.GitCommandError:
            return None
        return sha or None

    def audit_heads(self) -> list[AuditHead]:
        """The head of every audit stream in the work tree, as a commit records them."""
        from safedeploy.adapters.audit import STREAMS, AuditLog

        log = AuditLog(self.root / layout.AUDIT)
        return [head for stream in STREAMS if (head := log.head(stream)) is not None]

    def anchors(self, limit: int | None = None) -> list[Anchor]:
        """The state commits before HEAD (HEAD included) that recorded audit heads, oldest
        first; with `limit`, only the newest `limit` of them."""
        import git

        if self.head() is None:
            return []
        args = ["--format=%H%x1f%B%x1e", f"--grep={trailers.grep_pattern(trailers.AUDIT)}"]
        if limit is not None:
            args.append(f"--max-count={limit}")
        try:
            out = self.repo.git.log(*args, "HEAD")
        except git.GitCommandError as exc:
            raise GitError(f"cannot read the history of {self.root}: {_stderr(exc)}") from None
        found = []
        for record in out.split("\x1e"):
            sha, _, message = record.strip("\n").partition("\x1f")
            heads = trailers.audit_heads(message)
            if sha and heads:
                found.append(Anchor(sha, heads))
        return found[::-1]

    def decisions(self, service: str | None = None, limit: int = 200) -> list[DecisionCommit]:
        import git

        args = ["--format=%H%x1f%cI%x1f%s%x1f%b%x1e", f"--max-count={limit}"]
        args.append(f"--grep={trailers.grep_pattern(trailers.RUN)}")
        if service:
            args.append(f"--grep={trailers.grep_pattern(trailers.SERVICE, service)}")
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


def _identity() -> dict[str, str]:
    name, email = AUTHOR
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def _allowed(allowed_signers: Path) -> dict[str, str]:
    """git's configuration through the environment, for this one command."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "gpg.ssh.allowedSignersFile",
        "GIT_CONFIG_VALUE_0": str(allowed_signers),
    }


def _stderr(exc: Exception) -> str:
    text = getattr(exc, "stderr", "") or str(exc)
    return redact(" ".join(str(text).split()).removeprefix("stderr: ").strip("' ")[:300])
