"""Evaluate every SLO of the catalog at one instant, with one batch of source queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from safedeploy.domain.catalog import Catalog, Service
from safedeploy.domain.measurements import IncreaseQuery
from safedeploy.domain.sli_queries import queries_for
from safedeploy.domain.slo import ServiceStatus, SLOStatus, evaluate, service_status
from safedeploy.errors import EXIT_CANNOT_DECIDE, EXIT_OK, BadInputError
from safedeploy.ports import MetricsSource, SLOCountsSource


def select(catalog: Catalog, names: list[str]) -> list[Service]:
    if not names:
        return list(catalog.services)
    unknown = [n for n in names if catalog.get(n) is None]
    if unknown:
        raise BadInputError(f"unknown service {unknown[0]!r}; see services/")
    return [s for s in catalog.services if s.name in names]


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
    results = dict(source.increases(list(wanted), at))
    statuses: list[ServiceStatus] = []
    for service in services:
        slo_statuses: list[SLOStatus] = []
        for slo in service.spec.slos:
            _, per_window = plans[(service.name, slo.name)]
            counts = {window: q.counts(results) for window, q in per_window.items()}
            slo_statuses.append(evaluate(service.name, slo, counts, at))
        statuses.append(service_status(service.name, tuple(slo_statuses), at))
    return statuses


def slo_status(state: Path, names: list[str], at: datetime) -> SLOReport:
    """`safedeploy slo status`: the catalog at `state`, evaluated against its source."""
    from safedeploy.adapters.catalog_files import load_catalog
    from safedeploy.adapters.settings import load_settings
    from safedeploy.adapters.sources import open_source

    catalog = load_catalog([state / "services"])
    services = select(catalog, names)
    source = open_source(load_settings(state), state)
    return SLOReport(
        at=at, source=source.description, services=evaluate_services(services, source, at)
    )


@dataclass(frozen=True)
class SLOReport:
    at: datetime
    source: str
    services: list[ServiceStatus]

    @property
    def exit_code(self) -> int:
        unknown = any(s.severity == "unknown" for st in self.services for s in st.slos)
        return EXIT_CANNOT_DECIDE if unknown else EXIT_OK
