"""The replay's state machine over `decide`, and scoring against labelled windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safedeploy.domain.burnrate import windows
from safedeploy.domain.catalog import SLO
from safedeploy.domain.durations import format_duration
from safedeploy.domain.measurements import Measurement
from safedeploy.domain.simulation import (
    LabelledWindow,
    ServiceReplay,
    SimulatedIncident,
    instants,
    replay_step,
    score,
)
from safedeploy.domain.slo import ServiceStatus, SLICounts, evaluate, service_status
from testing.builders import checkout_service

T0 = datetime(2026, 11, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
Level = Literal["normal", "slow-burn", "fast-burn", "exhausted", "unknown"]
# Burn rate per window and the share of the period budget spent, for each severity.
BURNS: dict[str, tuple[dict[str, float], float]] = {
    "normal": ({}, 0.2),
    "slow-burn": ({"1d": 4.0, "2h": 4.0}, 0.5),
    "fast-burn": ({"1h": 20.0, "5m": 20.0}, 0.6),
    "exhausted": ({"1h": 20.0, "5m": 20.0}, 1.25),
}

SERVICE = checkout_service(stable_period="30m")


def counts(slo: SLO, level: Level) -> dict[int, SLICounts]:
    out: dict[int, SLICounts] = {}
    for seconds in windows(slo):
        name = format_duration(seconds)
        if level == "unknown":
            failed = Measurement.failed("connection refused")
            out[seconds] = SLICounts(total=failed, errors=failed)
            continue
        burns, consumed = BURNS[level]
        total = 10_000_000.0 if name == slo.period else 100_000.0
        burn = consumed if name == slo.period else burns.get(name, 0.1)
        bad = round(burn * (1 - slo.objective) * total)
        out[seconds] = SLICounts(total=Measurement.of(total), errors=Measurement.of(bad))
    return out


def status(level: Level, at: datetime) -> ServiceStatus:
    slo = SERVICE.spec.slos[0]
    return service_status(SERVICE.name, (evaluate(SERVICE.name, slo, counts(slo, level), at),), at)


def minutes_of(*runs: tuple[Level, int]) -> list[Level]:
    """`("normal", 3), ("fast-burn", 2)`: one level per minute."""
    return [level for level, count in runs for _ in range(count)]


def replay(levels: list[Level]) -> ServiceReplay:
    state = ServiceReplay.start(SERVICE.name)
    for minute, level in enumerate(levels):
        state = replay_step(SERVICE, status(level, T0 + minute * MINUTE), state)
    return state


def test_an_incident_opens_escalates_and_resolves_after_the_stable_period() -> None:
    levels = minutes_of(("normal", 3), ("slow-burn", 2), ("fast-burn", 2), ("normal", 40))
    (incident,) = replay(levels).history
    assert incident.opened_at == T0 + 3 * MINUTE
    assert incident.severity == "slow-burn"
    assert [(e.at, e.severity) for e in incident.escalations] == [(T0 + 5 * MINUTE, "fast-burn")]
    assert incident.rollback_proposed_at == T0 + 5 * MINUTE
    # Normal from minute 7; the stable period is 30m.
    assert incident.resolved_at == T0 + 37 * MINUTE


def test_a_new_breach_after_resolution_opens_a_second_incident() -> None:
    levels = minutes_of(("fast-burn", 1), ("normal", 31), ("fast-burn", 1))
    first, second = replay(levels).history
    assert first.resolved_at == T0 + 31 * MINUTE
    assert second.opened_at == T0 + 32 * MINUTE
    assert second.resolved_at is None


def test_a_breach_before_the_stable_period_keeps_the_incident_open() -> None:
    levels = minutes_of(("fast-burn", 1), ("normal", 20), ("slow-burn", 1), ("normal", 20))
    (incident,) = replay(levels).history
    assert incident.resolved_at is None


def test_missing_data_opens_nothing() -> None:
    assert replay(["unknown"] * 10).history == ()


def test_instants_cover_the_range_at_each_step() -> None:
    steps = instants(T0, T0 + 10 * MINUTE, 5 * MINUTE)
    assert steps == [T0, T0 + 5 * MINUTE, T0 + 10 * MINUTE]
    assert instants(T0, T0 + 9 * MINUTE, 5 * MINUTE) == [T0, T0 + 5 * MINUTE]
    with pytest.raises(ValueError):
        instants(T0, T0 + MINUTE, timedelta(0))


def test_a_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end must be after start"):
        LabelledWindow(service="checkout", start=T0, end=T0)


def incident(minute: int, service: str = "checkout") -> SimulatedIncident:
    at = T0 + minute * MINUTE
    return SimulatedIncident(
        id=f"{service}-{at:%Y%m%dt%H%Mz}",
        service=service,
        opened_at=at,
        severity="fast-burn",
        reason="r",
    )


def window(start: int, length: int, service: str = "checkout") -> LabelledWindow:
    return LabelledWindow(
        service=service, start=T0 + start * MINUTE, end=T0 + (start + length) * MINUTE
    )


def test_scoring_by_example() -> None:
    found = score(
        "checkout",
        [incident(5), incident(12), incident(100)],
        [window(0, 30), window(200, 10), window(2000, 10), window(5, 5, service="search")],
        start=T0,
        end=T0 + 1000 * MINUTE,
    )
    assert [d.outcome for d in found.windows] == ["detected", "missed", "out-of-range"]
    assert found.windows[0].incident == incident(5).id
    assert found.detection_seconds == (300.0,)
    assert found.false_positives == (incident(100).id,)
    assert found.misses == (window(200, 10),)


def test_both_ends_of_a_window_belong_to_it() -> None:
    at_start = score("checkout", [incident(10)], [window(10, 5)], start=T0, end=T0 + 60 * MINUTE)
    assert at_start.detection_seconds == (0.0,) and at_start.false_positives == ()
    at_end = score("checkout", [incident(15)], [window(10, 5)], start=T0, end=T0 + 60 * MINUTE)
    assert at_end.detection_seconds == (300.0,) and at_end.false_positives == ()


def inside(one: SimulatedIncident, labelled: LabelledWindow) -> bool:
    return labelled.start <= one.opened_at <= labelled.end


RANGE_END = 24 * 60
minutes = st.integers(min_value=-120, max_value=RANGE_END + 120)
incidents_st = st.lists(st.builds(incident, minutes), max_size=8, unique_by=lambda i: i.id)
windows_st = st.lists(
    st.builds(
        window,
        minutes,
        st.integers(min_value=1, max_value=600),
        st.sampled_from(["checkout", "search"]),
    ),
    max_size=6,
)


@given(incidents_st, windows_st)
def test_scoring_properties(
    incidents: list[SimulatedIncident], labelled: list[LabelledWindow]
) -> None:
    found = score("checkout", incidents, labelled, start=T0, end=T0 + RANGE_END * MINUTE)
    mine = [w for w in labelled if w.service == "checkout"]
    assert len(found.windows) == len(mine)
    for detection in found.windows:
        if detection.seconds is not None:
            # Never negative, never later than the window itself.
            assert (
                0
                <= detection.seconds
                <= (detection.window.end - detection.window.start).total_seconds()
            )
        opened_inside = [i for i in incidents if inside(i, detection.window)]
        assert (detection.outcome == "detected") == bool(opened_inside)
        if detection.outcome == "detected":
            first = min(opened_inside, key=lambda i: i.opened_at)
            assert detection.incident == first.id
    for one in incidents:
        in_any = any(inside(one, w) for w in mine)
        # An incident inside a window is never a false positive, and one outside every
        # window of its service always is.
        assert (one.id in found.false_positives) == (not in_any)
    # Every window is detected, missed or out of range; only windows of this service count.
    outcomes = [d.outcome for d in found.windows]
    assert len(found.misses) == outcomes.count("missed")
    assert len(found.detection_seconds) == outcomes.count("detected")
