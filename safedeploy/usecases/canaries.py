"""Judge the canaries in progress: one batch of per-version queries at the same instant."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from safedeploy.domain.canary import CanaryQueries, CanaryVerdict, canary_queries, canary_verdict
from safedeploy.domain.catalog import Service
from safedeploy.domain.durations import parse_duration
from safedeploy.domain.measurements import IncreaseQuery
from safedeploy.domain.versions import Versions
from safedeploy.ports import MetricsSource, SLOCountsSource

if TYPE_CHECKING:
    from safedeploy.adapters.target_versions import TargetVersions


def judge_canaries(
    services: list[Service],
    source: MetricsSource | SLOCountsSource,
    versions: TargetVersions,
    at: datetime,
) -> dict[str, CanaryVerdict]:
    """Services with canary analysis whose environment repo shows a new version beside a
    stable one; anything unreadable is left unjudged (never promoted, never failed).
    Recordings carry no per-version split: with them, canaries are not judged."""
    if isinstance(source, SLOCountsSource):
        return {}
    plans: dict[str, tuple[Service, CanaryQueries]] = {}
    for service in services:
        if not service.spec.deployment.canary_analysis:
            continue
        found = versions.versions(service)
        if not isinstance(found, Versions) or found.previous is None:
            continue
        window = parse_duration(service.spec.deployment.canary_window)
        queries = canary_queries(service, found.current, found.previous, window)
        if queries is not None:
            plans[service.name] = (service, queries)
    if not plans:
        return {}
    wanted: dict[IncreaseQuery, None] = {}
    for _, queries in plans.values():
        wanted.update(dict.fromkeys(queries.all()))
    # Straight from the source: a typo in the SLO's own selectors already makes the SLO,
    # and so the release, unknown; a version label no series carries means no per-version
    # traffic to judge, which is "not running", as a version without series is.
    results = dict(source.increases(list(wanted), at))
    verdicts: dict[str, CanaryVerdict] = {}
    for name, (service, queries) in plans.items():
        slo = next(s for s in service.spec.slos if s.sli.kind == "availability")
        verdicts[name] = canary_verdict(
            service, queries, results, slo.min_events, service.spec.deployment.canary_window
        )
    return verdicts
