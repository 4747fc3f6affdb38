"""What one command needs from the outside world, each part built once and only when used.

A command makes one `Context` for its state directory and hands it to its use case; the
settings, the catalog, the state store, the metrics source, the environment repositories,
the team's policies and the GitHub client are then built on first use and shared by every
step of that command, so no step reads `safedeploy.toml` or clones a repository twice and
`safedeploy --help` never pays for any of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from safedeploy.domain import layout

if TYPE_CHECKING:
    from safedeploy.adapters.catalog_cache import ParsedServices
    from safedeploy.adapters.github import GitHubClient, Throttle
    from safedeploy.adapters.rego_policies import RegoPolicies
    from safedeploy.adapters.settings import Settings
    from safedeploy.adapters.state_repo import StateRepo
    from safedeploy.adapters.store import StateStore
    from safedeploy.adapters.target_versions import EnvRepos, TargetVersions
    from safedeploy.domain.catalog import Catalog
    from safedeploy.ports import MetricsSource, SLOCountsSource

DEFAULT_LOCK_TIMEOUT = 10.0


@dataclass
class Context:
    state: Path
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    # Tests and the fault suite slow GitHub's pacing down to nothing.
    github_throttle: Throttle | None = None

    @cached_property
    def settings(self) -> Settings:
        from safedeploy.adapters.settings import load_settings

        return load_settings(self.state, self.environ)

    @cached_property
    def catalog(self) -> Catalog:
        """Every service of `services/` that loads, and each broken file's violations:
        `catalog.select` refuses a broken service unless the caller reports it."""
        from safedeploy.adapters.catalog_files import load_catalog

        return load_catalog([self.state / layout.SERVICES], partial=True, parsed=self.parsed)

    @cached_property
    def parsed(self) -> ParsedServices:
        """What the catalog's files parsed to before; only a command that writes the state
        saves it (`ParsedServices.save`), so one that only reads leaves no file behind."""
        from safedeploy.adapters.catalog_cache import ParsedServices
        from safedeploy.errors import SafedeployError

        self.require_state_dir()
        try:
            cache: Path | None = self.state / self.settings.environment.cache
        except SafedeployError:
            cache = None  # the command that needs the settings reports them
        return ParsedServices.open(cache)

    @cached_property
    def store(self) -> StateStore:
        from safedeploy.adapters.store import StateStore

        self.require_state_dir()
        return StateStore(self.state, lock_timeout=self.lock_timeout, audit_key=self.audit_key)

    @cached_property
    def source(self) -> MetricsSource | SLOCountsSource:
        """The configured metrics source: one client, one deadline for the whole command."""
        from safedeploy.adapters.sources import open_source

        return open_source(self.settings, self.state)

    @cached_property
    def env_repos(self) -> EnvRepos:
        from safedeploy.adapters.github import TOKEN_VARIABLE
        from safedeploy.adapters.target_versions import EnvRepos

        repos = EnvRepos(self.settings, self.state, github_token=self.environ.get(TOKEN_VARIABLE))
        repos.check_hosts(self.catalog.services)
        return repos

    @cached_property
    def versions(self) -> TargetVersions:
        from safedeploy.adapters.target_versions import TargetVersions

        return TargetVersions(self.env_repos)

    @cached_property
    def policies(self) -> RegoPolicies:
        from safedeploy.adapters.rego_policies import RegoPolicies

        return RegoPolicies.load(self.state)

    @cached_property
    def state_repo(self) -> StateRepo:
        from safedeploy.adapters.state_repo import StateRepo

        self.require_state_dir()
        return StateRepo(self.state, self.audit_key, lock_wait=self.lock_timeout)

    @cached_property
    def audit_key(self) -> bytes | None:
        """`SAFEDEPLOY_AUDIT_KEY`: what authenticates every audit line, from the environment
        only."""
        from safedeploy.adapters.audit import audit_key

        return audit_key(self.environ)

    def require_state_dir(self) -> None:
        """Refuse a directory that is not a state directory, before anything reads it: a
        typo in `--state` must not verify an empty audit log as intact, or replay nothing."""
        from safedeploy.errors import BadInputError

        if not self.state.is_dir():
            raise BadInputError(f"{self.state}: no such state directory")
        if not any((self.state / marker).exists() for marker in layout.MARKERS):
            raise BadInputError(
                f"{self.state}: not a state directory (it holds none of "
                f"{', '.join(layout.MARKERS)}); safedeploy init DIR creates one"
            )

    @cached_property
    def github(self) -> GitHubClient | None:
        """The GitHub client when `github.provider` is "github"; a missing token or repo is
        refused here, before anything is pushed."""
        return self._github(required=False)

    def pull_requests_off(self) -> str | None:
        """Why no pull request is opened although the configuration looks like it wants one
        (a GitHub repo and a token, but `github.provider` is not "github"); None otherwise."""
        from safedeploy.adapters.github import TOKEN_VARIABLE

        config = self.settings.github
        if config.provider == "github" or not config.repo:
            return None
        if not self.environ.get(TOKEN_VARIABLE, "").strip():
            return None
        return (
            f"no pull request opened: github.repo is {config.repo} and {TOKEN_VARIABLE} is set, "
            f'but github.provider is "{config.provider}"; set provider = "github" in '
            "safedeploy.toml (or SAFEDEPLOY_GITHUB_PROVIDER=github) to open one"
        )

    def github_for_status(self) -> GitHubClient:
        """The client for a commit status, which needs only `github.repo` and a token."""
        client = self._github(required=True)
        assert client is not None
        return client

    def _github(self, *, required: bool) -> GitHubClient | None:
        from safedeploy.adapters.github import DEFAULT_THROTTLE, GitHubClient
        from safedeploy.errors import BadInputError

        config = self.settings.github
        if not required and config.provider != "github":
            return None
        if not config.repo:
            raise BadInputError(
                'github.repo: required when github.provider is "github"'
                if not required
                else "--github-status needs github.repo in safedeploy.toml "
                "(or SAFEDEPLOY_GITHUB_REPO)"
            )
        return GitHubClient.from_environment(
            config.repo,
            config.api_url,
            self.environ,
            throttle=self.github_throttle or DEFAULT_THROTTLE,
        )
