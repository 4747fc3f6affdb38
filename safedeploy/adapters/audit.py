"""Append-only, hash-chained audit streams: `audit/<stream>.log`, one JSON object a line.

Each line carries the hash of the line before it (`prev`) and a sha256 over its own
canonical JSON without `hash`, so editing, removing or reordering a line breaks the chain
at a point `verify` can name. Truncating the tail, or rewriting a line and sealing every
later hash anew, cannot be detected from the file alone: `verify` takes the heads the state
commits recorded (`domain/audit_anchors.py`) and names the commit a log contradicts.

With `SAFEDEPLOY_AUDIT_KEY` in the environment every line also carries a mac of its hash,
and `verify` refuses a line without a valid one: nobody without the key can seal a line
anew, with or without a Git history to compare against.

Appends run on every reconcile against streams that only grow, so they read the last line
by seeking from the end, never the history. Callers hold the state store lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from safedeploy.adapters import faults
from safedeploy.domain.audit_anchors import (
    Anchor,
    AuditHead,
    LineEnd,
    StreamSeen,
    contradiction,
    lines_named,
)
from safedeploy.domain.incidents import UtcDatetime
from safedeploy.errors import BadInputError, disk_fault

Stream = Literal["metrics", "budget", "incidents", "governance"]
STREAMS: tuple[Stream, ...] = get_args(Stream)
GENESIS: Final = "0" * 64
FIELDS: Final = frozenset({"seq", "at", "stream", "event", "data", "prev", "hash"})
# With a key, each line also carries `mac`, an HMAC-SHA256 of its hash: a line sealed anew
# by someone without the key cannot have one.
KEYED_FIELDS: Final = FIELDS | {"mac"}
KEY_VARIABLE: Final = "SAFEDEPLOY_AUDIT_KEY"
MIN_KEY_LENGTH: Final = 32
TAIL_CHUNK: Final = 4096


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    at: UtcDatetime
    stream: Stream
    event: str
    data: dict[str, JsonValue]
    prev: str
    hash: str
    mac: str | None = None


def audit_key(environ: Mapping[str, str]) -> bytes | None:
    """The key from the environment, the only place it lives: never a file, a message or an
    argument. None when it is not set."""
    key = environ.get(KEY_VARIABLE, "")
    if not key:
        return None
    if len(key) < MIN_KEY_LENGTH:
        raise BadInputError(
            f"{KEY_VARIABLE}: too short to authenticate anything (at least {MIN_KEY_LENGTH} "
            "characters; `openssl rand -hex 32` makes one)"
        )
    return key.encode("utf-8")


def mac_of(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class VerifyReport:
    """`line` and `problem` name the first break; both are None for an intact stream."""

    stream: Stream
    lines: int
    line: int | None = None
    problem: str | None = None
    commit: str | None = None  # the state commit whose record the stream contradicts

    @property
    def ok(self) -> bool:
        return self.problem is None


def format_at(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def canonical(record: Mapping[str, object]) -> bytes:
    # Sorted keys and no whitespace: the same record always hashes the same, whichever
    # code wrote it. NaN has no JSON spelling, so it is refused rather than smuggled in.
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def seal(
    *,
    seq: int,
    at: datetime,
    stream: Stream,
    event: str,
    data: Mapping[str, object],
    prev: str,
    key: bytes | None = None,
) -> tuple[bytes, str]:
    """The line to write (newline included) and its hash; with `key`, its mac too."""
    record = {
        "seq": seq,
        "at": format_at(at),
        "stream": stream,
        "event": event,
        "data": data,
        "prev": prev,
    }
    digest = hashlib.sha256(canonical(record)).hexdigest()
    sealed = {**record, "hash": digest}
    if key is not None:
        sealed["mac"] = mac_of(key, digest)
    return canonical(sealed) + b"\n", digest


def _last_line(f: BinaryIO, size: int) -> bytes:
    """The final line of a non-empty file, read backwards in growing chunks."""
    end, chunk, buf = size, TAIL_CHUNK, b""
    while True:
        start = max(0, end - chunk)
        f.seek(start)
        buf = f.read(end - start) + buf
        end = start
        cut = buf.rfind(b"\n", 0, len(buf) - 1)
        if cut >= 0:
            return buf[cut + 1 :]
        if start == 0:
            return buf
        chunk *= 2


def _read_last(path: Path) -> tuple[bytes, int]:
    """The file's last line and its size; nothing for a file that is not there."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            return (_last_line(f, size) if size else b""), size
    except FileNotFoundError:
        return b"", 0


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AuditLog:
    def __init__(self, directory: Path, key: bytes | None = None) -> None:
        self.directory = directory
        self.key = key

    def path(self, stream: Stream) -> Path:
        if stream not in STREAMS:
            raise BadInputError(f"unknown audit stream {stream!r}: one of {', '.join(STREAMS)}")
        return self.directory / f"{stream}.log"

    def _display(self, stream: Stream) -> str:
        return f"{self.directory.name}/{stream}.log"

    def append(
        self,
        stream: Stream,
        event: str,
        data: Mapping[str, object],
        at: datetime,
        *,
        fsync: bool = True,
    ) -> AuditEntry:
        """Append one sealed line. `fsync=False` leaves the flush to disk to the caller
        (`sync`): a kill cannot lose a line written to the page cache, only power loss can."""
        path = self.path(stream)
        format_at(at)  # refuse a naive time before touching the file
        try:
            line = self._append_line(path, stream, event, data, at, fsync=fsync)
        except OSError as exc:
            fault = disk_fault(exc, path)
            if fault is None:
                raise
            raise fault from None
        return AuditEntry.model_validate_json(line)

    def _append_line(
        self,
        path: Path,
        stream: Stream,
        event: str,
        data: Mapping[str, object],
        at: datetime,
        *,
        fsync: bool,
    ) -> bytes:
        """Seal and append one line; the line written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        with open(path, "a+b", buffering=0) as f:
            size = f.seek(0, os.SEEK_END)
            seq, prev = self._next_link(stream, f, size) if size else (1, GENESIS)
            line, _ = seal(
                seq=seq, at=at, stream=stream, event=event, data=data, prev=prev, key=self.key
            )
            faults.step(f"audit {stream}")
            try:
                written = 0
                while written < len(line):
                    written += os.write(f.fileno(), line[written:])
                if fsync:
                    os.fsync(f.fileno())
            except OSError:
                # A full disk may have taken part of the line: cut it off, so the stream
                # ends where it ended before (truncating frees space, it needs none).
                with contextlib.suppress(OSError):
                    f.truncate(size)
                    if created:
                        path.unlink()
                raise
        if created:
            _fsync_dir(self.directory)
        return line

    def sync(self, streams: Iterable[Stream]) -> None:
        """Flush to disk what `append(..., fsync=False)` wrote to these streams."""
        for stream in streams:
            fd = os.open(self.path(stream), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _next_link(self, stream: Stream, f: BinaryIO, size: int) -> tuple[int, str]:
        last = _last_line(f, size)
        if not last.endswith(b"\n"):
            raise BadInputError(
                f"{self._display(stream)}: last line is incomplete (an interrupted write?); "
                "run verify before appending"
            )
        try:
            record = json.loads(last)
            link = int(record["seq"]) + 1, str(record["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BadInputError(
                f"{self._display(stream)}: last line is not an audit entry ({exc}); run verify"
            ) from exc
        problem = _mac_problem(record, self.key)
        if problem is not None:
            # Appending with the key would authenticate a line sealed without it.
            raise BadInputError(f"{self._display(stream)}: last line: {problem}; run verify")
        return link

    def head_problem(self, stream: Stream) -> str | None:
        """With the key, why the stream's last line is not one sealed with it; None when it
        is (or there is no key, or no line)."""
        if self.key is None:
            return None
        last, _ = _read_last(self.path(stream))
        if not last:
            return None
        try:
            record = json.loads(last)
        except ValueError:
            return "not an audit entry"
        return _mac_problem(record, self.key) if isinstance(record, dict) else "not an entry"

    def last(self, stream: Stream) -> AuditEntry | None:
        """The stream's final entry, read from the end; None when it is empty or torn."""
        line, _ = _read_last(self.path(stream))
        if not line.endswith(b"\n"):
            return None
        try:
            return AuditEntry.model_validate_json(line)
        except ValidationError:
            return None

    def entries(self, stream: Stream) -> Iterator[AuditEntry]:
        """Every entry in order, for replay. Parses, but does not check the chain."""
        path = self.path(stream)
        if not path.exists():
            return
        with open(path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                try:
                    yield AuditEntry.model_validate_json(raw)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    field = ".".join(str(p) for p in first["loc"]) or "line"
                    raise BadInputError(
                        f"{self._display(stream)}:{number}: field {field}: {first['msg']}"
                    ) from exc

    def verify_all(self, anchors: Sequence[Anchor] = ()) -> list[VerifyReport]:
        return [self.verify(stream, anchors) for stream in STREAMS]

    def verify(self, stream: Stream, anchors: Sequence[Anchor] = ()) -> VerifyReport:
        """Read the whole stream once, in constant memory, and name the first break: of the
        chain, or of what a state commit among `anchors` (oldest first) recorded of it."""
        path = self.path(stream)
        if not path.exists():
            return _report(stream, scan(stream, (), ()), anchors)
        with open(path, "rb") as f:
            found = scan(stream, f, lines_named(anchors, stream), self.key)
            return _report(stream, found, anchors)

    def head(self, stream: Stream) -> AuditHead | None:
        """What a state commit records of the stream: its last line, read from the end;
        None when the stream is empty or its last line is not a whole entry."""
        last, size = _read_last(self.path(stream))
        return _head(stream, last, size)

    def head_at(self, stream: Stream, size: int) -> AuditHead | None:
        """The head the stream had when it was `size` bytes long, read from the end of that
        prefix: whether the log still extends a recorded head costs one short read."""
        path = self.path(stream)
        try:
            with open(path, "rb") as f:
                if size <= 0 or f.seek(0, os.SEEK_END) < size:
                    return None
                last = _last_line(f, size)
        except FileNotFoundError:
            return None
        return _head(stream, last, size)


def _head(stream: Stream, last: bytes, size: int) -> AuditHead | None:
    if not last.endswith(b"\n"):
        return None
    try:
        entry = AuditEntry.model_validate_json(last)
    except ValidationError:
        return None
    return AuditHead(stream, entry.seq, size, entry.hash)


@dataclass(frozen=True)
class Scan:
    """One pass over a stream: what it holds and, when its chain breaks, where and how."""

    seen: StreamSeen
    line: int | None = None
    problem: str | None = None


def scan(
    stream: Stream, raw_lines: Iterable[bytes], wanted: Collection[int], key: bytes | None = None
) -> Scan:
    """One pass over a stream's lines: the first break of the chain (with `key`, a line
    without its mac is one), and the hash and end of each line numbered in `wanted`."""
    prev_hash, count, end = GENESIS, 0, 0
    at: dict[int, LineEnd] = {}
    lines = iter(raw_lines)
    for number, raw in enumerate(lines, start=1):
        count, end = number, end + len(raw)
        link = _check_line(raw, number, stream, prev_hash, key)
        if isinstance(link, _Break):
            total = number + sum(1 for _ in lines)
            return Scan(StreamSeen(stream, total, link.line - 1, at), link.line, link.problem)
        seq, prev_hash = link
        if seq != number:
            later = [_seq_of(raw) for raw in lines]
            problem = _seq_problem(number, seq, later)
            return Scan(StreamSeen(stream, number + len(later), number - 1, at), number, problem)
        if number in wanted:
            at[number] = LineEnd(prev_hash, end)
    return Scan(StreamSeen(stream, count, count, at))


def _report(stream: Stream, found: Scan, anchors: Sequence[Anchor]) -> VerifyReport:
    """The chain's first break or the oldest commit the stream contradicts, in one line."""
    seen = found.seen
    against = contradiction(seen, anchors)
    commit = against.commit if against else None
    if found.problem is not None:
        why = f"{found.problem} ({against.problem})" if against else found.problem
        return VerifyReport(stream, seen.lines, found.line, why, commit)
    if against is not None:
        return VerifyReport(stream, seen.lines, against.line, against.problem, commit)
    return VerifyReport(stream, seen.lines)


@dataclass(frozen=True)
class _Break:
    line: int
    problem: str


def _check_line(
    raw: bytes, number: int, stream: Stream, prev_hash: str, key: bytes | None = None
) -> _Break | tuple[int, str]:
    """The line's (seq, hash), or the first problem with it other than its sequence."""
    if not raw.endswith(b"\n"):
        return _Break(number, "incomplete line (an interrupted write?)")
    try:
        record = json.loads(raw)
    except ValueError as exc:
        return _Break(number, f"not JSON ({exc}): the line was edited")
    if not isinstance(record, dict) or set(record) not in (FIELDS, KEYED_FIELDS):
        return _Break(number, f"fields must be exactly {sorted(FIELDS)}: the line was edited")
    problem = _mac_problem(record, key)
    if problem is not None:
        return _Break(number, problem)
    record.pop("mac", None)
    claimed = record.pop("hash")
    if hashlib.sha256(canonical(record)).hexdigest() != claimed:
        return _Break(number, "hash does not match the line's content: the line was edited")
    seq = record["seq"]
    if record["stream"] != stream:
        return _Break(number, f"belongs to stream {record['stream']!r}, not {stream!r}")
    if not isinstance(seq, int):
        return _Break(number, "seq is not an integer: the line was edited")
    if number == 1 and seq == 1 and record["prev"] != GENESIS:
        return _Break(number, "the first line's prev is not the genesis hash: it was edited")
    if seq == number and record["prev"] != prev_hash:
        # A self-consistent line whose link no longer matches: the line before it was
        # rewritten along with a freshly computed hash.
        return _Break(
            number - 1, f"changed after line {number} was written: its hash is not that line's prev"
        )
    return seq, str(claimed)


def _mac_problem(record: dict[str, object], key: bytes | None) -> str | None:
    """Without a key a mac cannot be checked, and its absence proves nothing."""
    if key is None:
        return None
    mac = record.get("mac")
    if not isinstance(mac, str):
        return f"no mac: not sealed with {KEY_VARIABLE} (sealed anew by someone without it?)"
    if not hmac.compare_digest(mac, mac_of(key, str(record.get("hash")))):
        return f"mac does not match: not sealed with this {KEY_VARIABLE}"
    return None


def _seq_of(raw: bytes) -> int | None:
    try:
        seq = json.loads(raw).get("seq")
    except (ValueError, AttributeError):
        return None
    return seq if isinstance(seq, int) else None


def _seq_problem(number: int, seq: int, later: Sequence[int | None]) -> str:
    if seq < number:
        return f"seq {seq} at line {number}: lines were reordered"
    # A gap is a removal unless a missing seq turns up further down, which is a reordering.
    if any(s is not None and number <= s < seq for s in later):
        return f"seq {seq} where {number} was expected: lines were reordered"
    return f"seq {seq} where {number} was expected: {seq - number} line(s) removed before it"


def rechain(base: bytes, theirs: bytes, ours: bytes, key: bytes | None = None) -> bytes:
    """Audit lines both sides appended since `base`, as one chain: theirs, then ours.

    Used when two runs pushed the state concurrently. Our new entries keep their time,
    event and data; only their sequence numbers and links are sealed anew on top of the
    other run's tail, so no line of either history is lost and the chain still verifies.
    """
    if not theirs.startswith(base) or not ours.startswith(base):
        raise BadInputError("audit log was rewritten, not appended to, since the common base")
    merged = theirs
    seq, prev = 0, GENESIS
    if theirs.strip():
        last = json.loads(theirs.rstrip(b"\n").rsplit(b"\n", 1)[-1])
        seq, prev = int(last["seq"]), str(last["hash"])
    for raw in ours[len(base) :].splitlines():
        entry = AuditEntry.model_validate_json(raw)
        seq += 1
        line, prev = seal(
            seq=seq,
            at=entry.at,
            stream=entry.stream,
            event=entry.event,
            data=entry.data,
            prev=prev,
            key=key,
        )
        merged += line
    return merged
