"""Who has a say over a service: its approvers and owner, users matched here, teams asked."""

from __future__ import annotations

from safedeploy.domain.authority import Team, deciders, matching_entry, team_of, who_may
from safedeploy.domain.catalog import Service
from testing.builders import checkout_service


def with_people(owner: str, *approvers: str) -> Service:
    service = checkout_service()
    metadata = service.metadata.model_copy(update={"owner": owner, "approvers": approvers})
    return service.model_copy(update={"metadata": metadata})


def test_teams_are_at_org_slash_slug_and_everyone_else_a_user() -> None:
    assert team_of("@acme/sre") == Team("acme", "sre")
    assert str(Team("acme", "sre")) == "@acme/sre"
    assert team_of("alice") is None
    assert team_of("alice@example.com") is None  # a signer's principal, not a team


def test_approvers_then_the_owner_each_once() -> None:
    assert deciders(with_people("alice", "bob", "alice")) == ("bob", "alice")
    assert who_may(with_people("team-x")) == "approvers: none; owner: team-x"


def test_users_match_exactly_unless_logins_fold_case() -> None:
    service = with_people("team-x", "Alice")
    assert matching_entry("alice", service, case_insensitive=False, member_of=None) is None
    assert matching_entry("alice", service, case_insensitive=True, member_of=None) == "Alice"
    assert matching_entry("team-x", service, case_insensitive=False, member_of=None) == "team-x"


def test_a_team_counts_only_when_asked_and_the_answer_is_yes() -> None:
    service = with_people("@acme/payments", "@acme/sre")
    asked: list[Team] = []

    def member_of(team: Team) -> bool:
        asked.append(team)
        return team.slug == "payments"

    # Without GitHub there is nobody to ask: a team gives nobody a say.
    assert matching_entry("bob", service, case_insensitive=True, member_of=None) is None
    found = matching_entry("bob", service, case_insensitive=True, member_of=member_of)
    assert found == "@acme/payments"
    assert asked == [Team("acme", "sre"), Team("acme", "payments")]


def test_a_user_entry_is_found_before_any_team_is_asked() -> None:
    service = with_people("team-x", "@acme/sre", "bob")

    def never(team: Team) -> bool:
        raise AssertionError(f"{team} asked although bob is listed")

    assert matching_entry("bob", service, case_insensitive=True, member_of=never) == "bob"
