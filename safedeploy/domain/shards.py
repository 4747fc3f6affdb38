"""Shards: several reconcile runs, each deciding its own part of the catalog.

`reconcile --shard I/N` decides the services whose stable hash falls in shard I of N,
0-based (`0/3`, `1/3`, `2/3`), the numbering of a Kubernetes Indexed Job's
`JOB_COMPLETION_INDEX`. The hash is sha256 of the service name, never Python's `hash()`
(salted per process), so every run on every machine puts a service in the same shard.

Each shard writes its own summary file; readers combine every summary file there is
(`combined`), so shards never write the same file and their pushes to one state
repository merge.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Final

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.summary import ServiceSummary, Summary
from safedeploy.errors import BadInputError

_SPEC: Final = re.compile(r"(\d{1,6})/(\d{1,6})")


class Shard(BaseModel):
    """Shard `index` of `count`, 0-based; `Shard()` is the whole catalog."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = 0
    count: int = 1

    @property
    def whole(self) -> bool:
        return self.count == 1

    @property
    def label(self) -> str:
        """`<index>-of-<count>`: the shard's name in file paths."""
        return f"{self.index}-of-{self.count}"

    def owns(self, service: str) -> bool:
        return self.whole or shard_of(service, self.count) == self.index

    def among(self, names: Iterable[str]) -> frozenset[str]:
        return frozenset(n for n in names if self.owns(n))


WHOLE: Final = Shard()


def shard_of(service: str, count: int) -> int:
    """The shard, of `count`, that decides `service`: the same on every machine and run."""
    digest = hashlib.sha256(service.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_shard(text: str, option: str = "--shard") -> Shard:
    """`I/N` with 0 <= I < N; anything else is bad input naming the option."""
    match = _SPEC.fullmatch(text.strip())
    if match is None:
        raise BadInputError(
            f"{option}: {text!r} is not I/N (the shard's 0-based index, a slash, the number "
            "of shards: 0/4 ... 3/4)"
        )
    index, count = int(match[1]), int(match[2])
    if count < 1:
        raise BadInputError(f"{option}: {text!r}: the number of shards must be at least 1")
    if index >= count:
        raise BadInputError(
            f"{option}: {text!r}: shards are numbered from 0 to {count - 1} (0-based)"
        )
    return Shard(index=index, count=count)


def parse_label(label: str) -> Shard | None:
    """The shard a `<index>-of-<count>` path part names; None for anything else."""
    match = re.fullmatch(r"(\d{1,6})-of-(\d{1,6})", label)
    if match is None or not 0 <= int(match[1]) < int(match[2]):
        return None
    return Shard(index=int(match[1]), count=int(match[2]))


def combined(files: Sequence[tuple[Shard, Summary]]) -> Summary | None:
    """What every summary file says together: the latest decision of every service.

    The newest file (by its run's instant; more shards win a tie) sets the layout in use.
    A service's entry comes from the file of that layout which owns it, when that file
    exists: it then speaks for the service, so a service removed from the catalog drops
    out. Until it exists (the number of shards just changed) the newest entry anywhere
    stands in.
    """
    if not files:
        return None
    newest = max(files, key=lambda f: (_instant(f[1]), f[0].count, f[0].index))
    layout = newest[0].count
    present = {shard.index for shard, _ in files if shard.count == layout}
    spoken = {
        e.service: e for shard, summary in files if shard.count == layout for e in summary.services
    }
    chosen: dict[str, ServiceSummary] = {}
    for _, summary in files:
        for entry in summary.services:
            name = entry.service
            if shard_of(name, layout) in present:
                if name in spoken:
                    chosen[name] = spoken[name]
            elif name not in chosen or entry.at > chosen[name].at:
                chosen[name] = entry
    instants = [s.at for _, s in files if s.at is not None]
    return Summary(
        at=max(instants) if instants else None,
        services=tuple(chosen[n] for n in sorted(chosen)),
    )


def shard_view(summary: Summary | None, shard: Shard) -> Summary | None:
    """What `summary` says of the services `shard` decides; its instant is their latest
    decision's, the instant a run of this shard must not go back before."""
    if summary is None or shard.whole:
        return summary
    mine = tuple(e for e in summary.services if shard.owns(e.service))
    if not mine:
        return None
    return Summary(at=max(e.at for e in mine), services=mine)


def _instant(summary: Summary) -> float:
    return summary.at.timestamp() if summary.at is not None else float("-inf")
