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
class ChartSubject:
    """One service's decision at one instant, and what its charts mark."""

    service: Service
    status: ServiceStatus
    opened_at: datetime | None = None
    canary: CanaryVerdict | None = None

    def figures(self, series: Series) -> list[Figure]:
        return figures(
            self.service, self.status, series, opened_at=self.opened_at, canary=self.canary
        )


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
    if not subjects:
        return []
    # The figures are built twice: first to learn which ranges they ask for (answered with
    # nothing), then from those ranges, fetched together.
    wanted: dict[InstantGrid, dict[IncreaseQuery, None]] = {}
    for subject in subjects:
        subject.figures(_recorder(wanted))
    series = _fetch(source, wanted)
    return [subject.figures(series) for subject in subjects]


def figures(
    service: Service,
    status: ServiceStatus,
    series: Series,
    *,
    opened_at: datetime | None = None,
    canary: CanaryVerdict | None = None,
) -> list[Figure]:
    """Every chart of one service's evidence, in the order its README lists them."""
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
