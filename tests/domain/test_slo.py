"""SLO math on hand-made counts: exact numbers, every severity with its reason, and the
rule that thin or missing data is unknown, never normal and never a breach."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from safedeploy.domain.burnrate import AlertRow, alert_rows, windows
from safedeploy.domain.catalog import SLO
from safedeploy.domain.durations import format_duration
from safedeploy.domain.measurements import Measurement
from safedeploy.domain.severity import ORDER as SEVERITY_ORDER
from safedeploy.domain.slo import (
    Budget,
    SLICounts,
    SLOStatus,
    evaluate,
    service_status,
    short_minimum,
    window_minimums,
    window_status,
)

AT = datetime(2026, 11, 1, tzinfo=UTC)
TOTAL = 100_000.0
PERIOD_TOTAL = 1_000_000.0


def availability(**fields: object) -> SLO:
    data: dict[str, object] = {
        "name": "availability",
        "objective": 0.999,
        "period": "30d",
        "min_events": 100,
        "sli": {
            "errors": 'http_requests_total{service="checkout", code=~"5.."}',
            "total": 'http_requests_total{service="checkout"}',
        },
    }
    data.update(fields)
    return SLO.model_validate(data)


def latency(**fields: object) -> SLO:
    data: dict[str, object] = {
        "name": "latency",
        "objective": 0.99,
        "sli": {"histogram": 'http_request_duration_seconds{service="checkout"}', "threshold": 0.3},
    }
    data.update(fields)
    return SLO.model_validate(data)


def burning(slo: SLO, burns: Mapping[str, float] | None = None) -> dict[int, SLICounts]:
    """Counts for every window the SLO needs: `burns` maps a window to its burn rate."""
    budget = 1 - slo.objective
    burns = burns or {}
    counts = {}
    for seconds in windows(slo):
        name = format_duration(seconds)
        total = PERIOD_TOTAL if name == slo.period else TOTAL
        errors = round(burns.get(name, 0.0) * budget * total)
        counts[seconds] = SLICounts(total=Measurement.of(total), errors=Measurement.of(errors))
    return counts


def replaced(counts: dict[int, SLICounts], window: str, **fields: Any) -> dict[int, SLICounts]:
    seconds = next(s for s in counts if format_duration(s) == window)
    return {**counts, seconds: counts[seconds].model_copy(update=fields)}


# Exact numbers


def test_window_numbers() -> None:
    status = window_status(
        SLICounts(total=Measurement.of(TOTAL), errors=Measurement.of(1_600)),
        objective=0.999,
        min_events=100,
        window="5m",
    )
    assert status.total == TOTAL
    assert status.errors == 1_600
    assert status.error_ratio == pytest.approx(0.016, rel=1e-12)
    assert status.sli == pytest.approx(0.984, rel=1e-12)
    assert status.burn_rate == pytest.approx(16.0, rel=1e-12)
    assert status.reason is None


def test_budget_is_the_period_ratio_over_the_budget() -> None:
    counts = replaced(
        burning(availability()),
        "30d",
        errors=Measurement.of(420),
        total=Measurement.of(PERIOD_TOTAL),
    )
    status = evaluate("checkout", availability(), counts, AT)
    assert status.budget.consumed == pytest.approx(0.42, rel=1e-12)
    assert status.budget.remaining == pytest.approx(0.58, rel=1e-12)
    assert status.windows["30d"].burn_rate == pytest.approx(0.42, rel=1e-12)
    assert status.severity == "normal"
    assert status.reason.endswith("58% budget left")


def test_status_carries_identity_and_every_window() -> None:
    status = evaluate("checkout", availability(), burning(availability()), AT)
    assert (status.service, status.slo, status.kind) == ("checkout", "availability", "availability")
    assert (status.objective, status.period, status.at) == (0.999, "30d", AT)
    assert list(status.windows) == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert [v.windows for v in status.alerts] == ["1h/5m", "6h/30m", "1d/2h", "3d/6h"]
    assert all(v.state == "ok" for v in status.alerts)


# Each severity and its reason


@pytest.mark.parametrize(
    ("burns", "severity", "reason"),
    [
        ({"1h": 15, "5m": 16}, "fast-burn", "1h/5m burn rate 15.00/16.00 over 14.4"),
        ({"6h": 7, "30m": 8, "1h": 10}, "fast-burn", "6h/30m burn rate 7.00/8.00 over 6"),
        ({"1d": 4, "2h": 5}, "slow-burn", "1d/2h burn rate 4.00/5.00 over 3"),
        ({"3d": 1.5, "6h": 2}, "slow-burn", "3d/6h burn rate 1.50/2.00 over 1"),
        # A long window over its factor with a calm short one: the burn has stopped.
        ({"1h": 20, "5m": 1}, "normal", "highest burn rate 20.00 of 14.4 (1h/5m)"),
        ({"3d": 3, "6h": 0.5}, "normal", "highest burn rate 3.00 of 1 (3d/6h)"),
        ({}, "normal", "highest burn rate"),
    ],
)
def test_severity_and_reason(burns: dict[str, float], severity: str, reason: str) -> None:
    status = evaluate("checkout", availability(), burning(availability(), burns), AT)
    assert status.severity == severity
    assert status.reason.startswith(reason), status.reason


def test_fast_burn_wins_over_slow_burn() -> None:
    burns = {"1h": 15, "5m": 16, "1d": 4, "2h": 5}
    status = evaluate("checkout", availability(), burning(availability(), burns), AT)
    assert status.severity == "fast-burn"
    states = {v.windows: v.state for v in status.alerts}
    assert states == {"1h/5m": "breached", "6h/30m": "ok", "1d/2h": "breached", "3d/6h": "ok"}


def test_exhausted_wins_over_every_burn() -> None:
    counts = burning(availability(), {"1h": 15, "5m": 16, "30d": 1.2})
    status = evaluate("checkout", availability(), counts, AT)
    assert status.severity == "exhausted"
    assert status.reason == "error budget exhausted: 120% of the 30d budget spent"
    assert status.budget.consumed == pytest.approx(1.2, rel=1e-12)
    assert status.budget.remaining == pytest.approx(-0.2, rel=1e-9)


def test_exactly_the_whole_budget_is_exhausted() -> None:
    status = evaluate("checkout", availability(), burning(availability(), {"30d": 1.0}), AT)
    assert status.budget.remaining == pytest.approx(0.0, abs=1e-12)
    assert status.severity == "exhausted"


def test_twenty_eight_day_factors_apply() -> None:
    burns = {"1h": 14, "5m": 14}  # over 13.44 (28d), under 14.4 (30d)
    thirty = evaluate("c", availability(), burning(availability(), burns), AT)
    slo28 = availability(period="28d")
    twenty_eight = evaluate("c", slo28, burning(slo28, burns), AT)
    assert thirty.severity == "normal"
    assert twenty_eight.severity == "fast-burn"
    assert twenty_eight.reason == "1h/5m burn rate 14.00/14.00 over 13.44"
    assert "28d" in twenty_eight.windows and "30d" not in twenty_eight.windows


def test_per_service_rows_replace_the_defaults() -> None:
    slo = availability(
        alerts=[{"severity": "fast-burn", "long": "2h", "short": "10m", "factor": 20}]
    )
    # 1h/5m would breach the default table; the service's own row does not look at it.
    assert evaluate("c", slo, burning(slo, {"2h": 15, "10m": 15}), AT).severity == "normal"
    breach = evaluate("c", slo, burning(slo, {"2h": 25, "10m": 30}), AT)
    assert breach.severity == "fast-burn"
    assert breach.reason == "2h/10m burn rate 25.00/30.00 over 20"
    assert list(breach.windows) == ["10m", "2h", "30d"]


# Thin or missing data


def test_low_traffic_everywhere_is_unknown_even_when_every_event_failed() -> None:
    slo = availability()
    counts = {
        s: SLICounts(total=Measurement.of(50), errors=Measurement.of(50)) for s in windows(slo)
    }
    status = evaluate("c", slo, counts, AT)
    assert status.severity == "unknown"
    # The short windows hold enough for their part; no long window holds min_events.
    assert status.reason == "1h: 50 events, fewer than min_events 100"
    assert status.budget.consumed is None and status.budget.remaining is None
    assert all(v.state == "unknown" for v in status.alerts)
    assert status.windows["5m"].burn_rate == pytest.approx(1000)
    assert status.windows["1h"].total == 50
    assert status.windows["1h"].burn_rate is None and status.windows["1h"].sli is None


def test_the_short_window_needs_min_events_in_proportion_not_the_long_windows_count() -> None:
    slo = availability()
    assert [short_minimum(100, row) for row in alert_rows(slo)] == [9, 9, 9, 9]
    assert window_minimums(100, alert_rows(slo), 30 * 86_400) == {
        300: 9,
        1_800: 9,
        3_600: 100,
        7_200: 9,
        21_600: 100,  # long in 6h/30m: its strictest part
        86_400: 100,
        259_200: 100,
        2_592_000: 100,
    }
    assert short_minimum(1, alert_rows(slo)[0]) == 1


def test_low_traffic_in_one_short_window_is_unknown_not_normal() -> None:
    counts = replaced(burning(availability()), "5m", total=Measurement.of(8))
    status = evaluate("c", availability(), counts, AT)
    assert status.severity == "unknown"
    assert status.reason == "5m: 8 events, fewer than the short-window minimum 9"
    assert {v.windows: v.state for v in status.alerts}["1h/5m"] == "unknown"


def test_ten_requests_a_minute_half_failing_pages_on_the_1h_5m_row() -> None:
    """50 events in 5m, 600 in 1h: under the old rule the 5m window was unknown for ever."""
    slo = availability()
    counts = burning(slo)
    counts = replaced(counts, "5m", total=Measurement.of(50), errors=Measurement.of(25))
    counts = replaced(counts, "1h", total=Measurement.of(600), errors=Measurement.of(60))
    status = evaluate("c", slo, counts, AT)
    assert status.severity == "fast-burn"
    assert status.reason == "1h/5m burn rate 100.00/500.00 over 14.4"


def test_a_long_window_below_min_events_keeps_its_row_unknown() -> None:
    slo = availability()
    counts = replaced(burning(slo, {"1h": 50, "5m": 50}), "1h", total=Measurement.of(99))
    status = evaluate("c", slo, counts, AT)
    assert {v.windows: v.state for v in status.alerts}["1h/5m"] == "unknown"
    assert status.reason == "1h: 99 events, fewer than min_events 100"


def test_a_window_long_in_one_row_serves_as_short_in_another_with_fewer_events() -> None:
    slo = availability()
    counts = burning(slo, {"3d": 5})
    # 50 events in 6h: too few for the 6h/30m row, enough (9) for 6h as the short of 3d/6h.
    counts = replaced(counts, "6h", total=Measurement.of(50), errors=Measurement.of(5))
    status = evaluate("c", slo, counts, AT)
    rows = {v.windows: v for v in status.alerts}
    assert rows["6h/30m"].state == "unknown"
    assert rows["3d/6h"].state == "breached"
    assert rows["3d/6h"].short_burn_rate == pytest.approx(100)
    assert status.windows["6h"].cause == "low-traffic"
    assert status.severity == "slow-burn"


def test_a_thin_short_window_cannot_breach() -> None:
    counts = replaced(
        burning(availability(), {"1h": 50}),
        "5m",
        total=Measurement.of(8),
        errors=Measurement.of(8),
    )
    status = evaluate("c", availability(), counts, AT)
    assert status.severity == "unknown"


def test_min_events_is_inclusive() -> None:
    counts = replaced(burning(availability()), "1h", total=Measurement.of(100))
    assert evaluate("c", availability(), counts, AT).severity == "normal"
    counts = replaced(burning(availability()), "5m", total=Measurement.of(9))
    assert evaluate("c", availability(), counts, AT).severity == "normal"


@given(
    min_events=st.integers(min_value=1, max_value=10_000),
    long=st.integers(min_value=60, max_value=30 * 86_400),
    share=st.floats(min_value=0.001, max_value=1.0),
)
def test_the_short_minimum_is_the_long_minimum_in_proportion(
    min_events: int, long: int, share: float
) -> None:
    short = max(1, int(long * share))
    row = AlertRow(severity="fast-burn", long=long, short=short, factor=14.4)
    found = short_minimum(min_events, row)
    assert 1 <= found <= min_events
    # Steady traffic that just fills the long window's minimum fills the short one's.
    assert found - 1 < min_events * short / long <= found


@pytest.mark.parametrize(
    "total",
    [Measurement.failed("http://prom/api/v1/query timed out"), Measurement.empty()],
)
def test_missing_total_is_unknown(total: Measurement) -> None:
    counts = replaced(burning(availability(), {"1h": 15, "5m": 16}), "1h", total=total)
    status = evaluate("c", availability(), counts, AT)
    assert status.severity == "unknown"
    assert status.reason == f"1h: no data for the total ({total.reason})"
    assert status.windows["1h"].burn_rate is None and status.windows["1h"].total is None


def test_failed_errors_are_unknown() -> None:
    failure = Measurement.failed("http://prom/api/v1/query: HTTP 503")
    counts = replaced(burning(availability()), "30d", errors=failure)
    status = evaluate("c", availability(), counts, AT)
    assert status.severity == "unknown"
    assert status.reason == "30d: no data for the errors (http://prom/api/v1/query: HTTP 503)"
    assert status.budget.consumed is None


def test_whole_source_down_is_unknown() -> None:
    slo = availability()
    failure = Measurement.failed("http://127.0.0.1:9/api/v1/query failed: cannot connect")
    counts = {s: SLICounts(total=failure, errors=failure) for s in windows(slo)}
    status = evaluate("c", slo, counts, AT)
    assert status.severity == "unknown"
    assert "127.0.0.1:9" in status.reason
    assert service_status("c", (status,), AT).severity == "unknown"


def test_errors_matching_nothing_with_a_known_total_count_as_zero() -> None:
    slo = availability()
    counts = {
        s: SLICounts(total=Measurement.of(TOTAL), errors=Measurement.empty()) for s in windows(slo)
    }
    status = evaluate("c", slo, counts, AT)
    assert status.severity == "normal"
    assert status.windows["5m"].errors == 0
    assert status.windows["5m"].sli == 1.0
    assert status.budget.consumed == 0.0 and status.budget.remaining == 1.0


def test_errors_above_total_are_unknown_never_clamped() -> None:
    status = window_status(
        SLICounts(total=Measurement.of(200), errors=Measurement.of(250)),
        objective=0.999,
        min_events=100,
        window="5m",
    )
    assert status.error_ratio is None and status.burn_rate is None and status.sli is None
    assert (status.cause, status.total) == ("bad-data", 200)
    assert status.reason == (
        "5m: errors (250) above the total (200): the source's counts contradict each other"
    )


def test_an_slo_with_errors_above_total_is_unknown_from_bad_data_not_exhausted() -> None:
    slo = availability()
    counts = replaced(burning(slo), "30d", errors=Measurement.of(PERIOD_TOTAL * 1.5))
    status = evaluate("c", slo, counts, AT)
    assert status.severity == "unknown" and status.no_data
    assert status.budget.consumed is None
    assert status.reason.startswith("30d: errors (1.5e+06) above the total (1e+06)")


@pytest.mark.parametrize("what", ["total", "errors"])
def test_one_untrue_answer_makes_a_burning_slo_unknown_not_a_rollback(what: str) -> None:
    """Every other window breaches the fast-burn row and spends the budget; one window's
    answer cannot be true (a NaN, a lie from a proxy): the SLO is unknown, its budget and
    rows too, and the windows still show the numbers they read."""
    slo = availability()
    burns = burning(slo, {"5m": 20.0, "1h": 20.0, "30d": 2.0})
    assert evaluate("c", slo, burns, AT).severity == "exhausted"
    lie = Measurement.invalid("Prometheus answered two series with service='c'")
    status = evaluate("c", slo, replaced(burns, "6h", **{what: lie}), AT)
    assert status.severity == "unknown" and status.no_data
    assert status.reason == f"6h: an untrue answer for the {what} ({lie.reason})"
    assert status.windows["6h"].cause == "bad-data"
    assert status.budget == Budget(consumed=None, remaining=None)
    assert {v.state for v in status.alerts} == {"unknown"}
    assert status.windows["1h"].burn_rate == pytest.approx(20.0)


def test_an_untrue_latency_bucket_makes_the_slo_unknown() -> None:
    slo = latency()
    counts = latency_counts(slo, 0.5)
    counts[3_600] = SLICounts(total=Measurement.of(TOTAL), good=Measurement.invalid("NaN"))
    status = evaluate("c", slo, counts, AT)
    assert status.severity == "unknown"
    assert status.reason == "1h: an untrue answer for the latency bucket (NaN)"


def test_errors_equal_to_the_total_up_to_float_noise_are_the_total() -> None:
    total = 0.1 + 0.2  # 0.30000000000000004: the same sum in another order
    status = window_status(
        SLICounts(total=Measurement.of(total * 1000), errors=Measurement.of(300.0000000000001)),
        objective=0.999,
        min_events=100,
        window="5m",
    )
    assert status.error_ratio == 1.0 and status.cause is None


def test_latency_good_above_total_is_unknown_not_a_perfect_sli() -> None:
    status = window_status(
        SLICounts(total=Measurement.of(1_000), good=Measurement.of(1_200)),
        objective=0.99,
        min_events=100,
        window="1h",
    )
    assert status.sli is None and status.cause == "bad-data"
    assert status.reason == (
        "1h: good events (1200) above the total (1000): the source's counts contradict each other"
    )


def latency_counts(slo: SLO, good_share: float) -> dict[int, SLICounts]:
    return {
        s: SLICounts(total=Measurement.of(TOTAL), good=Measurement.of(TOTAL * good_share))
        for s in windows(slo)
    }


def test_latency_numbers() -> None:
    status = evaluate("c", latency(), latency_counts(latency(), 0.98), AT)
    window = status.windows["1h"]
    assert window.sli == pytest.approx(0.98, rel=1e-12)
    assert window.error_ratio == pytest.approx(0.02, rel=1e-9)
    assert window.burn_rate == pytest.approx(2.0, rel=1e-9)
    assert window.errors == pytest.approx(2_000, rel=1e-9)
    assert status.kind == "latency"
    # 2x burn everywhere, the 30d period included: twice the budget already spent.
    assert status.severity == "exhausted"


def test_latency_fast_burn() -> None:
    slo = latency()
    counts = latency_counts(slo, 0.999)
    fast = SLICounts(total=Measurement.of(TOTAL), good=Measurement.of(TOTAL * 0.8))
    for window in ("5m", "1h"):
        counts = replaced(counts, window, good=fast.good)
    status = evaluate("c", slo, counts, AT)
    assert status.severity == "fast-burn"
    assert status.reason == "1h/5m burn rate 20.00/20.00 over 14.4"


@pytest.mark.parametrize(
    "good", [Measurement.empty(), Measurement.failed("HTTP 500"), None], ids=str
)
def test_latency_with_a_missing_bucket_is_unknown(good: Measurement | None) -> None:
    slo = latency()
    counts = {s: SLICounts(total=Measurement.of(TOTAL), good=good) for s in windows(slo)}
    status = evaluate("c", slo, counts, AT)
    assert status.severity == "unknown"
    assert "no data for the latency bucket" in status.reason
    assert "is the threshold a bucket?" in status.reason
    assert status.budget.remaining is None


def test_measurements_refuse_non_finite_or_negative_values() -> None:
    for bad in (math.nan, math.inf, -math.inf, -1.0):
        assert Measurement.of(bad).status == "invalid"
        with pytest.raises(ValidationError):
            Measurement(status="ok", value=bad)


# Properties

counts_values = st.floats(min_value=100, max_value=1e12, allow_nan=False)
shares = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(total=counts_values, low=shares, high=shares)
def test_burn_rate_is_monotone_in_errors(total: float, low: float, high: float) -> None:
    low, high = sorted((low, high))

    def burn(share: float) -> float:
        counts = SLICounts(total=Measurement.of(total), errors=Measurement.of(total * share))
        rate = window_status(counts, objective=0.999, min_events=100, window="1h").burn_rate
        assert rate is not None
        return rate

    assert burn(low) <= burn(high)


window_shares = st.lists(shares, min_size=8, max_size=8)


def availability_counts(slo: SLO, totals: list[float], errors: list[float]) -> dict[int, SLICounts]:
    return {
        s: SLICounts(total=Measurement.of(t), errors=Measurement.of(e))
        for s, t, e in zip(windows(slo), totals, errors, strict=True)
    }


@given(
    totals=st.lists(counts_values, min_size=8, max_size=8),
    base=window_shares,
    extra=window_shares,
    objective=st.sampled_from([0.9, 0.99, 0.995, 0.999, 0.9999]),
)
def test_more_errors_never_lower_the_severity(
    totals: list[float], base: list[float], extra: list[float], objective: float
) -> None:
    slo = availability(objective=objective)
    fewer = [t * b for t, b in zip(totals, base, strict=True)]
    # Never more errors than events: that is bad data, unknown by design.
    more = [min(f + t * x, t) for f, t, x in zip(fewer, totals, extra, strict=True)]
    before = evaluate("c", slo, availability_counts(slo, totals, fewer), AT)
    after = evaluate("c", slo, availability_counts(slo, totals, more), AT)
    assert "unknown" not in (before.severity, after.severity)
    assert SEVERITY_ORDER.index(after.severity) >= SEVERITY_ORDER.index(before.severity)


@given(
    totals=st.lists(counts_values, min_size=8, max_size=8),
    errors=window_shares,
    objective=st.floats(min_value=0.5, max_value=0.99999),
)
def test_consumed_plus_remaining_is_one(
    totals: list[float], errors: list[float], objective: float
) -> None:
    slo = availability(objective=objective)
    bad = [t * e for t, e in zip(totals, errors, strict=True)]
    status = evaluate("c", slo, availability_counts(slo, totals, bad), AT)
    assert status.budget.consumed is not None and status.budget.remaining is not None
    assert status.budget.consumed + status.budget.remaining == pytest.approx(1.0, abs=1e-9)


raw_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 50.0, 1e6]),
)
measurements = st.one_of(
    raw_values.map(Measurement.of),
    st.just(Measurement.empty()),
    st.just(Measurement.failed("down")),
)


def finite_or_null(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_or_null(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(finite_or_null(v) for v in value)
    return True


@given(
    totals=st.lists(measurements, min_size=8, max_size=8),
    bad=st.lists(measurements, min_size=8, max_size=8),
    kind=st.sampled_from(["availability", "latency"]),
)
def test_non_finite_measurements_never_reach_the_output(
    totals: list[Measurement], bad: list[Measurement], kind: str
) -> None:
    slo = availability() if kind == "availability" else latency()
    counts = {
        s: SLICounts(total=t, errors=b) if kind == "availability" else SLICounts(total=t, good=b)
        for s, t, b in zip(windows(slo), totals, bad, strict=True)
    }
    status = evaluate("c", slo, counts, AT)
    data = status.model_dump(mode="json")
    assert finite_or_null(data)
    json.dumps(data, allow_nan=False)
    if any(t.status != "ok" for t in totals):
        assert status.severity in {"unknown", "fast-burn", "slow-burn", "exhausted"}
        _breaches_only_on_known_windows(status)


def _breaches_only_on_known_windows(status: SLOStatus) -> None:
    for verdict in status.alerts:
        if verdict.state == "breached":
            assert verdict.long_burn_rate is not None and verdict.short_burn_rate is not None
