"""What the environment repository says a service runs, or why it could not say."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Versions(BaseModel):
    """The target file's versions: what runs now and the last stable one before it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    current: str
    stable: str | None
    source: str


class VersionsUnavailable(BaseModel):
    """The environment repository or the target file could not be read: `reason` says why.

    A decision that needs versions and gets this one cannot be made (exit 3); it is never
    read as "no earlier version".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str


VersionsFound = Versions | VersionsUnavailable
