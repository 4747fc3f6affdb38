"""`safedeploy.toml` plus environment overrides: the only place configuration is read.

Secrets never live in the file: the GitHub token is read from the environment by the
adapter that needs it, and nothing here writes configuration back.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from safedeploy.domain.layout import DEFAULT_CACHE
from safedeploy.domain.urls import host_of
from safedeploy.errors import BadInputError

CONFIG_FILE = "safedeploy.toml"


def _http_url(value: str) -> str:
    """An http(s) URL with a host. Without a scheme, `127.0.0.1:9090` would be refused by
    every request, retried for seconds and reported as "could not decide"."""
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return value
    hint = "" if "://" in value else f" (write http://{value})"
    raise ValueError(f"{value!r} is not an http:// or https:// URL{hint}")


HttpUrl = Annotated[str, AfterValidator(_http_url)]


def _host_list(value: object) -> object:
    """A list in the file; a comma-separated string in SAFEDEPLOY_ENVIRONMENT_ALLOWED_HOSTS."""
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    return value


def _lower(hosts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(host.lower() for host in hosts)


HostList = Annotated[tuple[str, ...], BeforeValidator(_host_list), AfterValidator(_lower)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PrometheusSettings(_Section):
    url: HttpUrl | None = None
    timeout: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    deadline: float = Field(default=60.0, gt=0, description="Seconds for one whole evaluation.")
    read: Literal["counters", "recorded"] = Field(
        default="counters",
        description="recorded: read the recording rules of `safedeploy generate rules`.",
    )
    service_label: str = "service"
    metrics_file: str | None = Field(
        default=None, description="OpenMetrics history for the embedded source."
    )


class EnvironmentSettings(_Section):
    repo: str | None = None
    cache: str = DEFAULT_CACHE
    allowed_hosts: HostList | None = Field(
        default=None,
        description="Hosts an environment repo may be on (environment.repo and every "
        "spec.target.repo); default: the host of environment.repo and, with github.repo "
        "set, the GitHub host. Local paths need none; http:// only on loopback.",
    )


class GitHubSettings(_Section):
    repo: str | None = None
    api_url: HttpUrl = "https://api.github.com"
    provider: str = Field(default="git", pattern="^(git|github)$")

    @property
    def git_host(self) -> str:
        """The host git reaches this GitHub on: github.com for api.github.com, and the API
        URL's own host for GitHub Enterprise (https://ghe.example.com/api/v3)."""
        host = host_of(self.api_url) or ""
        return "github.com" if host == "api.github.com" else host


class NotifySettings(_Section):
    webhook_url: HttpUrl | None = None


class StateSettings(_Section):
    commit: bool = Field(default=True, description="Commit changed state when in a Git tree.")
    push: bool = False
    remote: str = "origin"
    web_url: str | None = Field(
        default=None, description="Browse URL of the state repo, for evidence permalinks."
    )


class ApprovalSettings(_Section):
    """Who a person deciding on a proposal or an incident is, and how that is proven.

    Read from `safedeploy.toml` as committed in the state repository (HEAD), never from the
    environment: a variable that could turn verification off would be the hole it closes.
    """

    identity: Literal["verified", "declared"] = Field(
        default="verified",
        description='verified: the GitHub token\'s owner, or a signed state commit; "declared": '
        "--by as given, recorded as identity not verified.",
    )
    allowed_signers: str | None = Field(
        default=None,
        description="git's gpg.ssh.allowedSignersFile format; relative to the state "
        "directory (read as committed) or absolute.",
    )


class Settings(_Section):
    prometheus: PrometheusSettings = PrometheusSettings()
    environment: EnvironmentSettings = EnvironmentSettings()
    github: GitHubSettings = GitHubSettings()
    notify: NotifySettings = NotifySettings()
    state: StateSettings = StateSettings()
    approvals: ApprovalSettings = ApprovalSettings()

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """environment.allowed_hosts, or its default: the hosts of the configured repos."""
        if self.environment.allowed_hosts is not None:
            return frozenset(self.environment.allowed_hosts)
        hosts = {host_of(self.environment.repo or "")}
        if self.github.repo:
            hosts.add(self.github.git_host)
        return frozenset(h for h in hosts if h)


# Shorter names kept for the keys people set most; every key also has the regular
# SAFEDEPLOY_<SECTION>_<KEY> name (SAFEDEPLOY_PROMETHEUS_DEADLINE, SAFEDEPLOY_STATE_REMOTE).
_ALIASES: dict[str, tuple[str, str]] = {
    "SAFEDEPLOY_METRICS_FILE": ("prometheus", "metrics_file"),
    "SAFEDEPLOY_ENV_REPO": ("environment", "repo"),
    "SAFEDEPLOY_PROVIDER": ("github", "provider"),
    "SAFEDEPLOY_WEBHOOK_URL": ("notify", "webhook_url"),
}


# Sections the environment never overrides (see ApprovalSettings).
_FROM_THE_RECORD_ONLY = frozenset({"approvals"})


def environment_names() -> dict[str, tuple[str, str]]:
    """Every environment variable that overrides a key, and the key it overrides."""
    names = {
        f"SAFEDEPLOY_{section.upper()}_{key.upper()}": (section, key)
        for section, field in Settings.model_fields.items()
        if isinstance(field.annotation, type)
        and issubclass(field.annotation, _Section)
        and section not in _FROM_THE_RECORD_ONLY
        for key in field.annotation.model_fields
    }
    return {**names, **_ALIASES}


def load_settings(state: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `<state>/safedeploy.toml` (optional) with environment overrides."""
    env = os.environ if environ is None else environ
    file = state / CONFIG_FILE
    text = None
    if file.exists():
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise BadInputError(f"{file}: invalid TOML: {exc}") from None
    return parse_settings(text, str(file), env)


def parse_settings(text: str | None, origin: str, environ: Mapping[str, str]) -> Settings:
    """Settings from the text of a `safedeploy.toml` (None: no file) named `origin` in
    messages, with the overrides `environ` holds (none for the committed file)."""
    data: dict[str, dict[str, object]] = {}
    if text is not None:
        try:
            loaded = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise BadInputError(f"{origin}: invalid TOML: {exc}") from None
        for section, values in loaded.items():
            if not isinstance(values, dict):
                raise BadInputError(f"{origin}: {section}: expected a [{section}] table")
            data[section] = dict(values)
    overridden: dict[tuple[str, str], str] = {}
    for name, (section, key) in environment_names().items():
        if environ.get(name):
            data.setdefault(section, {})[key] = environ[name]
            overridden[(section, key)] = name
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"])
        loc = tuple(str(p) for p in error["loc"][:2])
        source = overridden.get((loc[0], loc[1])) if len(loc) == 2 else None
        shown = f"{source} (environment)" if source else origin
        message = str(error["msg"]).removeprefix("Value error, ")
        raise BadInputError(f"{shown}: {where}: {message}") from None
