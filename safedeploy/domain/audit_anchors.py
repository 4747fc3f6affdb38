"""What the state repository's history says each audit stream was, and where a log contradicts it.

A hash chain proves that a log is consistent with itself, not that it is the log that was
written: rewrite a line, seal every later hash anew, and the chain verifies again; cut the
last lines off, and what is left verifies too. So every state commit records the head of
every stream (`AuditHead`: how many lines, how many bytes, the last line's hash), and a
log is only the record when it extends what every commit recorded. The checks here are
pure: the adapters read the log and the commits, these decide which commit a log
contradicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditHead:
    """A stream as a state commit recorded it: `lines` lines, `size` bytes, the last
    line's `hash`."""

    stream: str
    lines: int
    size: int
    hash: str


@dataclass(frozen=True)
class Anchor:
    """One state commit and the heads it recorded."""

    commit: str
    heads: tuple[AuditHead, ...]


@dataclass(frozen=True)
class LineEnd:
    """A line of the log as it is now: its hash and the byte offset where it ends."""

    hash: str
    end: int


@dataclass(frozen=True)
class StreamSeen:
    """One pass over a stream: its `lines`, how many of them from the start form an
    unbroken chain (`intact`), and the lines that a recorded head names (`at`)."""

    stream: str
    lines: int
    intact: int
    at: Mapping[int, LineEnd]


@dataclass(frozen=True)
class Contradiction:
    """The first line at which the log is not what `commit` recorded, and how."""

    stream: str
    line: int
    commit: str
    problem: str


def contradiction(seen: StreamSeen, anchors: Sequence[Anchor]) -> Contradiction | None:
    """The oldest commit (anchors oldest first) whose head of `seen.stream` the log does
    not extend; None when the log extends every one of them.

    Naming the oldest one says the most: the damage was done after that commit was made,
    to a line it had already recorded.
    """
    for anchor in anchors:
        for head in anchor.heads:
            if head.stream == seen.stream:
                found = _contradicts(seen, head, anchor.commit)
                if found is not None:
                    return found
    return None


def _contradicts(seen: StreamSeen, head: AuditHead, commit: str) -> Contradiction | None:
    short = commit[:12]
    if seen.lines < head.lines:
        removed = head.lines - seen.lines
        return Contradiction(
            seen.stream,
            seen.lines + 1,
            commit,
            f"state commit {short} recorded {head.lines} lines, the log has {seen.lines}: "
            f"{removed} line(s) removed from its end",
        )
    if seen.intact < head.lines:
        return Contradiction(
            seen.stream,
            seen.intact + 1,
            commit,
            f"state commit {short} recorded its first {head.lines} lines intact",
        )
    now = seen.at.get(head.lines)
    if now is None or now.hash != head.hash or now.end != head.size:
        return Contradiction(
            seen.stream,
            head.lines,
            commit,
            f"not the line state commit {short} recorded (hash {head.hash[:12]}): the log "
            "was rewritten and its hashes sealed anew",
        )
    return None


def lines_named(anchors: Sequence[Anchor], stream: str) -> frozenset[int]:
    """The line numbers whose hash and end a pass over `stream` must collect."""
    return frozenset(h.lines for a in anchors for h in a.heads if h.stream == stream)
