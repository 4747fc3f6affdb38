"""increase() must agree with Prometheus 2.42; the parity test against a real server lives in
tests/testing/test_prometheus_fixture.py, these pin the edge rules and the invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from safedeploy.domain.increase import (
    delta,
    increase,
    increase_indexed,
    rate,
    reset_counts,
)

STEP = 60.0


def regular(values: list[float], start: float = 0.0) -> tuple[list[float], list[float]]:
    return [start + i * STEP for i in range(len(values))], values


def test_fewer_than_two_samples_is_no_data_not_zero() -> None:
    assert increase([], [], 0, 300) is None
    assert increase([100.0], [5.0], 0, 300) is None
    assert increase([0.0, 600.0], [1.0, 2.0], 100, 500) is None


def test_samples_on_both_edges_are_inside_the_range() -> None:
    times, values = regular([10, 20, 30])
    assert increase(times, values, 0, 120) == 20
    # Moving the start one millisecond past the first sample drops it: 10 over 60 s,
    # extrapolated back across the 59.999 s gap.
    assert increase(times, values, 0.001, 120) == pytest.approx(10 * (60 + 59.999) / 60)
    # And moving the end one millisecond before the last sample drops that one.
    assert increase(times, values, 0, 119.999) == pytest.approx(10 * (60 + 59.999) / 60)


def test_extrapolates_to_edges_within_the_threshold() -> None:
    times, values = regular([100, 110, 120], start=30)
    # 30 s gaps on each side are under 1.1 x 60 s: extrapolate all the way, 20 over 120 s.
    assert increase(times, values, 0, 180) == pytest.approx(20 * 180 / 120)


def test_gaps_beyond_the_threshold_extrapolate_half_an_interval() -> None:
    times, values = regular([100, 110, 120], start=600)
    assert increase(times, values, 0, 2_000) == pytest.approx(20 * (120 + 60) / 120)


def test_zero_point_limit_applies_before_the_threshold_in_2_42() -> None:
    # First value 8 and slope 10/min: the counter was 0 forty-eight seconds before the
    # first sample. The 100 s gap to the range start is over the 66 s threshold, but 2.42
    # limits it to 48 s first and then extrapolates those 48 s; later versions would add
    # only half an interval (30 s) and give 25. A real 2.42 server answers 28.
    times, values = regular([8, 18, 28], start=100)
    assert increase(times, values, 0, 220) == pytest.approx(28)


def test_counter_reset_adds_the_value_before_the_drop() -> None:
    times, values = regular([100, 160, 10, 40])
    assert increase(times, values, 0, 180) == 60 + 10 + 30


def test_delta_does_not_correct_resets() -> None:
    times, values = regular([100, 160, 10, 40])
    assert delta(times, values, 0, 180) == -60


def test_rate_is_increase_per_second() -> None:
    times, values = regular([0, 60, 120])
    assert rate(times, values, 0, 120) == 1.0


increments = st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, max_size=60)


def cumulative(steps: list[int], start: int = 0) -> list[float]:
    total, out = start, []
    for step in steps:
        total += step
        out.append(float(total))
    return out


@st.composite
def counter_with_resets(draw: st.DrawFn) -> list[float]:
    values = cumulative(draw(increments), draw(st.integers(0, 1_000_000)))
    for index in draw(st.lists(st.integers(1, len(values) - 1), max_size=3)):
        base = values[index - 1]
        values[index:] = [v - base for v in values[index:]]
    return [max(v, 0.0) for v in values]


@given(counter_with_resets(), st.floats(-500, 500), st.floats(0, 500))
def test_counter_increase_is_never_negative(
    values: list[float], start_shift: float, end_shift: float
) -> None:
    times, _ = regular(values)
    result = increase(times, values, times[0] + start_shift, times[-1] + end_shift)
    assert result is None or result >= 0


@given(increments, st.integers(0, 1_000_000), st.data())
def test_a_detected_reset_changes_nothing(
    steps: list[int], start: int, data: st.DataObject
) -> None:
    steps = [max(step, 1) for step in steps]
    true_values = cumulative(steps, start)
    at = data.draw(st.integers(1, len(true_values) - 1))
    base = true_values[at - 1]
    restarted = true_values[:at] + [v - base for v in true_values[at:]]
    # A restart only shows when the new value is below the old one.
    assume(restarted[at] < restarted[at - 1])
    times, _ = regular(true_values)
    end = times[-1] + data.draw(st.floats(0, 30))
    begin = data.draw(st.floats(-300, 0))
    assert increase(times, restarted, begin, end) == pytest.approx(
        increase(times, true_values, begin, end), rel=1e-12
    )


@given(counter_with_resets(), st.data())
def test_increase_is_additive_over_sample_aligned_ranges(
    values: list[float], data: st.DataObject
) -> None:
    assume(len(values) >= 3)
    times, _ = regular(values)
    middle = data.draw(st.integers(1, len(values) - 2))
    left = increase(times, values, times[0], times[middle])
    right = increase(times, values, times[middle], times[-1])
    whole = increase(times, values, times[0], times[-1])
    assert left is not None and right is not None and whole is not None
    assert left + right == pytest.approx(whole, rel=1e-12, abs=1e-9)


@given(counter_with_resets(), st.floats(0, 1_000), st.floats(0, 1_000))
def test_extrapolation_stays_within_one_gap_and_a_tenth_on_each_side(
    values: list[float], before: float, after: float
) -> None:
    times, _ = regular(values)
    raw = increase(times, values, times[0], times[-1])
    result = increase(times, values, times[0] - before, times[-1] + after)
    assert raw is not None and result is not None
    sampled = times[-1] - times[0]
    gap = sampled / (len(times) - 1)
    assert raw - 1e-9 <= result <= raw * (sampled + 2 * 1.1 * gap) / sampled + 1e-9


@given(counter_with_resets(), st.floats(0.001, 1_000))
def test_scaling_values_scales_the_increase(values: list[float], factor: float) -> None:
    times, _ = regular(values)
    scaled = [v * factor for v in values]
    result = increase(times, values, -45, times[-1] + 20)
    assert result is not None
    assert increase(times, scaled, -45, times[-1] + 20) == pytest.approx(result * factor)
    assert not math.isnan(result)


# The indexed fast path answers exactly as `increase()`: same counter, same window.
T0 = 1_793_491_200.0
_steps = st.lists(
    st.one_of(st.integers(min_value=0, max_value=50), st.just(-1)), min_size=1, max_size=60
)


@settings(max_examples=300, deadline=None)
@given(
    _steps,
    st.integers(min_value=0, max_value=1000),
    st.sampled_from([15, 60, 300]),
    st.integers(min_value=-600, max_value=4000),
    st.sampled_from([300, 1800, 3600]),
)
def test_indexed_increase_equals_increase(
    increments: list[int], first: int, gap: int, offset: int, window: int
) -> None:
    """-1 is a counter reset; `first` 0 starts the counter inside the range."""
    value, times, values = float(first), [], []
    for index, step in enumerate(increments):
        value = 0.0 if step < 0 else value + step
        times.append(T0 + index * gap)
        values.append(value)
    end = T0 + offset
    expected = increase(times, values, end - window, end)
    assert increase_indexed(times, values, reset_counts(values), end - window, end) == expected
