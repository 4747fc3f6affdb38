"""What each service file parsed to, keyed by the file's bytes, kept in the state's cache folder.

Parsing YAML is most of what loading the catalog costs, and a catalog rarely changes
between two runs: a file whose bytes hash to a known key is taken from here instead. The
cache holds only files that loaded (a broken one is parsed again, for its line numbers),
is read back through the same models (a file the code no longer accepts is a miss) and is
rewritten only when the set of files changed. It is a cache and nothing more: a missing,
unreadable or stale file costs a parse, never a wrong catalog, and a crash while writing
it leaves the old one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from safedeploy import __version__
from safedeploy.domain.catalog import Service

CACHE_FILE: Final = "catalog.json"


class _CacheFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    # Another release may read the same bytes differently: its cache is not ours.
    safedeploy: str = __version__
    services: dict[str, Service] = {}


def content_key(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass
class ParsedServices:
    """The cache as read at the start of a load, and what this load used or parsed."""

    path: Path | None
    known: dict[str, Service]
    used: dict[str, Service] = field(default_factory=dict)

    @classmethod
    def open(cls, directory: Path | None) -> ParsedServices:
        if directory is None:
            return cls(None, {})
        path = directory / CACHE_FILE
        try:
            cached = _CacheFile.model_validate_json(path.read_bytes())
        except (OSError, ValueError, ValidationError):
            return cls(path, {})
        if cached.safedeploy != __version__:
            return cls(path, {})
        return cls(path, dict(cached.services))

    def get(self, key: str) -> Service | None:
        service = self.known.get(key)
        if service is not None:
            self.used[key] = service
        return service

    def put(self, key: str, service: Service) -> None:
        self.used[key] = service

    def save(self) -> None:
        """Write what this load used, when it differs from what was read."""
        if self.path is None or self.used.keys() == self.known.keys():
            return
        data = _CacheFile(services=self.used).model_dump_json().encode("utf-8")
        # No fsync: losing the cache to a power cut costs one parse.
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{CACHE_FILE}.")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, self.path)
            except OSError:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
