from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from pydantic import ValidationError

from safedeploy.domain.incidents import (
    EVENTS,
    STATES,
    TRANSITIONS,
    Incident,
    IncidentEvent,
    IncidentState,
    incident_id,
    is_active,
    is_safe_id,
    next_state,
    open_incident,
)
from safedeploy.domain.severity import INCIDENT_SEVERITIES as SEVERITIES
from safedeploy.domain.severity import IncidentSeverity
from safedeploy.errors import BadInputError, IllegalTransitionError

T0 = datetime(2026, 11, 1, tzinfo=UTC)

# How to reach each state from a fresh incident, through legal edges only.
PATHS: dict[IncidentState, tuple[IncidentEvent, ...]] = {
    "detected": (),
    "investigating": ("acknowledge",),
    "mitigated": ("acknowledge", "mitigate"),
    "resolved": ("acknowledge", "mitigate", "resolve"),
    "postmortem-complete": ("acknowledge", "mitigate", "resolve", "complete-postmortem"),
}


def incident_in(state: IncidentState, severity: IncidentSeverity = "slow-burn") -> Incident:
    incident = open_incident(
        "checkout", severity, ("availability",), T0, actor="reconcile", reason="1d/2h burn 3"
    )
    for minutes, event in enumerate(PATHS[state], start=1):
        incident = next_state(incident, event, T0 + timedelta(minutes=minutes), "alice", "step")
    assert incident.state == state
    return incident


def severity_for(event: IncidentEvent) -> IncidentSeverity | None:
    # slow-burn -> exhausted is a real escalation and a real update, so both edges apply.
    return "exhausted" if event in {"escalate", "update"} else None


LEGAL = sorted(TRANSITIONS.items())
ILLEGAL = sorted(
    (state, event) for state in STATES for event in EVENTS if (state, event) not in TRANSITIONS
)


def test_the_table_reaches_every_state_and_ends_in_postmortem() -> None:
    assert {target for _, target in LEGAL} == set(STATES)
    assert not [edge for edge, _ in LEGAL if edge[0] == "postmortem-complete"]
    assert {target for (state, _), target in LEGAL if state == "resolved"} == {
        "postmortem-complete"
    }


@pytest.mark.parametrize(("edge", "target"), LEGAL, ids=[f"{s}-{e}" for (s, e), _ in LEGAL])
def test_every_legal_edge(edge: tuple[IncidentState, IncidentEvent], target: str) -> None:
    state, event = edge
    before = incident_in(state)
    at = T0 + timedelta(hours=1)
    after = next_state(before, event, at, "bob", "because", severity=severity_for(event))
    assert after.state == target
    assert after.updated_at == at
    last = after.transitions[-1]
    assert (last.from_state, last.to_state, last.event) == (state, target, event)
    assert (last.actor, last.reason, last.at) == ("bob", "because", at)
    assert before.transitions == after.transitions[:-1], "history is only appended to"
    assert Incident.model_validate_json(after.model_dump_json()) == after


@pytest.mark.parametrize("edge", ILLEGAL, ids=[f"{s}-{e}" for s, e in ILLEGAL])
def test_every_illegal_edge_is_refused(edge: tuple[IncidentState, IncidentEvent]) -> None:
    state, event = edge
    incident = incident_in(state)
    with pytest.raises(IllegalTransitionError) as caught:
        next_state(
            incident, event, T0 + timedelta(hours=1), "bob", "no", severity=severity_for(event)
        )
    message = str(caught.value)
    assert incident.id in message
    assert state in message
    assert event in message


def test_escalate_must_raise_severity() -> None:
    incident = incident_in("investigating", severity="fast-burn")
    with pytest.raises(IllegalTransitionError, match="cannot escalate from fast-burn to slow"):
        next_state(incident, "escalate", T0 + timedelta(hours=1), "r", "x", severity="slow-burn")
    escalated = next_state(
        incident, "escalate", T0 + timedelta(hours=1), "r", "x", severity="exhausted"
    )
    assert escalated.severity == "exhausted"
    assert escalated.state == "investigating"
    assert escalated.transitions[-1].severity == "exhausted"


def test_update_with_nothing_new_writes_nothing() -> None:
    incident = incident_in("detected")
    same = next_state(incident, "update", T0 + timedelta(hours=1), "reconcile", "again")
    assert same is incident


def test_update_records_new_slos_and_lower_severity() -> None:
    incident = incident_in("mitigated", severity="exhausted")
    updated = next_state(
        incident,
        "update",
        T0 + timedelta(hours=1),
        "reconcile",
        "latency too",
        severity="fast-burn",
        slos=("latency",),
    )
    assert updated.slos == ("availability", "latency")
    assert updated.severity == "fast-burn"
    assert updated.transitions[-1].event == "update"


def test_time_cannot_run_backwards() -> None:
    incident = incident_in("investigating")
    with pytest.raises(IllegalTransitionError, match="before the last transition"):
        next_state(incident, "mitigate", T0, "alice", "rolled back")


def test_ids_are_deterministic_and_file_name_safe() -> None:
    paris = timezone(timedelta(hours=1))
    assert incident_id("checkout", T0) == "checkout-20261101t000000z"
    assert incident_id("checkout", datetime(2026, 11, 1, 1, tzinfo=paris)) == incident_id(
        "checkout", T0
    )
    assert incident_in("detected").id == "checkout-20261101t000000z"
    assert incident_id("checkout", T0 + timedelta(seconds=7), 3) == "checkout-20261101t000007z-3"


def test_a_new_incident_never_takes_a_taken_id() -> None:
    taken = {"checkout-20261101t000000z", "checkout-20261101t000000z-2"}
    opened = open_incident("checkout", "fast-burn", ("availability",), T0, actor="a", reason="r")
    again = open_incident(
        "checkout", "fast-burn", ("availability",), T0, actor="a", reason="r", taken=taken
    )
    assert opened.id == "checkout-20261101t000000z"
    assert again.id == "checkout-20261101t000000z-3"
    # A second later is a new second: no sequence needed.
    later = open_incident(
        "checkout", "fast-burn", (), T0 + timedelta(seconds=1), actor="a", reason="r", taken=taken
    )
    assert later.id == "checkout-20261101t000001z"


@pytest.mark.parametrize(
    ("stored", "valid"),
    [
        ("checkout-20261101t0000z", True),  # written before ids carried seconds
        ("checkout-20261101t000000z", True),
        ("checkout-20261101t000000z-2", True),
        ("checkout-20261101t000000z-1", False),  # the first of a second has no sequence
        ("checkout-20261101t000001z", False),  # not the opening second
        ("checkout-20261101t0001z", False),  # not the opening minute
        ("search-20261101t000000z", False),  # not the service
    ],
)
def test_old_ids_stay_readable_and_others_are_refused(stored: str, valid: bool) -> None:
    data = incident_in("detected").model_dump(mode="json")
    data["id"] = stored
    if valid:
        assert Incident.model_validate(data).id == stored
    else:
        with pytest.raises(ValidationError, match="id must be"):
            Incident.model_validate(data)


@pytest.mark.parametrize(
    "bad", ["", "../etc", "a/b", ".hidden", "a..b", "Checkout", "a.json", "-x", "x-", "a\\b"]
)
def test_unsafe_ids_are_rejected(bad: str) -> None:
    assert not is_safe_id(bad)


def test_bad_service_names_are_refused() -> None:
    with pytest.raises(ValueError, match="DNS label"):
        incident_id("../checkout", T0)


def test_is_active() -> None:
    assert [s for s in STATES if is_active(incident_in(s))] == [
        "detected",
        "investigating",
        "mitigated",
    ]


@pytest.mark.parametrize("state", STATES)
def test_round_trip(state: IncidentState) -> None:
    incident = incident_in(state)
    assert Incident.model_validate_json(incident.model_dump_json()) == incident


def test_a_summary_that_disagrees_with_the_history_is_refused() -> None:
    data = incident_in("mitigated").model_dump(mode="json")
    data["state"] = "resolved"
    with pytest.raises(ValidationError, match="state and severity must match"):
        Incident.model_validate(data)


def test_a_file_with_an_unknown_field_is_refused() -> None:
    data = incident_in("detected").model_dump(mode="json")
    data["owner"] = "someone"
    with pytest.raises(ValidationError, match="owner"):
        Incident.model_validate(data)


def test_unsafe_ids_raise_bad_input() -> None:
    from safedeploy.domain.incidents import check_id

    with pytest.raises(BadInputError, match="not file-name safe"):
        check_id("../x")


class IncidentMachine(RuleBasedStateMachine):
    """Drives incidents for a few services the way reconcile and humans would.

    The model keeps at most one active incident per service by the same rule reconcile
    follows (a breach updates an active incident, else opens a new one); the machine must
    make that rule enough.
    """

    services = ("checkout", "payments")

    def __init__(self) -> None:
        super().__init__()
        self.clock = T0
        self.incidents: dict[str, Incident] = {}

    def tick(self, minutes: int) -> datetime:
        self.clock += timedelta(minutes=minutes)
        return self.clock

    def active_for(self, service: str) -> list[Incident]:
        return [i for i in self.incidents.values() if i.service == service and is_active(i)]

    @rule(
        service=st.sampled_from(services),
        severity=st.sampled_from(SEVERITIES),
        minutes=st.integers(1, 90),
    )
    def breach(self, service: str, severity: IncidentSeverity, minutes: int) -> None:
        at = self.tick(minutes)
        active = self.active_for(service)
        if active:
            current = active[0]
            updated = next_state(current, "update", at, "reconcile", "breach", severity=severity)
            self.incidents[current.id] = updated
        else:
            opened = open_incident(service, severity, ("availability",), at, actor="r", reason="b")
            assert opened.id not in self.incidents
            self.incidents[opened.id] = opened

    @precondition(lambda self: bool(self.incidents))
    @rule(
        data=st.data(),
        event=st.sampled_from(EVENTS),
        severity=st.sampled_from(SEVERITIES),
        minutes=st.integers(0, 30),
    )
    def human(
        self, data: st.DataObject, event: IncidentEvent, severity: IncidentSeverity, minutes: int
    ) -> None:
        key = data.draw(st.sampled_from(sorted(self.incidents)))
        before = self.incidents[key]
        at = self.tick(minutes)
        try:
            after = next_state(before, event, at, "alice", "by hand", severity=severity)
        except IllegalTransitionError:
            legal = (before.state, event) in TRANSITIONS
            assert not legal or event == "escalate", "only illegal edges may be refused"
            return
        assert (before.state, event) in TRANSITIONS
        if not is_active(before):
            assert not is_active(after), "a closed incident never reopens"
        if before.state == "postmortem-complete":
            raise AssertionError("postmortem-complete has no way out")
        self.incidents[key] = after

    @invariant()
    def transitions_are_timestamped_in_order(self) -> None:
        for incident in self.incidents.values():
            stamps = [t.at for t in incident.transitions]
            assert stamps == sorted(stamps)
            assert incident.updated_at == stamps[-1]
            assert incident.state == incident.transitions[-1].to_state

    @invariant()
    def at_most_one_active_incident_per_service(self) -> None:
        for service in self.services:
            assert len(self.active_for(service)) <= 1

    @invariant()
    def files_round_trip(self) -> None:
        for incident in self.incidents.values():
            assert Incident.model_validate_json(incident.model_dump_json()) == incident


IncidentMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_incident_machine = IncidentMachine.TestCase


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.integers(min_value=0, max_value=180_000_000),  # microseconds into three minutes
        min_size=1,
        max_size=12,
    )
)
def test_incidents_opened_at_any_instants_never_share_an_id(offsets: list[int]) -> None:
    """Opened one after another, each knowing the ids before it, as reconcile opens them:
    however close together (the same second, the same minute), every id is new, and every
    incident reads back from its file as itself."""
    taken: list[str] = []
    for offset in offsets:
        at = T0 + timedelta(microseconds=offset)
        opened = open_incident(
            "checkout", "fast-burn", ("availability",), at, actor="a", reason="r", taken=taken
        )
        assert opened.id not in taken
        assert Incident.model_validate_json(opened.model_dump_json()) == opened
        taken.append(opened.id)
    assert len(set(taken)) == len(offsets)
