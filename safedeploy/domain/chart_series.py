"""What the evidence charts plot, from the same measurements and math as the decision.

A chart is a grid of instants ending at the decision's instant. At each instant the counts
are those a reconcile at that instant would have read, and `window_status`,
`period_budget` and `canary_verdict` turn them into the error ratios, budgets and canary
ratios the decision itself used, so the right edge of every chart is the decision.
Plain data here; `safedeploy.domain.svg_charts` draws it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain import layout
from safedeploy.domain.burnrate import AlertRow
from safedeploy.domain.canary import CanaryQueries, canary_verdict
from safedeploy.domain.catalog import SLO, Service
from safedeploy.domain.durations import format_duration, parse_duration
from safedeploy.domain.instants import format_instant
from safedeploy.domain.measurements import IncreaseQuery, InstantGrid, Measurement
from safedeploy.domain.slo import (
    RowVerdict,
    ServiceStatus,
    SLICounts,
    WindowStatus,
    error_budget,
    period_budget,
    short_minimum,
    window_status,
)

# Instants per chart: a smooth enough line 664 pixels wide, and cheap to draw for a hundred
# services opening incidents in one run (bench/reconcile.py measures it).
POINTS = 61
# A window pair's chart spans three of its long windows (more when the incident is older),
# a canary's twelve of its windows: enough history to see where the breach began.
BURN_SPAN = 3
CANARY_SPAN = 12
# A budget overspent fifty times would flatten the chart; lines stop at -100% instead.
BUDGET_FLOOR = -1.0

Role = Literal["long", "short", "budget", "canary", "stable", "limit"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Line(_Frozen):
    """One plotted quantity, one value per instant of its panel's grid (None: unknown)."""

    label: str
    role: Role
    values: tuple[float | None, ...]


class Threshold(_Frozen):
    label: str
    value: float


class Marker(_Frozen):
    label: str
    at: datetime


class Panel(_Frozen):
    title: str
    y_label: str
    grid: InstantGrid
    lines: tuple[Line, ...]
    thresholds: tuple[Threshold, ...] = ()
    markers: tuple[Marker, ...] = ()
    floor: float | None = None
    summary: str
    note: str | None = None


class Figure(_Frozen):
    file: str
    title: str
    panels: tuple[Panel, ...]

    @property
    def description(self) -> str:
        return " ".join(p.summary for p in self.panels)


def percent(value: float | None) -> str:
    return "unknown" if value is None else f"{value * 100:.3g}%"


# --- titles: the README shows what the use case writes -------------------------------------


def burn_title(service: str, slo: str) -> str:
    return f"{service} {slo}: error ratio against each burn-rate threshold"


def budget_title(service: str, slo: str, period: str) -> str:
    return f"{service} {slo}: error budget left over the last {period}"


def canary_title(service: str) -> str:
    return f"{service}: canary against stable"


def chart_links(status: ServiceStatus, canary: bool) -> tuple[tuple[str, str], ...]:
    """(file, title) of every chart in a service's evidence folder, in reading order."""
    links: list[tuple[str, str]] = []
    for slo in status.slos:
        links.append((layout.burn_chart(slo.slo), burn_title(status.service, slo.slo)))
        links.append(
            (layout.budget_chart(slo.slo), budget_title(status.service, slo.slo, slo.period))
        )
    if canary:
        links.append((layout.CANARY_CHART, canary_title(status.service)))
    return tuple(links)


# --- grids ---------------------------------------------------------------------------------


def chart_grid(at: datetime, span: int) -> InstantGrid:
    """`POINTS` instants over `span` seconds, the last one `at`."""
    return InstantGrid(end=at, step=max(1, math.ceil(span / (POINTS - 1))), count=POINTS)


def burn_grid(at: datetime, row: AlertRow, period: int, opened_at: datetime | None) -> InstantGrid:
    span = BURN_SPAN * row.long
    if opened_at is not None:
        # An older incident: reach back past its opening, so the breach is seen beginning.
        span = max(span, int((at - opened_at).total_seconds()) + row.long)
    return chart_grid(at, min(span, max(period, BURN_SPAN * row.long)))


def budget_grid(at: datetime, slo: SLO) -> InstantGrid:
    return chart_grid(at, parse_duration(slo.period))


def canary_grid(at: datetime, window: int) -> InstantGrid:
    return chart_grid(at, CANARY_SPAN * window)


# --- panels --------------------------------------------------------------------------------


def _statuses(
    slo: SLO, counts: Sequence[SLICounts], window: int, minimum: int | None = None
) -> list[WindowStatus]:
    """`minimum`: a row's short window needs only its share of `min_events`."""
    label = format_duration(window)
    events = slo.min_events if minimum is None else minimum
    return [
        window_status(c, objective=slo.objective, min_events=events, window=label) for c in counts
    ]


def _note(lines: Sequence[Line], statuses: Sequence[WindowStatus]) -> str | None:
    """Why nothing is drawn, when nothing is: the newest instant's reason."""
    if any(v is not None for line in lines for v in line.values):
        return None
    reasons = [s.reason for s in reversed(statuses) if s.reason]
    return f"no data: {reasons[0]}" if reasons else "no data"


def _opened(grid: InstantGrid, opened_at: datetime | None) -> tuple[Marker, ...]:
    if opened_at is None or not grid.start <= opened_at <= grid.end:
        return ()
    return (Marker(label="incident opened", at=opened_at),)


def burn_panel(
    slo: SLO,
    row: AlertRow,
    verdict: RowVerdict,
    grid: InstantGrid,
    counts: tuple[Sequence[SLICounts], Sequence[SLICounts]],
    *,
    opened_at: datetime | None,
) -> Panel:
    """The error ratio over the pair's long and short windows against factor x budget."""
    budget = error_budget(slo.objective)
    threshold = row.factor * budget
    long = _statuses(slo, counts[0], row.long)
    short = _statuses(slo, counts[1], row.short, short_minimum(slo.min_events, row))
    lines = (
        Line(
            label=f"{format_duration(row.long)} window",
            role="long",
            values=tuple(s.error_ratio for s in long),
        ),
        Line(
            label=f"{format_duration(row.short)} window",
            role="short",
            values=tuple(s.error_ratio for s in short),
        ),
    )
    summary = (
        f"{slo.name} {row.label} ({row.severity}): the error ratio over {format_duration(row.long)}"
        f" and over {format_duration(row.short)} against {percent(threshold)}, {row.factor:g}"
        f" times the {percent(budget)} error budget; at {format_instant(grid.end)}"
        f" {percent(lines[0].values[-1])} and {percent(lines[1].values[-1])}: {verdict.state}."
    )
    return Panel(
        title=f"{row.label} ({row.severity}): alert when both windows are over "
        f"{row.factor:g}x the budget",
        y_label="error ratio",
        grid=grid,
        lines=lines,
        thresholds=(
            Threshold(label=f"{row.factor:g}x budget = {percent(threshold)}", value=threshold),
        ),
        markers=_opened(grid, opened_at),
        summary=summary,
        note=_note(lines, [*long, *short]),
    )


def budget_panel(slo: SLO, grid: InstantGrid, counts: Sequence[SLICounts], margin: float) -> Panel:
    """The budget left at each instant, measured over the SLO period ending there."""
    budget = error_budget(slo.objective)
    statuses = _statuses(slo, counts, parse_duration(slo.period))
    line = Line(
        label=f"budget left ({slo.period})",
        role="budget",
        values=tuple(period_budget(s, budget).remaining for s in statuses),
    )
    thresholds = [Threshold(label="exhausted", value=0.0)]
    if margin > 0:
        thresholds.append(Threshold(label=f"safety margin {percent(margin)}", value=margin))
    first = next((v for v in line.values if v is not None), None)
    summary = (
        f"{slo.name}: the share of the {percent(budget)} error budget left over the "
        f"{slo.period} ending at each instant, from {percent(first)} at "
        f"{format_instant(grid.start)} to {percent(line.values[-1])} at "
        f"{format_instant(grid.end)}; promotion is blocked under {percent(margin)}."
    )
    return Panel(
        title=f"{slo.name} ({slo.objective:.3%}): error budget left",
        y_label="budget left",
        grid=grid,
        lines=(line,),
        thresholds=tuple(thresholds),
        floor=BUDGET_FLOOR,
        summary=summary,
        note=_note((line,), statuses),
    )


def canary_panel(
    service: Service,
    queries: CanaryQueries,
    grid: InstantGrid,
    series: Mapping[IncreaseQuery, Sequence[Measurement]],
) -> Panel:
    """Canary and stable error ratios as the canary verdict computes them, per instant."""
    slo = next(s for s in service.spec.slos if s.sli.kind == "availability")
    window = service.spec.deployment.canary_window
    canary: list[float | None] = []
    stable: list[float | None] = []
    for k in range(grid.count):
        results = {q: series[q][k] for q in queries.all()}
        verdict = canary_verdict(service, queries, results, slo.min_events, window)
        judged = verdict.state in ("healthy", "failing")
        canary.append(verdict.canary_error_ratio if judged else None)
        stable.append(verdict.stable_error_ratio)
    limit = service.spec.policy.canary_max_error_ratio
    lines = (
        Line(label=f"canary {queries.canary_version}", role="canary", values=tuple(canary)),
        Line(label=f"stable {queries.stable_version}", role="stable", values=tuple(stable)),
        Line(
            label=f"stable + {percent(limit)} (limit)",
            role="limit",
            values=tuple(None if s is None else s + limit for s in stable),
        ),
    )
    summary = (
        f"Error ratio over {window} of canary {queries.canary_version} and stable "
        f"{queries.stable_version}; the canary fails above stable + {percent(limit)}. At "
        f"{format_instant(grid.end)}: canary {percent(canary[-1])}, stable {percent(stable[-1])}."
    )
    note = None if any(v is not None for v in (*canary, *stable)) else "no data for either version"
    return Panel(
        title=f"canary {queries.canary_version} against stable {queries.stable_version} "
        f"(error ratio over {window})",
        y_label="error ratio",
        grid=grid,
        lines=lines,
        summary=summary,
        note=note,
    )


def burn_figure(service: str, slo: SLO, panels: tuple[Panel, ...]) -> Figure:
    """One panel per window pair."""
    return Figure(
        file=layout.burn_chart(slo.name), title=burn_title(service, slo.name), panels=panels
    )


def budget_figure(service: str, slo: SLO, panels: tuple[Panel, ...]) -> Figure:
    return Figure(
        file=layout.budget_chart(slo.name),
        title=budget_title(service, slo.name, slo.period),
        panels=panels,
    )


def canary_figure(service: str, panels: tuple[Panel, ...]) -> Figure:
    return Figure(file=layout.CANARY_CHART, title=canary_title(service), panels=panels)
