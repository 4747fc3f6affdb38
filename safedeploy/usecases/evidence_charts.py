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

from safedeploy.domain.burnrate import alert_rows
from safedeploy.domain.canary import CanaryVerdict, canary_queries
from safedeploy.domain.catalog import Service
from safedeploy.domain.chart_series import (
    Figure,
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
from safedeploy.domain.slo import ServiceStatus, SLICounts
from safedeploy.ports import MetricsSource, SLOCountsSource
from safedeploy.render.svg_charts import figure_svg

# (grid, query) -> one measurement per instant of the grid
Series = Callable[[InstantGrid, IncreaseQuery], tuple[Measurement, ...]]


@dataclass(frozen=True)
class Charted:
    """One service whose decision wrote evidence, with what the charts need."""

    service: Service
    status: ServiceStatus
    decision: Decision
    canary: CanaryVerdict | None


def evidence_charts(
    source: MetricsSource | SLOCountsSource,
    services: Sequence[Service],
    statuses: Sequence[ServiceStatus],
    decisions: Sequence[Decision],
    canaries: dict[str, CanaryVerdict],
) -> dict[str, str]:
    """`evidence/<folder>/<chart>.svg` -> SVG text, for every folder the decisions wrote."""
    by_name = {s.name: (s, st) for s, st in zip(services, statuses, strict=True)}
    charted = [
        Charted(*by_name[d.service], d, canaries.get(d.service))
        for d in decisions
        if evidence_folders(d) and d.service in by_name
    ]
    if not charted:
        return {}
    # The figures are built twice: first to learn which ranges they ask for (answered with
    # nothing), then from those ranges fetched in one call per grid.
    wanted: dict[InstantGrid, dict[IncreaseQuery, None]] = {}
    for one in charted:
        figures(one, _recorder(wanted))
    series = _fetch(source, wanted)
    files: dict[str, str] = {}
    for one in charted:
        drawn = [(f.file, figure_svg(f)) for f in figures(one, series)]
        for folder in evidence_folders(one.decision):
            files.update({f"{folder}/{name}": svg for name, svg in drawn})
    return files


def figures(charted: Charted, series: Series) -> list[Figure]:
    """Every chart of one service's evidence, in the order its README lists them."""
    service, status, decision = charted.service, charted.status, charted.decision
    opened_at = decision.incident.opened_at if decision.incident is not None else None
    at = status.at
    drawn: list[Figure] = []
    for slo, slo_status in zip(service.spec.slos, status.slos, strict=True):
        queries = queries_for(slo)
        period = parse_duration(slo.period)
        panels = []
        for row, verdict in zip(alert_rows(slo), slo_status.alerts, strict=True):
            grid = burn_grid(at, row, period, opened_at)
            counts = (
                _counts(grid, queries[row.long], series),
                _counts(grid, queries[row.short], series),
            )
            panels.append(burn_panel(slo, row, verdict, grid, counts, opened_at=opened_at))
        drawn.append(burn_figure(service.name, slo, tuple(panels)))
        grid = budget_grid(at, slo)
        margin = service.spec.policy.budget_safety_margin
        panel = budget_panel(slo, grid, _counts(grid, queries[period], series), margin)
        drawn.append(budget_figure(service.name, slo, panel))
    canary = charted.canary
    if canary is not None and canary.state != "not-running":
        window = parse_duration(canary.window)
        pinned = canary_queries(service, canary.canary_version, canary.stable_version, window)
        if pinned is not None:
            grid = canary_grid(at, window)
            answers = {q: series(grid, q) for q in pinned.all()}
            drawn.append(canary_figure(service.name, canary_panel(service, pinned, grid, answers)))
    return drawn


def _counts(grid: InstantGrid, queries: SLIQueries, series: Series) -> list[SLICounts]:
    answers = {q: series(grid, q) for q in queries.all()}
    return [queries.counts({q: a[k] for q, a in answers.items()}) for k in range(grid.count)]


def _recorder(wanted: dict[InstantGrid, dict[IncreaseQuery, None]]) -> Series:
    def record(grid: InstantGrid, query: IncreaseQuery) -> tuple[Measurement, ...]:
        wanted.setdefault(grid, {})[query] = None
        return (_NOT_YET,) * grid.count

    return record


_NOT_YET = Measurement.failed("not fetched yet")


def _fetch(
    source: MetricsSource | SLOCountsSource, wanted: dict[InstantGrid, dict[IncreaseQuery, None]]
) -> Series:
    if isinstance(source, SLOCountsSource):
        # Recording rules are read at one instant per SLO; they hold no counters to range.
        reason = f"{source.description} answers single instants only: no history to chart"
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
