"""The charts of the evidence folders a reconcile wrote, drawn from a range of history.

For each folder: every SLO's error ratio over each window pair against its threshold, its
error budget over the SLO period, and the canary against stable when one was judged. The
history comes from the decision's own metrics source (Prometheus `query_range`, or the
embedded file), one call per grid of instants for every service at once; callers fetch it
outside the state lock. A source that cannot answer makes charts that say why, never a
failed run: charts illustrate a decision, they do not make it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from safedeploy.domain import layout
from safedeploy.domain.burnrate import AlertRow, alert_rows
from safedeploy.domain.canary import CanaryQueries, CanaryVerdict, canary_queries
from safedeploy.domain.catalog import SLO, Service
from safedeploy.domain.chart_series import (
    Figure,
    Panel,
    budget_figure,
    budget_grid,
    budget_panel,
    burn_figure,
    burn_grid,
    burn_panel,
    canary_figure,
    canary_grid,
    canary_panel,
)
from safedeploy.domain.decisions import Decision
from safedeploy.domain.durations import parse_duration
from safedeploy.domain.evidence import evidence_folders
from safedeploy.domain.measurements import IncreaseQuery, InstantGrid, Measurement
from safedeploy.domain.sli_queries import SLIQueries, queries_for
from safedeploy.domain.slo import RowVerdict, ServiceStatus, SLICounts
from safedeploy.domain.svg_charts import figure_svg
from safedeploy.ports import MetricsSource, SLOCountsSource

# (grid, query) -> one measurement per instant of the grid
Series = Callable[[InstantGrid, IncreaseQuery], tuple[Measurement, ...]]


@dataclass(frozen=True)
class ChartSubject:
    """One service's decision at one instant, and what its charts mark."""

    service: Service
    status: ServiceStatus
    opened_at: datetime | None = None
    canary: CanaryVerdict | None = None


@dataclass(frozen=True)
class _Planned:
    """One panel: the ranges it reads, how it is drawn from them, and its figure."""

    grid: InstantGrid
    queries: tuple[IncreaseQuery, ...]
    draw: Callable[[Series], Panel]
    file: str
    figure: Callable[[tuple[Panel, ...]], Figure]


def evidence_charts(
    source: MetricsSource | SLOCountsSource,
    services: Sequence[Service],
    statuses: Sequence[ServiceStatus],
    decisions: Sequence[Decision],
    canaries: dict[str, CanaryVerdict],
) -> dict[str, str]:
    """`evidence/<folder>/<chart>.svg` -> SVG text, for every folder the decisions wrote."""
    by_name = {s.name: (s, st) for s, st in zip(services, statuses, strict=True)}
    written = [(d, evidence_folders(d)) for d in decisions if d.service in by_name]
    written = [(d, folders) for d, folders in written if folders]
    subjects = [
        ChartSubject(
            *by_name[d.service],
            opened_at=d.incident.opened_at if d.incident is not None else None,
            canary=canaries.get(d.service),
        )
        for d, _ in written
    ]
    files: dict[str, str] = {}
    for (_, folders), drawn in zip(written, charted(source, subjects), strict=True):
        svgs = [(f.file, figure_svg(f)) for f in drawn]
        for folder in folders:
            files.update({f"{folder}/{name}": svg for name, svg in svgs})
    return files


def charted(
    source: MetricsSource | SLOCountsSource, subjects: Sequence[ChartSubject]
) -> list[list[Figure]]:
    """Every subject's figures, from one range call per grid of instants for them all."""
    plans = [_plan(subject) for subject in subjects]
    wanted: dict[InstantGrid, dict[IncreaseQuery, None]] = {}
    for planned in (p for plan in plans for p in plan):
        wanted.setdefault(planned.grid, {}).update(dict.fromkeys(planned.queries))
    series = _fetch(source, wanted)
    return [_figures(plan, series) for plan in plans]


def _figures(plan: list[_Planned], series: Series) -> list[Figure]:
    """Panels drawn and gathered into their figures, in the plan's order."""
    panels: dict[str, list[Panel]] = {}
    makers: dict[str, Callable[[tuple[Panel, ...]], Figure]] = {}
    for planned in plan:
        panels.setdefault(planned.file, []).append(planned.draw(series))
        makers[planned.file] = planned.figure
    return [makers[file](tuple(drawn)) for file, drawn in panels.items()]


def _plan(subject: ChartSubject) -> list[_Planned]:
    """Every panel of one service's evidence charts, in the order its README shows them."""
    service, status, at = subject.service, subject.status, subject.status.at
    planned: list[_Planned] = []
    for slo, slo_status in zip(service.spec.slos, status.slos, strict=True):
        queries = queries_for(slo)
        period = parse_duration(slo.period)
        for row, verdict in zip(alert_rows(slo), slo_status.alerts, strict=True):
            grid = burn_grid(at, row, period, subject.opened_at)
            pair = (queries[row.long], queries[row.short])
            planned.append(_burn(subject, slo, (row, verdict), grid, pair))
        planned.append(_budget(service, slo, budget_grid(at, slo), queries[period]))
    canary = subject.canary
    if canary is not None and canary.state != "not-running":
        window = parse_duration(canary.window)
        pinned = canary_queries(service, canary.canary_version, canary.stable_version, window)
        if pinned is not None:
            planned.append(_canary(service, pinned, canary_grid(at, window)))
    return planned


def _burn(
    subject: ChartSubject,
    slo: SLO,
    row: tuple[AlertRow, RowVerdict],
    grid: InstantGrid,
    pair: tuple[SLIQueries, SLIQueries],
) -> _Planned:
    def draw(series: Series) -> Panel:
        counts = (_counts(grid, pair[0], series), _counts(grid, pair[1], series))
        return burn_panel(slo, *row, grid, counts, opened_at=subject.opened_at)

    return _Planned(
        grid,
        (*pair[0].all(), *pair[1].all()),
        draw,
        layout.burn_chart(slo.name),
        partial(burn_figure, subject.service.name, slo),
    )


def _budget(service: Service, slo: SLO, grid: InstantGrid, queries: SLIQueries) -> _Planned:
    margin = service.spec.policy.budget_safety_margin
    return _Planned(
        grid,
        queries.all(),
        lambda series: budget_panel(slo, grid, _counts(grid, queries, series), margin),
        layout.budget_chart(slo.name),
        partial(budget_figure, service.name, slo),
    )


def _canary(service: Service, queries: CanaryQueries, grid: InstantGrid) -> _Planned:
    return _Planned(
        grid,
        queries.all(),
        lambda series: canary_panel(
            service, queries, grid, {q: series(grid, q) for q in queries.all()}
        ),
        layout.CANARY_CHART,
        partial(canary_figure, service.name),
    )


def _counts(grid: InstantGrid, queries: SLIQueries, series: Series) -> list[SLICounts]:
    return queries.counts_over({q: series(grid, q) for q in queries.all()}, grid.count)


def _fetch(
    source: MetricsSource | SLOCountsSource, wanted: dict[InstantGrid, dict[IncreaseQuery, None]]
) -> Series:
    if isinstance(source, SLOCountsSource):
        # Recording rules are read at one instant per SLO; they hold no counters to range.
        reason = f"{source.description}: read one instant at a time, no history to chart"
        failed = Measurement.failed(reason)
        return lambda grid, _query: (failed,) * grid.count
    answers = {
        grid: dict(source.increase_range(list(queries), grid)) for grid, queries in wanted.items()
    }
    missing = Measurement.failed("not answered by the source")

    def series(grid: InstantGrid, query: IncreaseQuery) -> tuple[Measurement, ...]:
        found = answers.get(grid, {}).get(query)
        return found if found is not None else (missing,) * grid.count

    return series
