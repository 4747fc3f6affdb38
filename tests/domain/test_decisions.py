"""`decide` on hand-made evaluations: what reconcile opens, escalates, proposes, freezes and
resolves for one service at one instant, and what it never does on missing data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from safedeploy.domain.burnrate import windows
from safedeploy.domain.catalog import SLO, Service
from safedeploy.domain.control import ServiceControl
from safedeploy.domain.decisions import (
    ACTOR,
    Decision,
    Refusal,
    decide,
    needs_versions,
    without_refused,
)
from safedeploy.domain.durations import format_duration
from safedeploy.domain.incidents import Incident, is_active, next_state, open_incident
from safedeploy.domain.measurements import Measurement
from safedeploy.domain.proposals import (
    PauseChange,
    Proposal,
    StableChoice,
    VersionChange,
    next_status,
)
from safedeploy.domain.slo import ServiceStatus, SLICounts, evaluate, service_status
from safedeploy.domain.stable_versions import ServiceRecord
from safedeploy.domain.versions import Release, Versions, VersionsFound, VersionsUnavailable
from testing.builders import checkout_service

T0 = datetime(2026, 11, 1, tzinfo=UTC)
Level = Literal["normal", "unknown", "slow-burn", "fast-burn", "exhausted"]
LEVELS: tuple[Level, ...] = ("normal", "unknown", "slow-burn", "fast-burn", "exhausted")


def versions(*releases: tuple[str, timedelta]) -> Versions:
    """The target file's history: (version, how long before T0 its commit was), oldest first."""
    return Versions(
        history=tuple(
            Release(version=v, commit=f"{n:040x}", committed_at=T0 - ago)
            for n, (v, ago) in enumerate(releases, start=1)
        ),
        source="env.git (apps/checkout/rollout.yaml)",
    )


VERSIONS = versions(("1.4.2", timedelta(days=2)), ("1.5.0", timedelta(hours=1)))

# Burn rate per window for each severity of the 30-day workbook table, and the share of the
# period budget spent. Every row is decided by these numbers alone.
BURNS: dict[Level, tuple[dict[str, float], float]] = {
    "normal": ({}, 0.2),
    "slow-burn": ({"1d": 4.0, "2h": 4.0}, 0.5),
    "fast-burn": ({"1h": 20.0, "5m": 20.0}, 0.6),
    "exhausted": ({"1h": 20.0, "5m": 20.0}, 1.25),
}
TOTAL = 100_000.0
PERIOD_TOTAL = 10_000_000.0


def make_service(**policy: Any) -> Service:
    return checkout_service(latency=True, **policy)


SERVICE = make_service()


def counts(slo: SLO, level: Level) -> dict[int, SLICounts]:
    """Counts for every window of `slo` whose evaluation lands on `level`."""
    budget = 1 - slo.objective
    out: dict[int, SLICounts] = {}
    for seconds in windows(slo):
        name = format_duration(seconds)
        if level == "unknown":
            failed = Measurement.failed("connection refused")
            out[seconds] = SLICounts(total=failed, errors=failed)
            continue
        burns, consumed = BURNS[level]
        total = PERIOD_TOTAL if name == slo.period else TOTAL
        burn = consumed if name == slo.period else burns.get(name, 0.1)
        bad = round(burn * budget * total)
        if slo.sli.kind == "availability":
            out[seconds] = SLICounts(total=Measurement.of(total), errors=Measurement.of(bad))
        else:
            out[seconds] = SLICounts(total=Measurement.of(total), good=Measurement.of(total - bad))
    return out


def status(
    availability: Level, latency: Level = "normal", *, at: datetime = T0, service: Service = SERVICE
) -> ServiceStatus:
    levels = {"availability": availability, "latency": latency}
    slos = tuple(
        evaluate(service.name, slo, counts(slo, levels[slo.name]), at) for slo in service.spec.slos
    )
    return service_status(service.name, slos, at)


@dataclass
class World:
    """What reconcile keeps between runs for one service: a faithful miniature of the store."""

    service: Service = SERVICE
    incident: Incident | None = None
    proposals: dict[str, Proposal] = field(default_factory=dict)
    control: ServiceControl = field(default_factory=lambda: ServiceControl(service="checkout"))
    history: list[Incident] = field(default_factory=list)

    def mine(self) -> tuple[Proposal, ...]:
        if self.incident is None:
            return ()
        # In file-name order, as the state store lists them.
        mine = [p for p in self.proposals.values() if p.incident_id == self.incident.id]
        return tuple(sorted(mine, key=lambda p: p.id))

    def step(
        self,
        seen: ServiceStatus,
        at: datetime,
        versions: VersionsFound | None = VERSIONS,
    ) -> Decision:
        decision = decide(
            self.service,
            seen,
            incident=self.incident,
            proposals=self.mine(),
            control=self.control,
            versions=versions,
            at=at,
            record=ServiceRecord(
                incidents=tuple(self.history), proposals=tuple(self.proposals.values())
            ),
        )
        self.apply(decision)
        return decision

    def apply(self, decision: Decision) -> None:
        for proposal in decision.new_proposals:
            assert proposal.id not in self.proposals, f"{proposal.id} proposed twice"
            self.proposals[proposal.id] = proposal
        self.control = decision.control
        incident = decision.incident
        if incident is not None and decision.incident_change == "opened":
            self.history.append(incident)
        elif incident is not None:
            self.history[-1] = incident
        self.incident = incident if incident is not None and is_active(incident) else None

    def mitigate(self, at: datetime) -> None:
        assert self.incident is not None
        self.incident = next_state(self.incident, "mitigate", at, "alice", "rolled back")
        self.history[-1] = self.incident


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


# -- the evaluations themselves ---------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_the_hand_made_counts_give_the_intended_severity(level: Level) -> None:
    assert status(level).severity == level


# -- opening, escalating, updating ------------------------------------------------------


@pytest.mark.parametrize("level", ["slow-burn", "fast-burn", "exhausted"])
def test_a_breach_opens_one_incident_named_after_the_service_and_minute(level: Level) -> None:
    world = World()
    decision = world.step(status(level), T0)
    assert decision.incident_change == "opened"
    incident = decision.incident
    assert incident is not None
    assert incident.id == "checkout-20261101t000000z"
    assert (incident.state, incident.severity, incident.slos) == (
        "detected",
        level,
        ("availability",),
    )
    opening = incident.transitions[0]
    assert (opening.event, opening.actor, opening.at) == ("open", ACTOR, T0)
    assert opening.reason == decision.reason
    assert decision.reason.startswith("availability: ")


def test_a_worse_breach_escalates_the_same_incident() -> None:
    world = World()
    world.step(status("slow-burn"), T0)
    fast = world.step(status("fast-burn"), minutes(5))
    exhausted = world.step(status("exhausted"), minutes(10))
    assert (fast.incident_change, exhausted.incident_change) == ("escalated", "escalated")
    assert exhausted.incident is not None
    assert exhausted.incident.id == "checkout-20261101t000000z"
    assert [(t.event, t.severity) for t in exhausted.incident.transitions] == [
        ("open", "slow-burn"),
        ("escalate", "fast-burn"),
        ("escalate", "exhausted"),
    ]
    assert len(world.history) == 1


def test_a_breach_on_another_slo_updates_the_incident_and_a_repeat_changes_nothing() -> None:
    world = World()
    first = world.step(status("fast-burn"), T0)
    both = world.step(status("fast-burn", "fast-burn"), minutes(1))
    again = world.step(status("fast-burn", "fast-burn"), minutes(2))
    assert both.incident_change == "updated"
    assert both.incident is not None and first.incident is not None
    assert both.incident.slos == ("availability", "latency")
    assert both.incident.transitions[-1].event == "update"
    assert again.incident_change is None
    assert again.incident == both.incident


def test_a_milder_breach_keeps_the_worst_severity_seen() -> None:
    world = World()
    world.step(status("exhausted"), T0)
    milder = world.step(status("slow-burn"), minutes(1))
    assert milder.incident is not None
    assert milder.incident.severity == "exhausted"
    assert milder.incident_change is None


def test_a_run_older_than_the_incident_leaves_it_alone() -> None:
    world = World()
    world.step(status("fast-burn"), minutes(10))
    late = world.step(status("exhausted"), minutes(5))
    assert late.incident_change is None
    assert late.new_proposals == ()
    assert any("before incident checkout-20261101t001000z" in n for n in late.notes)


# -- unknown ----------------------------------------------------------------------------


def test_unknown_never_opens_anything() -> None:
    decision = World().step(status("unknown"), T0)
    assert decision.severity == "unknown"
    assert (decision.incident, decision.incident_change, decision.new_proposals) == (
        None,
        None,
        (),
    )
    assert decision.verdict.decision == "UNKNOWN"


@pytest.mark.parametrize("state", ["detected", "mitigated"])
def test_unknown_neither_closes_nor_proposes(state: str) -> None:
    world = World()
    opened = world.step(
        status("fast-burn"), T0, versions=VersionsUnavailable(reason="env.git: unreachable")
    )
    assert [p.kind for p in opened.new_proposals] == ["block-promotion"]
    if state == "mitigated":
        world.mitigate(minutes(1))
    before = world.incident
    decision = world.step(status("unknown"), minutes(120))
    assert decision.incident == before
    assert decision.incident_change is None
    assert decision.new_proposals == (), "the missing rollback waits for real data"
    assert decision.control.normal_since is None
    assert not needs_versions(status("unknown"), ())


# -- proposals --------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["fast-burn", "exhausted"])
def test_fast_burn_and_exhaustion_propose_a_rollback_to_the_stable_version(level: Level) -> None:
    decision = World().step(status(level), T0)
    kinds = {p.kind: p for p in decision.new_proposals}
    assert set(kinds) == {"rollback-rollout", "block-promotion"}
    rollback = kinds["rollback-rollout"]
    assert rollback.id == "checkout-20261101t000000z-rollback-rollout"
    assert rollback.change == VersionChange(
        path="apps/checkout/rollout.yaml",
        kind="rollout",
        from_version="1.5.0",
        to_version="1.4.2",
        chosen=StableChoice(
            version="1.4.2",
            commit=f"{1:040x}",
            committed_at=T0 - timedelta(days=2),
            reason="ran 47h from 2026-10-30T00:00:00Z (commit 000000000000) until "
            "2026-10-31T23:00:00Z; no incident opened while it ran and no rollback left it",
        ),
    )
    assert rollback.status == "proposed"
    assert "; roll 1.5.0 back to 1.4.2, which ran 47h from 2026-10-30" in rollback.reason
    expected_rule = (
        "budget-exhausted (availability)"
        if level == "exhausted"
        else "fast-burn 1h/5m over 14.4 (availability)"
    )
    assert rollback.rule == expected_rule
    assert decision.proposals == decision.new_proposals


def test_slow_burn_never_proposes_a_rollback() -> None:
    decision = World().step(status("slow-burn"), T0)
    assert [p.kind for p in decision.new_proposals] == ["block-promotion"]
    assert not needs_versions(status("slow-burn"), ())


def test_block_promotion_names_the_failed_rule_and_its_numbers() -> None:
    decision = World().step(status("slow-burn"), T0)
    assert decision.verdict.decision == "RED"
    block = decision.new_proposals[0]
    assert block.change == PauseChange()
    assert block.rule == "max-burn-rate"
    assert "availability: 1d burn rate 4.00, limit 2" in block.reason


def test_a_green_verdict_blocks_nothing() -> None:
    lenient = make_service(max_burn_rate=5)
    decision = World(service=lenient).step(status("slow-burn", service=lenient), T0)
    assert decision.incident_change == "opened"
    assert decision.verdict.decision == "GREEN"
    assert decision.new_proposals == ()


@pytest.mark.parametrize(
    ("versions", "why", "undecided"),
    [
        (
            VersionsUnavailable(reason="cannot read env.git: connection refused"),
            "connection refused",
            True,
        ),
        (None, "the environment repo was not read", True),
        (versions(("1.5.0", timedelta(hours=1))), "holds no version before 1.5.0", False),
    ],
)
def test_without_a_stable_version_a_note_explains_and_no_rollback_is_made(
    versions: VersionsFound | None, why: str, undecided: bool
) -> None:
    decision = World().step(status("fast-burn"), T0, versions=versions)
    assert [p.kind for p in decision.new_proposals] == ["block-promotion"]
    assert len(decision.notes) == 1
    assert decision.notes[0].startswith("rollback not proposed: ")
    assert why in decision.notes[0]
    # An unread repo means the run could not decide; a repo with no earlier version did.
    assert (decision.undecided == decision.notes[0]) is undecided


def test_at_most_one_proposal_per_incident_and_kind() -> None:
    world = World()
    world.step(status("slow-burn"), T0)
    world.step(status("fast-burn"), minutes(1))
    world.step(status("exhausted"), minutes(2))
    world.step(status("fast-burn", "exhausted"), minutes(3))
    assert sorted(world.proposals) == [
        "checkout-20261101t000000z-block-promotion",
        "checkout-20261101t000000z-rollback-rollout",
    ]
    assert not needs_versions(status("exhausted"), world.mine())


def test_a_rollback_missed_for_want_of_versions_is_made_on_a_later_run() -> None:
    world = World()
    world.step(status("fast-burn"), T0, versions=VersionsUnavailable(reason="repo unreachable"))
    later = world.step(status("fast-burn"), minutes(1))
    assert [p.kind for p in later.new_proposals] == ["rollback-rollout"]
    assert later.notes == ()


# -- freeze windows ---------------------------------------------------------------------


def test_exhaustion_enters_a_freeze_and_extends_it_while_exhausted() -> None:
    world = World()
    entered = world.step(status("exhausted"), T0)
    assert entered.control.freeze_until == T0 + timedelta(days=1)
    extended = world.step(status("exhausted"), minutes(30))
    assert extended.control.freeze_until == minutes(30) + timedelta(days=1)
    after = world.step(status("fast-burn"), minutes(60))
    assert after.control.freeze_until == minutes(30) + timedelta(days=1)
    freeze = [r for r in after.verdict.rules if r.rule == "freeze-window"]
    assert freeze[0].outcome == "fail"
    assert "release freeze until 2026-11-02T00:30:00Z" in freeze[0].detail


def test_an_older_run_never_shortens_the_freeze() -> None:
    world = World()
    world.step(status("exhausted"), minutes(60))
    older = world.step(status("exhausted"), minutes(10))
    assert older.control.freeze_until == minutes(60) + timedelta(days=1)


def test_the_freeze_length_comes_from_the_policy() -> None:
    short = make_service(freeze="2h")
    decision = World(service=short).step(status("exhausted", service=short), T0)
    assert decision.control.freeze_until == T0 + timedelta(hours=2)


def test_no_freeze_without_exhaustion() -> None:
    world = World()
    levels: tuple[Level, ...] = ("fast-burn", "slow-burn", "normal", "unknown")
    for n, level in enumerate(levels):
        assert world.step(status(level), minutes(n)).control.freeze_until is None


# -- automatic resolution ---------------------------------------------------------------


def mitigated_world() -> World:
    world = World()
    world.step(status("fast-burn"), T0)
    world.mitigate(minutes(5))
    return world


def test_a_mitigated_incident_resolves_after_the_stable_period_of_normal() -> None:
    world = mitigated_world()
    first = world.step(status("normal"), minutes(10))
    assert first.control.normal_since == minutes(10)
    almost = world.step(status("normal"), minutes(69))
    assert (almost.incident_change, world.incident is not None) == (None, True)
    resolved = world.step(status("normal"), minutes(70))
    assert resolved.incident_change == "resolved"
    assert resolved.incident is not None
    assert resolved.incident.state == "resolved"
    last = resolved.incident.transitions[-1]
    assert (last.event, last.actor, last.at) == ("resolve", ACTOR, minutes(70))
    assert "every SLO normal since 2026-11-01T00:10:00+00:00 (stable period 1h)" in last.reason
    assert resolved.new_proposals == ()
    assert world.incident is None


@pytest.mark.parametrize("interruption", ["unknown", "slow-burn"])
def test_anything_but_normal_restarts_the_stable_streak(interruption: Level) -> None:
    world = mitigated_world()
    world.step(status("normal"), minutes(10))
    broken = world.step(status(interruption), minutes(40))
    assert broken.control.normal_since is None
    again = world.step(status("normal"), minutes(50))
    assert again.control.normal_since == minutes(50)
    assert world.step(status("normal"), minutes(70)).incident_change is None
    assert world.step(status("normal"), minutes(110)).incident_change == "resolved"


def test_an_incident_nobody_mitigated_is_never_resolved_automatically() -> None:
    world = World()
    world.step(status("fast-burn"), T0)
    world.step(status("normal"), minutes(10))
    later = world.step(status("normal"), minutes(600))
    assert later.incident is not None
    assert later.incident.state == "detected"
    assert later.incident_change is None


def test_the_stable_period_comes_from_the_policy() -> None:
    world = World(service=make_service(stable_period="15m"))
    world.step(status("fast-burn"), T0)
    world.mitigate(minutes(1))
    world.step(status("normal"), minutes(2))
    assert world.step(status("normal"), minutes(16)).incident_change is None
    assert world.step(status("normal"), minutes(17)).incident_change == "resolved"


def test_a_new_breach_after_resolution_opens_a_new_incident() -> None:
    world = mitigated_world()
    world.step(status("normal"), minutes(10))
    world.step(status("normal"), minutes(70))
    reopened = world.step(status("slow-burn"), minutes(80))
    assert reopened.incident_change == "opened"
    assert reopened.incident is not None
    assert reopened.incident.id == "checkout-20261101t012000z"
    assert [i.state for i in world.history] == ["resolved", "detected"]


def test_an_incident_reopened_in_the_same_second_gets_a_new_id() -> None:
    """Ids carry the second and a sequence: a new incident never takes an old one's file."""
    world = World()
    first = world.step(status("fast-burn"), T0)
    assert first.incident is not None
    resolved = next_state(first.incident, "mitigate", T0, "alice", "rolled back")
    world.incident = next_state(resolved, "resolve", T0, "alice", "fixed")
    world.history[-1] = world.incident
    world.incident = None
    again = world.step(status("fast-burn"), T0)
    assert again.incident_change == "opened" and again.incident is not None
    assert again.incident.id == f"{first.incident.id}-2"
    assert {p.incident_id for p in again.new_proposals} == {again.incident.id}


# -- a mitigation that did not help ------------------------------------------------------


def test_still_burning_fast_after_the_mitigation_timeout_escalates_to_investigating() -> None:
    world = mitigated_world()  # mitigated at minute 5
    within = world.step(status("fast-burn"), minutes(34))
    assert within.incident_change != "mitigation-failed"
    assert world.incident is not None and world.incident.state == "mitigated"
    late = world.step(status("fast-burn"), minutes(35))
    assert late.incident_change == "mitigation-failed"
    assert late.incident is not None and late.incident.state == "investigating"
    step = late.incident.transitions[-1]
    assert (step.event, step.actor) == ("mitigation-failed", "safedeploy-reconcile")
    assert "still burning fast 30m after it was mitigated" in step.reason
    # Once escalated, a person has it: the next run does not escalate again.
    after = world.step(status("fast-burn"), minutes(36))
    assert after.incident_change != "mitigation-failed"


def test_a_slow_burn_after_the_mitigation_is_not_a_failed_one() -> None:
    """Slow-burn windows lag by hours after a fix: they do not say the rollback failed."""
    world = mitigated_world()
    late = world.step(status("slow-burn"), minutes(90))
    assert late.incident_change != "mitigation-failed"
    assert world.incident is not None and world.incident.state == "mitigated"


def test_the_mitigation_timeout_is_the_services_policy() -> None:
    patient = SERVICE.model_copy(
        update={
            "spec": SERVICE.spec.model_copy(
                update={
                    "policy": SERVICE.spec.policy.model_copy(update={"mitigation_timeout": "2h"})
                }
            )
        }
    )
    world = World(service=patient)
    world.step(status("fast-burn"), T0)
    world.mitigate(minutes(5))
    assert world.step(status("fast-burn"), minutes(60)).incident_change != "mitigation-failed"
    assert world.step(status("fast-burn"), minutes(125)).incident_change == "mitigation-failed"


# -- properties -------------------------------------------------------------------------

step_strategy = st.tuples(
    st.sampled_from(LEVELS), st.integers(min_value=1, max_value=90), st.booleans()
)
versions_strategy = st.sampled_from(
    [VERSIONS, VersionsUnavailable(reason="env.git: unreachable"), None]
)


def drive(world: World, steps: list[tuple[Level, int, bool]]) -> datetime:
    """Run `steps` (severity, minutes later, mitigate afterwards); return the last instant."""
    at = T0
    for level, gap, mitigate in steps:
        at += timedelta(minutes=gap)
        world.step(status(level, at=at), at)
        if mitigate and world.incident is not None and world.incident.state != "mitigated":
            world.mitigate(at)
    return at


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(step_strategy, max_size=8),
    level=st.sampled_from(LEVELS),
    latency=st.sampled_from(LEVELS),
    versions=versions_strategy,
)
def test_deciding_twice_at_the_same_instant_changes_nothing(
    steps: list[tuple[Level, int, bool]],
    level: Level,
    latency: Level,
    versions: VersionsFound | None,
) -> None:
    world = World()
    at = drive(world, steps) + timedelta(minutes=1)
    seen = status(level, latency, at=at)
    first = world.step(seen, at, versions)
    incident, proposals, control = world.incident, dict(world.proposals), world.control
    second = world.step(seen, at, versions)
    assert second.new_proposals == ()
    assert second.incident_change is None
    assert world.incident == incident
    assert world.proposals == proposals
    assert second.control == control == first.control
    # Once the first decision resolves the incident, the second has no incident and so
    # none of its proposals to list: only an incident still open must look the same.
    if first.incident is not None and is_active(first.incident):
        assert second.incident == first.incident
        assert second.proposals == first.proposals, "the order must not depend on the store"
    else:
        assert second.proposals == ()


class ReconcileMachine(RuleBasedStateMachine):
    """Random evaluations at increasing instants, with humans mitigating now and then."""

    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.at = T0
        self.last: Decision | None = None

    @rule(
        level=st.sampled_from(LEVELS),
        latency=st.sampled_from(LEVELS),
        gap=st.integers(min_value=1, max_value=120),
        versions=versions_strategy,
    )
    def evaluate(
        self, level: Level, latency: Level, gap: int, versions: VersionsFound | None
    ) -> None:
        self.at += timedelta(minutes=gap)
        before = (self.world.incident, self.world.control.freeze_until)
        self.last = self.world.step(status(level, latency, at=self.at), self.at, versions)
        if self.last.severity == "unknown":
            assert self.last.new_proposals == ()
            assert self.last.incident_change is None
            assert self.world.incident == before[0]
            assert self.world.control.freeze_until == before[1]

    @rule(gap=st.integers(min_value=0, max_value=30))
    def mitigate(self, gap: int) -> None:
        incident = self.world.incident
        if incident is not None and incident.state != "mitigated":
            self.at += timedelta(minutes=gap)
            self.world.mitigate(self.at)

    @invariant()
    def at_most_one_active_incident(self) -> None:
        active = [i for i in self.world.history if is_active(i)]
        assert len(active) <= 1
        assert (active[0] if active else None) == self.world.incident

    @invariant()
    def proposals_belong_to_incidents_once_per_kind(self) -> None:
        ids = {i.id for i in self.world.history}
        keys = [(p.incident_id, p.kind) for p in self.world.proposals.values()]
        assert len(keys) == len(set(keys))
        assert {incident for incident, _ in keys} <= ids

    @invariant()
    def rollbacks_only_with_versions(self) -> None:
        for proposal in self.world.proposals.values():
            if proposal.kind == "rollback-rollout":
                assert isinstance(proposal.change, VersionChange)
                assert (proposal.change.from_version, proposal.change.to_version) == (
                    "1.5.0",
                    "1.4.2",
                )


ReconcileMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None
)
TestReconcileMachine = ReconcileMachine.TestCase


# --- the rollback target comes from the record, never merely the commit before --------------


def test_after_a_merged_rollback_the_next_incident_never_goes_back_to_the_bad_version() -> None:
    world = World()
    bad_release = versions(
        ("1.3.0", timedelta(days=3)), ("1.4.2", timedelta(days=2)), ("1.5.0", timedelta(hours=1))
    )
    first = world.step(status("fast-burn"), T0, versions=bad_release)
    rollback = next(p for p in first.new_proposals if p.kind == "rollback-rollout")
    assert isinstance(rollback.change, VersionChange) and rollback.change.to_version == "1.4.2"
    world.proposals[rollback.id] = next_status(rollback, "approve", minutes(5), "alice", "ok")
    world.mitigate(minutes(5))
    world.step(status("normal"), minutes(30))
    world.step(status("normal"), minutes(100))  # resolved after the stable period
    assert world.incident is None
    # The rollback merged: the file went back to 1.4.2, which then burns again.
    merged = Versions(
        history=(
            *bad_release.history,
            Release(version="1.4.2", commit="f" * 40, committed_at=minutes(10)),
        ),
        source="env.git",
    )
    again = world.step(status("fast-burn"), minutes(24 * 60), versions=merged)
    [second] = [p for p in again.new_proposals if p.kind == "rollback-rollout"]
    assert isinstance(second.change, VersionChange)
    assert (second.change.from_version, second.change.to_version) == ("1.4.2", "1.3.0")
    assert second.change.chosen is not None
    assert second.change.chosen.commit == f"{1:040x}"


def test_with_no_healthy_version_nothing_is_proposed_and_the_note_says_why() -> None:
    world = World()
    two = versions(("1.4.2", timedelta(days=2)), ("1.5.0", timedelta(hours=1)))
    earlier = open_incident_at(T0 - timedelta(days=1))  # while 1.4.2 ran
    world.history.append(earlier)
    decision = world.step(status("fast-burn"), T0, versions=two)
    assert [p.kind for p in decision.new_proposals] == ["block-promotion"]
    assert decision.notes == (
        "rollback not proposed: apps/checkout/rollout.yaml in env.git (apps/checkout/rollout."
        f"yaml): no earlier version was healthy (1.4.2: incident {earlier.id} opened while it "
        "ran (2026-10-31T00:00:00Z))",
    )


def open_incident_at(at: datetime) -> Incident:

    resolved = open_incident(
        "checkout", "fast-burn", ("availability",), at, actor=ACTOR, reason="x"
    )
    return resolved


def test_block_promotion_is_proposed_only_where_a_pause_can_be_written() -> None:
    helm = checkout_service(latency=True).model_copy(deep=True)
    helm = Service.model_validate(
        {
            **helm.model_dump(),
            "spec": {
                **helm.spec.model_dump(),
                "target": {"path": "apps/checkout/values.yaml", "kind": "helm"},
            },
        }
    )
    decision = World(service=helm).step(status("fast-burn", service=helm), T0)
    assert [p.kind for p in decision.new_proposals] == ["rollback-rollout"]
    assert decision.verdict.decision == "RED"
    assert decision.notes == (
        "promotion blocked (the gate says no); block-promotion not proposed: a helm target "
        "has no pause safedeploy can write, only a Rollout",
    )


def test_a_proposal_whose_change_cannot_be_applied_is_dropped_with_its_reason() -> None:
    decision = World().step(status("fast-burn"), T0)
    rollback = next(p for p in decision.new_proposals if p.kind == "rollback-rollout")
    why = "apps/checkout/rollout.yaml:34: spec.template.spec.containers[checkout].image: ..."
    refused = without_refused(decision, {rollback.id: Refusal(kind="rollback-rollout", reason=why)})
    assert [p.kind for p in refused.new_proposals] == ["block-promotion"]
    assert [p.kind for p in refused.proposals] == ["block-promotion"]
    assert refused.notes[-1] == f"rollback-rollout not proposed: {why}"
    assert refused.refused == (Refusal(kind="rollback-rollout", reason=why),)
    assert without_refused(decision, {}) is decision
