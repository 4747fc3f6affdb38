"""The state directory on disk: atomic JSON files, one lock, and the audit streams.

Every write replaces a whole file atomically so that a crash leaves either the old or the
new version, never half of one, and a reviewer reading the pull request sees a complete
document. Paths are checked after resolving symlinks so that a state directory cloned
from somewhere untrusted cannot make a write land outside it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Final, Generic, TypeVar

import filelock
from pydantic import BaseModel, ValidationError

from safedeploy.adapters import faults
from safedeploy.adapters.audit import AuditEntry, AuditLog, Stream
from safedeploy.domain import layout
from safedeploy.domain.control import ServiceControl
from safedeploy.domain.incidents import Incident, is_safe_id
from safedeploy.domain.proposals import Proposal
from safedeploy.domain.shards import WHOLE, Shard, combined, parse_label
from safedeploy.domain.summary import Summary
from safedeploy.errors import StateFileError, StateLockedError, StateWriteError, disk_fault

DEFAULT_LOCK_TIMEOUT: Final = 10.0
# A run writes a few files of a few kilobytes each; below this much free space it stops
# before its first write, so a disk filled to the brim leaves the state exactly as it was.
MIN_FREE_BYTES: Final = 1 << 20

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """What a directory scan found: the valid files, and one error per invalid file."""

    items: tuple[M, ...]
    errors: tuple[StateFileError, ...]


def unwritable(path: Path, exc: OSError) -> str:
    fault = disk_fault(exc, path)
    return str(fault) if fault else f"cannot write {path}: {exc.strerror}"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Temp file beside the target, fsync, rename over it, fsync the directory.

    A disk that refuses (full, read-only, not permitted) leaves the old file and no
    temporary one, and is StateWriteError: exit 3, one line.
    """
    try:
        _replace_atomically(path, data)
    except OSError as exc:
        fault = disk_fault(exc, path)
        if fault is None:
            raise
        raise fault from None


def _replace_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; these files are meant to be read and committed.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        faults.step(f"write {path.name}")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _exclude_lock(root: Path) -> None:
    """The lock in the state repository's `.git/info/exclude`, so that it never shows in
    `git status` even where `safedeploy init` wrote no `.gitignore`."""
    info = root / ".git" / "info"
    if not (root / ".git").is_dir():
        return
    exclude = info / "exclude"
    line = f"/{layout.LOCK}"
    with contextlib.suppress(OSError):  # a read-only repository: the lock fails next
        text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if line not in text.splitlines():
            info.mkdir(exist_ok=True)
            lead = "" if not text or text.endswith("\n") else "\n"
            exclude.write_text(f"{text}{lead}{line}\n", encoding="utf-8")


def _check_room(root: Path) -> None:
    """Refuse before the first write on a read-only or (nearly) full disk.

    A disk that fills up after this check ends the run like a crash at that write: every
    file whole, as the crash contract of docs/reliability.md states.
    """
    found = os.statvfs(root)
    if found.f_flag & os.ST_RDONLY:
        raise StateWriteError(unwritable(root, OSError(errno.EROFS, os.strerror(errno.EROFS))))
    free = found.f_bavail * found.f_frsize
    if free < MIN_FREE_BYTES:
        full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise StateWriteError(
            f"{unwritable(root, full)} ({free} bytes free, a run needs {MIN_FREE_BYTES})"
        )


def validation_message(display: str, error: ValidationError) -> str:
    """One line: the file, the first failing field and why, and how many more there are."""
    errors = error.errors()
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or "(document)"
    message = " ".join(str(first["msg"]).split())
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{display}: field {field}: {message}{more}"


def parse_model(display: str, raw: bytes, model: type[M]) -> M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise StateFileError(display, validation_message(display, exc)) from exc


class StateStore:
    def __init__(
        self,
        root: Path,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        audit_key: bytes | None = None,
    ) -> None:
        self.root = root.resolve()
        self.lock_timeout = lock_timeout
        self._lock = filelock.FileLock(self.root / layout.LOCK)
        self.audit_log = AuditLog(self.root / layout.AUDIT, audit_key)
        # Streams appended inside `audit_batch` and not yet flushed to disk.
        self._unsynced: set[Stream] | None = None

    # -- locking -------------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the directory lock so two runs (cron, a human) cannot interleave writes."""
        lock_path = self.resolve(layout.LOCK)
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateWriteError(unwritable(lock_path.parent, exc)) from None
        _exclude_lock(self.root)
        try:
            self._lock.acquire(timeout=self.lock_timeout)
        except filelock.Timeout as exc:
            raise StateLockedError(
                f"state directory {self.root} is locked by another run ({layout.LOCK}); "
                f"gave up after {self.lock_timeout:g}s, retry when it finishes"
            ) from exc
        except OSError as exc:  # after Timeout, which is an OSError too
            raise StateWriteError(unwritable(lock_path, exc)) from None
        try:
            _check_room(self.root)
            yield
        finally:
            self._lock.release()

    @property
    def is_locked(self) -> bool:
        return self._lock.is_locked

    def _require_lock(self) -> None:
        # A write without the lock is a bug in the caller, not something a user caused.
        if not self._lock.is_locked:
            raise RuntimeError("state writes must happen inside StateStore.lock()")

    # -- paths ---------------------------------------------------------------------------

    def resolve(self, relative: str) -> Path:
        """`relative` under the root, refusing anything that resolves outside it."""
        parts = PurePosixPath(relative)
        if parts.is_absolute() or ".." in parts.parts:
            raise StateFileError(relative, f"{relative}: path must stay inside the state directory")
        resolved = (self.root / parts).resolve()
        if not resolved.is_relative_to(self.root):
            raise StateFileError(
                relative,
                f"{relative}: resolves to {resolved}, outside the state directory {self.root}",
            )
        return resolved

    def _entity_path(self, directory: str, entity_id: str) -> str:
        if not is_safe_id(entity_id):
            raise StateFileError(
                f"{directory}/{entity_id}.json",
                f"{directory}: id {entity_id!r} is not file-name safe "
                "(lowercase letters, digits and '-')",
            )
        return f"{directory}/{entity_id}.json"

    # -- generic JSON files --------------------------------------------------------------

    def write_model(self, relative: str, model: BaseModel) -> Path:
        if "schema_version" not in type(model).model_fields:
            raise TypeError(f"{type(model).__name__} has no schema_version; every file needs one")
        self._require_lock()
        path = self.resolve(relative)
        self._sync_audit()
        atomic_write_bytes(path, (model.model_dump_json(indent=2) + "\n").encode("utf-8"))
        return path

    def write_text(self, relative: str, text: str) -> bool:
        """Write `text` only when the file's bytes differ; True when it was written.

        Reruns at the same instant then change nothing, and the state repository commits
        decisions, not rewrites.
        """
        self._require_lock()
        path = self.resolve(relative)
        data = text.encode("utf-8")
        try:
            if path.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        self._sync_audit()
        atomic_write_bytes(path, data)
        return True

    def write_model_if_changed(self, relative: str, model: BaseModel) -> bool:
        if "schema_version" not in type(model).model_fields:
            raise TypeError(f"{type(model).__name__} has no schema_version; every file needs one")
        return self.write_text(relative, model.model_dump_json(indent=2) + "\n")

    def read_model(self, relative: str, model: type[M]) -> M | None:
        """The file parsed as `model`, or None when it does not exist."""
        path = self.resolve(relative)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateFileError(relative, f"{relative}: cannot read: {exc.strerror}") from exc
        return parse_model(relative, raw, model)

    def _load_dir(self, directory: str, model: type[M]) -> Loaded[M]:
        base = self.resolve(directory)
        if not base.is_dir():
            return Loaded((), ())
        items: list[M] = []
        errors: list[StateFileError] = []
        for path in sorted(base.glob("*.json")):
            try:
                item = self._read_entity(directory, path.stem, model)
            except StateFileError as exc:
                errors.append(exc)
                continue
            if item is not None:
                items.append(item)
        return Loaded(tuple(items), tuple(errors))

    def _read_entity(self, directory: str, entity_id: str, model: type[M]) -> M | None:
        relative = self._entity_path(directory, entity_id)
        item = self.read_model(relative, model)
        found = getattr(item, "id", entity_id)
        if found != entity_id:
            raise StateFileError(
                relative, f"{relative}: field id: {found!r} does not match the file name"
            )
        return item

    # -- incidents and proposals ---------------------------------------------------------

    def get_incident(self, incident_id: str) -> Incident | None:
        return self._read_entity(layout.INCIDENTS, incident_id, Incident)

    def write_incident(self, incident: Incident) -> Path:
        return self.write_model(self._entity_path(layout.INCIDENTS, incident.id), incident)

    def load_incidents(self) -> Loaded[Incident]:
        return self._load_dir(layout.INCIDENTS, Incident)

    def get_proposal(self, proposal_id: str) -> Proposal | None:
        return self._read_entity(layout.PROPOSALS, proposal_id, Proposal)

    def write_proposal(self, proposal: Proposal) -> Path:
        return self.write_model(self._entity_path(layout.PROPOSALS, proposal.id), proposal)

    def load_proposals(self) -> Loaded[Proposal]:
        return self._load_dir(layout.PROPOSALS, Proposal)

    # -- control state and the summary ---------------------------------------------------

    def get_control(self, service: str) -> ServiceControl | None:
        return self.read_model(layout.control_file(service), ServiceControl)

    def write_control(self, control: ServiceControl) -> Path:
        return self.write_model(layout.control_file(control.service), control)

    def get_summary(self) -> Summary | None:
        """Every summary file combined: the whole catalog's and each shard's."""
        files = [(WHOLE, s) for s in [self.read_model(layout.SUMMARY, Summary)] if s]
        shards = self.resolve(layout.SHARDS)
        for folder in sorted(shards.iterdir()) if shards.is_dir() else ():
            shard = parse_label(folder.name)
            found = self.read_model(layout.shard_summary(folder.name), Summary) if shard else None
            if shard is not None and found is not None:
                files.append((shard, found))
        return files[0][1] if len(files) == 1 and files[0][0].whole else combined(files)

    def write_summary(self, summary: Summary, shard: Shard = WHOLE) -> bool:
        where = layout.SUMMARY if shard.whole else layout.shard_summary(shard.label)
        return self.write_model_if_changed(where, summary)

    # -- audit ---------------------------------------------------------------------------

    def append_audit(
        self, stream: Stream, event: str, data: Mapping[str, object], at: datetime
    ) -> AuditEntry:
        self._require_lock()
        self.resolve(layout.audit_file(stream))
        if self._unsynced is None:
            return self.audit_log.append(stream, event, data, at)
        self._unsynced.add(stream)
        return self.audit_log.append(stream, event, data, at, fsync=False)

    @contextmanager
    def audit_batch(self) -> Iterator[None]:
        """Appends inside are flushed to disk once, at the end or before the next file write.

        A line is on disk before any file written after it, as with one flush per line, so
        the order a crash (even power loss) can leave is the same; a run that appends one
        line per service flushes each stream once instead of once per line.
        """
        self._unsynced = set()
        try:
            yield
        finally:
            self._sync_audit()
            self._unsynced = None

    def _sync_audit(self) -> None:
        if self._unsynced:
            self.audit_log.sync(sorted(self._unsynced))
            self._unsynced.clear()
