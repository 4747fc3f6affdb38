"""Which version a rollback goes back to: the newest one that was healthy, by the record.

"The commit before" is wrong as soon as a rollback has been merged: after 1.5.0 was
rolled back to 1.4.2, the commit before 1.4.2 holds 1.5.0, the bad version. The target
is instead chosen from the target file's history and from what safedeploy decided: a
version that was running when an incident opened, or that a rollback was approved away
from, never counts as stable. The choice names its commit, its date and why it counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.incidents import Incident
from safedeploy.domain.instants import format_instant
from safedeploy.domain.proposals import Proposal, StableChoice, VersionChange
from safedeploy.domain.versions import Release


class ServiceRecord(BaseModel):
    """Everything safedeploy decided about one service: its incidents and proposals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incidents: tuple[Incident, ...] = ()
    proposals: tuple[Proposal, ...] = ()

    @classmethod
    def of(
        cls, service: str, incidents: tuple[Incident, ...], proposals: tuple[Proposal, ...]
    ) -> ServiceRecord:
        return cls(
            incidents=tuple(i for i in incidents if i.service == service),
            proposals=tuple(p for p in proposals if p.service == service),
        )


def running_at(history: tuple[Release, ...], at: datetime) -> Release | None:
    """The release the file held at `at` (history oldest first), None before the first."""
    running = None
    for release in history:
        if release.committed_at <= at:
            running = release
    return running


def unhealthy(history: tuple[Release, ...], record: ServiceRecord) -> dict[str, str]:
    """Version -> why it never counts as stable (the first reason found)."""
    why: dict[str, str] = {}
    for incident in sorted(record.incidents, key=lambda i: i.opened_at):
        running = running_at(history, incident.opened_at)
        if running is not None:
            why.setdefault(
                running.version,
                f"incident {incident.id} opened while it ran "
                f"({format_instant(incident.opened_at)})",
            )
    for proposal in record.proposals:
        change = proposal.change
        # Approved, or merged since: either way a person rolled back from it.
        if proposal.kind == "rollback-rollout" and proposal.status in ("approved", "merged"):
            assert isinstance(change, VersionChange)
            why.setdefault(change.from_version, f"rolled back from by {proposal.id}")
    return why


def rollback_target(history: tuple[Release, ...], record: ServiceRecord) -> StableChoice | str:
    """The newest earlier version that was healthy, or why there is none."""
    if not history:
        return "the target file has no history"
    current = history[-1].version
    bad = unhealthy(history, record)
    for index in range(len(history) - 2, -1, -1):
        release = history[index]
        if release.version == current or release.version in bad:
            continue
        until = history[index + 1].committed_at
        return StableChoice(
            version=release.version,
            commit=release.commit,
            committed_at=release.committed_at,
            reason=(
                f"ran {_span(until - release.committed_at)} from "
                f"{format_instant(release.committed_at)} (commit {release.commit[:12]}) "
                f"until {format_instant(until)}; no incident opened while it ran and no "
                "rollback left it"
            ),
        )
    earlier = [r.version for r in history[:-1] if r.version != current]
    if not earlier:
        return f"the history holds no version before {current}"
    listed = "; ".join(f"{v}: {bad[v]}" for v in dict.fromkeys(reversed(earlier)))
    return f"no earlier version was healthy ({listed})"


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes}m"
    hours = minutes // 60
    return f"{hours}h" if hours < 48 else f"{hours // 24}d"
