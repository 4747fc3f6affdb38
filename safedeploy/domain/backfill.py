"""A reconcile at an instant before the last run's: history, never the present.

The summary and the control state are the latest decision. A run at an earlier instant
that wrote them showed a service failing now as GREEN beside its open incident. Such a
run is a dry run unless asked for with `--backfill`, and a backfill records only what the
past instant measured (the metrics and budget audit streams, once per service and
instant): no incident, proposal, evidence, control state, summary or notification moves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.instants import format_instant
from safedeploy.errors import BadInputError

Mode = Literal["live", "dry-run", "backfill"]


class Backfilled(BaseModel):
    """`control-plane/state/backfilled.json`: the past instants a backfill recorded per
    service, so that a rerun records nothing twice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    instants: dict[str, tuple[datetime, ...]] = {}

    def has(self, service: str, at: datetime) -> bool:
        return at in self.instants.get(service, ())

    def adding(self, service: str, at: datetime) -> Backfilled:
        recorded = tuple(sorted({*self.instants.get(service, ()), at}))
        return self.model_copy(update={"instants": {**self.instants, service: recorded}})


def run_mode(
    latest: datetime | None, at: datetime, *, dry_run: bool, backfill: bool
) -> tuple[Mode, str | None]:
    """How a reconcile at `at` runs, given the last run's instant, and the note saying why
    when it is not what was asked."""
    past = latest is not None and at < latest
    if backfill and not past:
        last = format_instant(latest) if latest is not None else "none yet"
        raise BadInputError(
            f"--backfill: {format_instant(at)} is not before the last run's instant ({last}); "
            "reconcile it without --backfill"
        )
    if dry_run:
        return "dry-run", None
    if backfill:
        return "backfill", None
    if past:
        assert latest is not None
        return "dry-run", (
            f"{format_instant(at)} is before the last run's instant {format_instant(latest)}: "
            "a dry run, nothing written (--backfill records what that instant measured)"
        )
    return "live", None
