"""The versions of each service's target file, read from the environment repo's history.

The last version in the Git history of the target file is what runs now; the one before it
is the last stable one. Nothing is ever assumed: a repo that cannot be read gives a reason.
"""

from __future__ import annotations

from pathlib import Path

from safedeploy.adapters.envrepo import EnvRepo
from safedeploy.adapters.manifests import version_reader
from safedeploy.adapters.settings import Settings
from safedeploy.domain.catalog import Service
from safedeploy.domain.decisions import Versions
from safedeploy.errors import SafedeployError


def resolve_remote(remote: str, state: Path) -> str:
    """A relative local path is relative to the state directory, not to the cwd."""
    if "://" in remote or remote.startswith("git@") or Path(remote).is_absolute():
        return remote
    return str((state / remote).resolve())


class TargetVersions:
    def __init__(self, settings: Settings, state: Path) -> None:
        self._settings = settings
        self._state = state
        self._repos: dict[str, EnvRepo | str] = {}
        self._versions: dict[str, Versions | str] = {}

    def repo_for(self, service: Service) -> EnvRepo | str:
        remote = service.spec.target.repo or self._settings.environment.repo
        if not remote:
            return "no environment repo configured (environment.repo or spec.target.repo)"
        remote = resolve_remote(remote, self._state)
        if remote not in self._repos:
            repo = EnvRepo(remote, self._state / self._settings.environment.cache)
            try:
                repo.sync()
            except SafedeployError as exc:
                self._repos[remote] = str(exc)
            else:
                self._repos[remote] = repo
        return self._repos[remote]

    def versions(self, service: Service) -> Versions | str:
        """Read once per run: the canary check and the rollback both need them."""
        if service.name not in self._versions:
            self._versions[service.name] = self._read(service)
        return self._versions[service.name]

    def _read(self, service: Service) -> Versions | str:
        repo = self.repo_for(service)
        if isinstance(repo, str):
            return repo
        target = service.spec.target
        try:
            history = repo.versions_of(target.path, version_reader(target))
        except SafedeployError as exc:
            return str(exc)
        if not history:
            return f"{target.path} has no history in {repo.shown_remote}"
        return Versions(
            current=history[-1].version,
            stable=history[-2].version if len(history) > 1 else None,
            source=f"{repo.shown_remote} ({target.path} at {history[-1].sha[:12]})",
        )
