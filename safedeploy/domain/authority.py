"""Who may decide for a service: its approvers and its owner, as the catalog names them.

An entry is a user (a GitHub login, or a principal of the allowed-signers file) or a
GitHub team, `@org/team`. Users are matched here; teams need GitHub's answer on
membership, which the use case asks for and passes in. The same rule holds for approving,
rejecting and moving an incident, and for every service alike, so an approver of one
service has no say over another's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from safedeploy.domain.catalog import Service


class Team(NamedTuple):
    org: str
    slug: str

    def __str__(self) -> str:
        return f"@{self.org}/{self.slug}"


def team_of(entry: str) -> Team | None:
    """`@acme/payments` as a team; None for a user."""
    if not entry.startswith("@") or "/" not in entry:
        return None
    org, _, slug = entry[1:].partition("/")
    return Team(org, slug)


def deciders(service: Service) -> tuple[str, ...]:
    """The approvers, then the owner, each once."""
    return tuple(dict.fromkeys((*service.metadata.approvers, service.metadata.owner)))


def matching_entry(
    actor: str,
    service: Service,
    *,
    case_insensitive: bool,
    member_of: Callable[[Team], bool] | None,
) -> str | None:
    """The first entry that gives `actor` authority over `service`, or None.

    GitHub logins are case-insensitive, signer principals are not. `member_of` answers for
    teams; without it (no GitHub), a team entry gives nobody authority.
    """
    fold = str.casefold if case_insensitive else str
    for entry in deciders(service):
        team = team_of(entry)
        if team is None and fold(entry) == fold(actor):
            return entry
    if member_of is None:
        return None
    for entry in deciders(service):
        team = team_of(entry)
        if team is not None and member_of(team):
            return entry
    return None


def who_may(service: Service) -> str:
    """`approvers: alice, @acme/sre; owner: team-payments`, for refusals."""
    approvers = ", ".join(service.metadata.approvers) or "none"
    return f"approvers: {approvers}; owner: {service.metadata.owner}"
