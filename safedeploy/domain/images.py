"""Container image references and the versions safedeploy moves, as plain text.

A version is what follows the repository in an image reference: a tag (`1.10`), a digest
(`sha256:...`) or both (`1.10@sha256:...`). It is always the text the manifest holds,
never a YAML number, so `1.10` stays `1.10` and `20240101` stays `20240101`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Docker's reference grammar for a tag; anything else would make the image unpullable.
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
# Docker's reference grammar for a digest: an algorithm and at least 32 hex digits.
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
TAG_PATTERN = re.compile(_TAG)
DIGEST_PATTERN = re.compile(_DIGEST)
VERSION_PATTERN = re.compile(rf"(?:{_TAG})|(?:{_DIGEST})|(?:{_TAG}@{_DIGEST})")


class ImageRef(NamedTuple):
    """`registry:5000/team/app:1.10@sha256:...` as repository, tag and digest."""

    repository: str
    tag: str | None
    digest: str | None

    @property
    def version(self) -> str:
        return join_version(self.tag, self.digest)

    def with_version(self, version: str) -> ImageRef:
        tag, digest = split_version(version)
        return ImageRef(self.repository, tag, digest)

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return f"{self.repository}{tag}{digest}"


def parse_image(text: str) -> ImageRef:
    """Split an image reference; the tag or digest may be missing (then None)."""
    name, at, digest = text.partition("@")
    repository, colon, tag = name.rpartition(":")
    # A colon before the last slash is a registry port, not a tag.
    if not colon or "/" in tag:
        repository, tag = name, ""
    return ImageRef(repository, tag or None, digest if at else None)


def split_version(version: str) -> tuple[str | None, str | None]:
    """`1.10` -> (tag, None); `sha256:...` -> (None, digest); `1.10@sha256:...` -> both."""
    tag, at, digest = version.partition("@")
    if at:
        return tag, digest
    if is_digest(version):  # a digest has a colon, which no tag may hold
        return None, version
    return version, None


def join_version(tag: str | None, digest: str | None) -> str:
    if tag is not None and digest is not None:
        return f"{tag}@{digest}"
    return tag or digest or ""


def is_version(text: str) -> bool:
    return VERSION_PATTERN.fullmatch(text) is not None


def is_tag(text: str) -> bool:
    return TAG_PATTERN.fullmatch(text) is not None


def is_digest(text: str) -> bool:
    return DIGEST_PATTERN.fullmatch(text) is not None
