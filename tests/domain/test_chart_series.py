"""What the charts plot: the decision's own math at every instant, on grids that end at the
decision and reach back far enough to see the breach begin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from safedeploy.domain import layout
from safedeploy.domain.burnrate import AlertRow, alert_rows
from safedeploy.domain.chart_series import (
    BURN_SPAN,
    POINTS,
    budget_grid,
    budget_panel,
    burn_grid,
    burn_panel,
    chart_links,
    percent,
)
from safedeploy.domain.durations import parse_duration
from safedeploy.domain.measurements import Measurement
from safedeploy.domain.slo import SLICounts, evaluate, service_status, window_status
from testing.builders import checkout_service

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
SERVICE = checkout_service()
SLO = SERVICE.spec.slos[0]
ROWS = alert_rows(SLO)
PERIOD = parse_duration(SLO.period)


def counts(errors: float | None, total: float = 10_000) -> SLICounts:
    return SLICounts(
        total=Measurement.of(total),
        errors=Measurement.of(errors) if errors is not None else Measurement.failed("down"),
    )


@given(
    pair=st.sampled_from(ROWS),
    opened_ago=st.one_of(st.none(), st.integers(min_value=0, max_value=40 * 86_400)),
)
def test_a_burn_grid_ends_at_the_decision_and_shows_the_breach_begin(
    pair: AlertRow, opened_ago: int | None
) -> None:
    opened_at = None if opened_ago is None else AT - timedelta(seconds=opened_ago)
    grid = burn_grid(AT, pair, PERIOD, opened_at)
    assert grid.end == AT and grid.count == POINTS
    span = (grid.end - grid.start).total_seconds()
    assert span >= BURN_SPAN * pair.long
    cap = max(PERIOD, BURN_SPAN * pair.long)
    assert span <= cap + grid.step
    if opened_at is not None and opened_ago is not None and opened_ago + pair.long <= cap:
        # The incident's opening and a long window before it are in view.
        assert grid.start <= opened_at - timedelta(seconds=pair.long)


def test_a_burn_panel_plots_the_decisions_ratios_against_factor_times_budget() -> None:
    row = ROWS[0]
    grid = burn_grid(AT, row, PERIOD, None)
    ratios = [0.0001 * k for k in range(grid.count)]
    long = [counts(10_000 * r) for r in ratios]
    short = [counts(None)] * (grid.count - 1) + [counts(10_000 * ratios[-1])]
    status = evaluate("checkout", SLO, {w: counts(5) for w in (row.long, row.short, PERIOD)}, AT)
    panel = burn_panel(SLO, row, status.alerts[0], grid, (long, short), opened_at=AT)
    first, second = panel.lines
    assert (first.role, second.role) == ("long", "short")
    expected = [window_status(c, objective=0.999, min_events=100, window="1h") for c in long]
    assert list(first.values) == [s.error_ratio for s in expected]
    # An unknown instant stays unknown: a gap in the line, never a zero.
    assert second.values[:-1] == (None,) * (grid.count - 1)
    assert second.values[-1] == first.values[-1]
    [threshold] = panel.thresholds
    assert threshold.value == row.factor * 0.001
    assert f"{row.factor:g}x budget" in threshold.label
    assert [m.label for m in panel.markers] == ["incident opened"]
    assert panel.note is None
    assert percent(first.values[-1]) in panel.summary and status.alerts[0].state in panel.summary


def test_a_panel_without_any_data_says_why() -> None:
    row = ROWS[1]
    grid = burn_grid(AT, row, PERIOD, None)
    nothing = [SLICounts(total=Measurement.failed("Prometheus at http://p:9090 timed out"))]
    status = evaluate("checkout", SLO, {}, AT)
    assert status.alerts[1].state == "unknown"
    panel = burn_panel(
        SLO,
        row,
        status.alerts[1],
        grid,
        (nothing * grid.count, nothing * grid.count),
        opened_at=None,
    )
    assert panel.note is not None and "timed out" in panel.note
    assert panel.markers == ()


def test_the_budget_panel_is_the_budget_left_at_each_instant() -> None:
    grid = budget_grid(AT, SLO)
    assert (grid.end - grid.start).total_seconds() >= PERIOD
    spent = [counts(10 * k) for k in range(grid.count)]
    panel = budget_panel(SLO, grid, spent, margin=0.1)
    [line] = panel.lines
    assert line.values[0] == 1.0
    assert line.values[-1] == 1 - (10 * (grid.count - 1) / 10_000) / 0.001
    assert [(t.label, t.value) for t in panel.thresholds] == [
        ("exhausted", 0.0),
        ("safety margin 10%", 0.1),
    ]
    assert panel.floor == -1.0


def test_the_readme_links_every_chart_and_the_canary_only_when_judged() -> None:
    service = checkout_service(latency=True)
    slos = tuple(evaluate("checkout", s, {}, AT) for s in service.spec.slos)
    status = service_status("checkout", slos, AT)
    files = [f for f, _ in chart_links(status, canary=False)]
    assert files == [
        "chart-availability-burn-rates.svg",
        "chart-availability-budget.svg",
        "chart-latency-burn-rates.svg",
        "chart-latency-budget.svg",
    ]
    assert [f for f, _ in chart_links(status, canary=True)] == [*files, layout.CANARY_CHART]
