"""May this person decide this? Identity first, then authority from the record.

Every human decision (approve, reject, an incident transition) goes through `decider`
before anything is read from the environment repository or written: who is acting
(`identity.py`), and whether the service's approvers or owner, as the state repository's
HEAD holds its definition, include them, a GitHub team counting when GitHub says they
are an active member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from safedeploy.domain.authority import Team, deciders, matching_entry, team_of, who_may
from safedeploy.domain.catalog import Service
from safedeploy.errors import NotAuthorizedError
from safedeploy.usecases.committed import Record, committed_service, read_record, uncommitted_note
from safedeploy.usecases.context import Context
from safedeploy.usecases.identity import Identity, confirm, establish


@dataclass(frozen=True)
class Decider:
    """Who decides, the service as the record defines it, and the record itself."""

    identity: Identity
    service: Service
    record: Record

    @property
    def signs(self) -> bool:
        """Whether the decision's state commit must be signed by the actor."""
        return self.identity.method == "signature"

    def confirm(self, ctx: Context, sha: str | None) -> None:
        confirm(ctx, self.record, self.identity, sha)


def decider(ctx: Context, by: str | None, service: str, what: str, at: datetime) -> Decider:
    """The proven actor, refused unless the service's record gives them a say in `what`."""
    record = read_record(ctx)
    identity = establish(ctx, record, by, what, at)
    defined = committed_service(ctx, record, service)
    member_of = None
    client = ctx.github if identity.method == "github" else None
    if client is not None:

        def member_of(team: Team) -> bool:
            return client.is_team_member(team.org, team.slug, identity.actor)

    found = matching_entry(
        identity.actor,
        defined,
        case_insensitive=identity.method == "github",
        member_of=member_of,
    )
    if found is None:
        teams = any(team_of(entry) for entry in deciders(defined))
        unchecked = (
            " (teams are checked only with the github provider)" if teams and not client else ""
        )
        raise NotAuthorizedError(
            f"{identity.label} may not {what}: not an approver or owner of {defined.name} "
            f"{record.where} ({who_may(defined)}){unchecked}"
            f"{uncommitted_note(ctx, record, defined.name)}"
        )
    return Decider(identity, defined, record)
