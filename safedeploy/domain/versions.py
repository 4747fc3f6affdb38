"""What the environment repository says a service runs, or why it could not say."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from safedeploy.domain.incidents import UtcDatetime


class Release(BaseModel):
    """A version as the target file's history holds it: from this commit on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    commit: str
    committed_at: UtcDatetime


class Versions(BaseModel):
    """The target file's history: one release per change of version, oldest first. Which
    one a rollback goes back to is chosen in domain/stable_versions.py."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    history: tuple[Release, ...] = Field(min_length=1)
    source: str

    @property
    def current(self) -> str:
        """What runs now."""
        return self.history[-1].version

    @property
    def previous(self) -> str | None:
        """The version before it: what a canary's stable pods still run."""
        return self.history[-2].version if len(self.history) > 1 else None


class VersionsUnavailable(BaseModel):
    """The environment repository or the target file could not be read: `reason` says why.

    A decision that needs versions and gets this one cannot be made (exit 3); it is never
    read as "no earlier version".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str


VersionsFound = Versions | VersionsUnavailable


class TargetCheck(BaseModel):
    """One service's target file as `validate --env-repo` found it: the version, where it
    is written, and whether block-promotion can pause the service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    field: str
    line: int
    version: str
    pausable: bool
