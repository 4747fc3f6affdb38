"""The versions of each service's target file, read from the environment repo's history.

The history of the file that holds the version, one release per change of version: the
last one is what runs now, and domain/stable_versions.py chooses a rollback's target from
all of them. Nothing is ever assumed: a repo that cannot be read gives a reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from safedeploy.adapters.envrepo import EnvRepo
from safedeploy.adapters.git_credentials import HostToken
from safedeploy.adapters.manifests import version_reader, version_target
from safedeploy.adapters.settings import Settings
from safedeploy.adapters.target_edits import edit_for
from safedeploy.domain.catalog import Service
from safedeploy.domain.decisions import Refusal
from safedeploy.domain.layout import CONFIG, SERVICES
from safedeploy.domain.proposals import Proposal
from safedeploy.domain.urls import remote_refusal
from safedeploy.domain.versions import Release, Versions, VersionsFound, VersionsUnavailable
from safedeploy.errors import BadInputError, SafedeployError


def resolve_remote(remote: str, state: Path) -> str:
    """A relative local path is relative to the state directory, not to the cwd."""
    if "://" in remote or remote.startswith("git@") or Path(remote).is_absolute():
        return remote
    return str((state / remote).resolve())


class EnvRepos:
    """The environment repositories of a run: one clone each, synced once, shared by all."""

    def __init__(self, settings: Settings, state: Path, *, github_token: str | None = None) -> None:
        self._settings = settings
        self._state = state
        # The token goes to git only for remotes on the configured GitHub host.
        self._host_token = (
            HostToken(settings.github.git_host, github_token) if github_token else None
        )
        self._repos: dict[str, EnvRepo] = {}
        self._synced: dict[str, SafedeployError | None] = {}

    def check_hosts(self, services: Iterable[Service]) -> None:
        """BadInputError naming the first file and field whose repo is on a host that is
        not allowed, or plain http:// off this machine; before anything is fetched."""
        allowed = self._settings.allowed_hosts
        named = [(f"{self._state / CONFIG}: environment.repo", self._settings.environment.repo)]
        named += [
            (f"{SERVICES}/{service.name}.yaml: spec.target.repo", service.spec.target.repo)
            for service in services
        ]
        for where, remote in named:
            problem = remote_refusal(remote, allowed) if remote else None
            if problem is not None:
                raise BadInputError(f"{where}: {problem}")

    def for_service(self, service: Service) -> EnvRepo:
        """The service's environment repo, not yet synced; BadInputError when none is set."""
        remote = service.spec.target.repo or self._settings.environment.repo
        if not remote:
            raise BadInputError(
                f"{service.name}: no environment repo: set spec.target.repo or "
                "environment.repo in safedeploy.toml"
            )
        remote = resolve_remote(remote, self._state)
        if remote not in self._repos:
            self._repos[remote] = EnvRepo(
                remote,
                self._state / self._settings.environment.cache,
                host_token=self._host_token,
            )
        return self._repos[remote]

    def synced(self, service: Service) -> EnvRepo:
        """The repo fetched once per run; the first failure is raised again for each caller."""
        repo = self.for_service(service)
        if repo.remote not in self._synced:
            try:
                repo.sync()
            except SafedeployError as exc:
                self._synced[repo.remote] = exc
            else:
                self._synced[repo.remote] = None
        failure = self._synced[repo.remote]
        if failure is not None:
            raise failure
        return repo


class TargetVersions:
    def __init__(self, repos: EnvRepos) -> None:
        self._repos = repos
        self._versions: dict[str, VersionsFound] = {}

    def versions(self, service: Service) -> VersionsFound:
        """Read once per run: the canary check and the rollback both need them."""
        if service.name not in self._versions:
            self._versions[service.name] = self._read(service)
        return self._versions[service.name]

    def fetch(self, service: Service) -> None:
        """Fetch the service's repo now; a failure is kept, and said by whatever reads it."""
        with suppress(SafedeployError):
            self._repos.synced(service)

    def refusals(self, service: Service, proposals: tuple[Proposal, ...]) -> dict[str, Refusal]:
        """Each proposal's change applied in memory to the repo's current files: the ones
        that cannot be, and why (a proposal that cannot be applied is never made)."""
        found: dict[str, Refusal] = {}
        for proposal in proposals:
            try:
                repo = self._repos.synced(service)
                edit_for(proposal.kind, proposal.change, service.spec.target, repo.read_file)
            except BadInputError as exc:
                found[proposal.id] = Refusal(kind=proposal.kind, reason=str(exc))
            except SafedeployError as exc:  # the repo could not be read: nothing is known
                why = f"cannot check its change against the environment repo: {exc}"
                found[proposal.id] = Refusal(kind=proposal.kind, reason=why, undecided=True)
        return found

    def _read(self, service: Service) -> VersionsFound:
        target = service.spec.target
        try:
            repo = self._repos.synced(service)
            located = version_target(target, repo.read_file)
            history = repo.versions_of(located.path, version_reader(located))
        except SafedeployError as exc:
            return VersionsUnavailable(reason=str(exc))
        if not history:
            return VersionsUnavailable(
                reason=f"{located.path} has no history in {repo.shown_remote}"
            )
        return Versions(
            history=tuple(
                Release(version=v.version, commit=v.sha, committed_at=v.committed_at)
                for v in history
            ),
            source=f"{repo.shown_remote} ({located.path} at {history[-1].sha[:12]})",
        )
