"""Evaluate every SLO of the catalog at one instant, with one batch of source queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from safedeploy.domain.catalog import BrokenService, Service, select
from safedeploy.domain.measurements import IncreaseQuery
from safedeploy.domain.severity import BURNING
from safedeploy.domain.sli_queries import queries_for
from safedeploy.domain.slo import ServiceStatus, SLOStatus, evaluate, service_status
from safedeploy.errors import EXIT_BAD_INPUT, EXIT_BLOCKED, EXIT_CANNOT_DECIDE, EXIT_OK
from safedeploy.ports import MetricsSource, SLOCountsSource
from safedeploy.usecases.context import Context
from safedeploy.usecases.measure import measure


def evaluate_services(
    services: list[Service], source: MetricsSource | SLOCountsSource, at: datetime
) -> list[ServiceStatus]:
    """Every query of the evaluation goes to the source in one call, at the same `at`."""
    if isinstance(source, SLOCountsSource):
        recorded = source.slo_counts(services, at)
        return [
            service_status(
                service.name,
                tuple(
                    evaluate(service.name, slo, recorded[(service.name, slo.name)], at)
                    for slo in service.spec.slos
                ),
                at,
            )
            for service in services
        ]
    plans = {
        (service.name, slo.name): (slo, queries_for(slo))
        for service in services
        for slo in service.spec.slos
    }
    wanted: dict[IncreaseQuery, None] = {}
    for _, per_window in plans.values():
        for queries in per_window.values():
            wanted.update(dict.fromkeys(queries.all()))
    results = measure(source, list(wanted), at)
    statuses: list[ServiceStatus] = []
    for service in services:
        slo_statuses: list[SLOStatus] = []
        for slo in service.spec.slos:
            _, per_window = plans[(service.name, slo.name)]
            counts = {window: q.counts(results) for window, q in per_window.items()}
            slo_statuses.append(evaluate(service.name, slo, counts, at))
        statuses.append(service_status(service.name, tuple(slo_statuses), at))
    return statuses


def slo_status(ctx: Context, names: list[str], at: datetime) -> SLOReport:
    """`safedeploy slo status`: the catalog evaluated against its source at `at`."""
    services = select(ctx.catalog, names, partial=True)
    source = ctx.source
    return SLOReport(
        at=at,
        source=source.description,
        services=evaluate_services(services, source, at),
        broken=ctx.catalog.broken_among(names),
    )


@dataclass(frozen=True)
class SLOReport:
    at: datetime
    source: str
    services: list[ServiceStatus]
    # Service files that did not load: the others are evaluated all the same.
    broken: tuple[BrokenService, ...] = ()

    @property
    def exit_code(self) -> int:
        """2 when a service file is invalid; else 3 when any SLO is unknown, whatever else
        burns (part of the picture is missing); else 1 when any SLO burns; else 0."""
        if self.broken:
            return EXIT_BAD_INPUT
        severities = {s.severity for st in self.services for s in st.slos}
        if "unknown" in severities:
            return EXIT_CANNOT_DECIDE
        return EXIT_BLOCKED if severities & BURNING else EXIT_OK
