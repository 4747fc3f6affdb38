"""SVG charts from hand-made figures: golden files compared structurally, and what is drawn
checked against the data (point counts, gaps, threshold positions, escaping, the floor).

Golden files live in tests/data/golden/charts/; `SAFEDEPLOY_REGENERATE_GOLDEN=1 pytest`
rewrites them after an intended change (review the pictures before committing them).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safedeploy.domain.chart_series import Figure, Line, Marker, Panel, Threshold
from safedeploy.domain.measurements import InstantGrid
from safedeploy.domain.svg_charts import figure_svg
from testing.svg import assert_same_chart, panels, parse, title_and_description

GOLDEN = Path(__file__).parents[1] / "data" / "golden" / "charts"
REGENERATE = os.environ.get("SAFEDEPLOY_REGENERATE_GOLDEN") == "1"
AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
HOSTILE = 'checkout <script>alert("x")</script> & co'


def ramp(count: int, start: float, end: float) -> tuple[float, ...]:
    return tuple(start + (end - start) * k / (count - 1) for k in range(count))


def burn_figure() -> Figure:
    fast = InstantGrid(end=AT, step=90, count=121)
    slow = InstantGrid(end=AT, step=540, count=121)
    short = (*(0.0004,) * 80, *(None,) * 3, 0.02, *(None,) * 2, *ramp(35, 0.03, 0.1))
    return Figure(
        file="chart-availability-burn-rates.svg",
        title=f"{HOSTILE} availability: error ratio against each burn-rate threshold",
        panels=(
            Panel(
                title="1h/5m (fast-burn): alert when both windows are over 14.4x the budget",
                y_label="error ratio",
                grid=fast,
                lines=(
                    Line(
                        label="1h window",
                        role="long",
                        values=(*(0.0004,) * 81, *ramp(40, 0.001, 0.1)),
                    ),
                    Line(label="5m window", role="short", values=short),
                ),
                thresholds=(Threshold(label="14.4x budget = 1.44%", value=0.0144),),
                markers=(Marker(label="incident opened", at=AT - timedelta(minutes=40)),),
                summary="1h/5m: both windows over 1.44% at the end: breached.",
            ),
            Panel(
                title="6h/30m (fast-burn)",
                y_label="error ratio",
                grid=slow,
                lines=(
                    Line(label="6h window", role="long", values=(None,) * 121),
                    Line(label="30m window", role="short", values=(None,) * 121),
                ),
                thresholds=(Threshold(label="6x budget = 0.6%", value=0.006),),
                summary="6h/30m: no data.",
                note="no data: 6h: no data for the total (Prometheus timed out)",
            ),
        ),
    )


def budget_figure() -> Figure:
    grid = InstantGrid(end=AT, step=21_600, count=121)
    # Overspent far below -100% at the end: drawn at the floor, not off the picture.
    values = (*ramp(100, 0.6, 0.5), *ramp(21, 0.4, -30.0))
    return Figure(
        file="chart-availability-budget.svg",
        title="checkout availability: error budget left over the last 30d",
        panels=(
            Panel(
                title="availability (99.900%): error budget left",
                y_label="budget left",
                grid=grid,
                lines=(Line(label="budget left (30d)", role="budget", values=values),),
                thresholds=(
                    Threshold(label="exhausted", value=0.0),
                    Threshold(label="safety margin 10%", value=0.1),
                ),
                floor=-1.0,
                summary="availability: from 60% to -3000%.",
            ),
        ),
    )


def canary_figure() -> Figure:
    grid = InstantGrid(end=AT, step=60, count=121)
    stable = ramp(121, 0.001, 0.0012)
    return Figure(
        file="chart-canary.svg",
        title="checkout: canary against stable",
        panels=(
            Panel(
                title="canary 1.5.0 against stable 1.4.2 (error ratio over 10m)",
                y_label="error ratio",
                grid=grid,
                lines=(
                    Line(
                        label="canary 1.5.0",
                        role="canary",
                        values=(*(None,) * 90, *ramp(31, 0.02, 0.1)),
                    ),
                    Line(label="stable 1.4.2", role="stable", values=stable),
                    Line(
                        label="stable + 2% (limit)",
                        role="limit",
                        values=tuple(s + 0.02 for s in stable),
                    ),
                ),
                summary="canary 10% against stable 0.12%.",
            ),
        ),
    )


FIGURES = {"burn": burn_figure, "budget": budget_figure, "canary": canary_figure}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_golden_chart(name: str) -> None:
    figure = FIGURES[name]()
    svg = figure_svg(figure)
    path = GOLDEN / figure.file
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg, encoding="utf-8")
    assert_same_chart(svg, path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_known_value_is_drawn_and_every_unknown_is_a_gap(name: str) -> None:
    figure = FIGURES[name]()
    drawn = panels(figure_svg(figure))
    assert len(drawn) == len(figure.panels)
    for panel, chart in zip(figure.panels, drawn, strict=True):
        assert [s.role for s in chart.series] == [line.role for line in panel.lines]
        for line, series in zip(panel.lines, chart.series, strict=True):
            known = [v for v in line.values if v is not None]
            assert series.points == len(series.drawn) == len(known), line.label
            xs = [x for x, _ in series.drawn]
            assert xs == sorted(xs), "time runs left to right"
            for value, (_, y) in zip(known, series.drawn, strict=True):
                floor = panel.floor if panel.floor is not None else -1e9
                assert y == pytest.approx(chart.y_of(max(value, floor)), abs=0.06)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_thresholds_are_lines_at_their_values(name: str) -> None:
    figure = FIGURES[name]()
    for panel, chart in zip(figure.panels, panels(figure_svg(figure)), strict=True):
        assert [v for v, _ in chart.thresholds] == [t.value for t in panel.thresholds]
        for value, y in chart.thresholds:
            assert chart.top <= y <= chart.bottom
            assert y == pytest.approx(chart.y_of(value), abs=0.06)
        # Every value and threshold fits the axis, down to the floor.
        values = [v for line in panel.lines for v in line.values if v is not None]
        values += [t.value for t in panel.thresholds]
        assert chart.high >= max([0.0, *values])
        assert chart.low <= max(min([0.0, *values]), panel.floor or -1e9)


def test_the_burn_chart_marks_the_incident_and_explains_missing_data() -> None:
    first, second = panels(figure_svg(burn_figure()))
    assert first.markers == ["2026-11-01T11:20:00Z"]
    assert first.note is None
    assert second.note == "no data: 6h: no data for the total (Prometheus timed out)"
    assert all(s.points == 0 for s in second.series)


def test_text_is_escaped_and_the_chart_is_accessible() -> None:
    svg = figure_svg(burn_figure())
    root = parse(svg)  # well-formed although the title holds markup
    assert "<script>" not in svg
    assert root.find("{http://www.w3.org/2000/svg}script") is None
    title, description = title_and_description(svg)
    assert title.startswith(HOSTILE)
    assert "1h/5m: both windows over 1.44%" in description
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-labelledby"] == "chart-title chart-desc"


def test_the_same_figure_gives_the_same_bytes_and_a_small_file() -> None:
    for make in FIGURES.values():
        first, second = figure_svg(make()), figure_svg(make())
        assert first == second
        assert len(first.encode()) < 40_000
