"""A canary judged on its own traffic, against the stable version running beside it.

The service's SLIs are split by the deployment's canary label (the version on every
series). In the first minutes of a rollout the canary's error ratio may exceed the stable
one by at most the service's limit (default two points); too little canary traffic is
"unknown", which neither fails nor promotes it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.catalog import Service
from safedeploy.domain.measurements import IncreaseQuery, Measurement
from safedeploy.domain.selectors import Matcher, Selector
from safedeploy.domain.slo import FLOAT_NOISE


class CanaryQueries(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    canary_version: str
    stable_version: str
    canary_errors: IncreaseQuery
    canary_total: IncreaseQuery
    stable_errors: IncreaseQuery
    stable_total: IncreaseQuery

    def all(self) -> tuple[IncreaseQuery, ...]:
        return (self.canary_errors, self.canary_total, self.stable_errors, self.stable_total)


class CanaryVerdict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    state: Literal["healthy", "failing", "unknown", "not-running"]
    canary_version: str
    stable_version: str
    canary_error_ratio: float | None
    stable_error_ratio: float | None
    canary_events: float | None
    limit: float
    window: str
    detail: str


def canary_queries(
    service: Service, canary_version: str, stable_version: str, window: int
) -> CanaryQueries | None:
    """Per-version queries on the first availability SLO; None when there is none."""
    slo = next((s for s in service.spec.slos if s.sli.kind == "availability"), None)
    if slo is None or slo.sli.errors is None or slo.sli.total is None:
        return None
    label = service.spec.deployment.canary_label

    def pinned(selector: Selector, version: str) -> IncreaseQuery:
        kept = tuple(m for m in selector.matchers if m.label != label)
        matcher = Matcher(label=label, op="=", value=version)
        return IncreaseQuery(
            selector=Selector(metric=selector.metric, matchers=(*kept, matcher)), window=window
        )

    return CanaryQueries(
        canary_version=canary_version,
        stable_version=stable_version,
        canary_errors=pinned(slo.sli.errors, canary_version),
        canary_total=pinned(slo.sli.total, canary_version),
        stable_errors=pinned(slo.sli.errors, stable_version),
        stable_total=pinned(slo.sli.total, stable_version),
    )


def canary_verdict(
    service: Service,
    queries: CanaryQueries,
    results: dict[IncreaseQuery, Measurement],
    min_events: int,
    window: str,
) -> CanaryVerdict:
    limit = service.spec.policy.canary_max_error_ratio
    canary = _ratio(results.get(queries.canary_errors), results.get(queries.canary_total))
    stable = _ratio(results.get(queries.stable_errors), results.get(queries.stable_total))
    base = {
        "canary_version": queries.canary_version,
        "stable_version": queries.stable_version,
        "limit": limit,
        "window": window,
    }
    canary_ratio, canary_events = canary
    stable_ratio, stable_events = stable
    if canary_events is None or stable_events is None:
        # The source could not say how much traffic a version had (it failed, ran out of
        # the run's deadline, or answered something untrue): that is not "no canary".
        which, total = (
            (queries.canary_version, queries.canary_total)
            if canary_events is None
            else (queries.stable_version, queries.stable_total)
        )
        found = results.get(total)
        return CanaryVerdict(
            state="unknown",
            canary_error_ratio=canary_ratio,
            stable_error_ratio=stable_ratio,
            canary_events=canary_events,
            detail=f"{which}: traffic unknown ({found.reason if found else 'not measured'})",
            **base,
        )
    if not canary_events or not stable_events:
        # Only one version serves: no rollout in progress (not started, or complete).
        idle = queries.canary_version if not canary_events else queries.stable_version
        return CanaryVerdict(
            state="not-running",
            canary_error_ratio=canary_ratio,
            stable_error_ratio=stable_ratio,
            canary_events=canary_events,
            detail=f"no canary in progress: no traffic on {idle} in the last {window}",
            **base,
        )
    if canary_ratio is None or canary_events < min_events:
        thin = canary_events < min_events
        return CanaryVerdict(
            state="unknown",
            canary_error_ratio=canary_ratio,
            stable_error_ratio=stable_ratio,
            canary_events=canary_events,
            detail=(
                f"{queries.canary_version}: {canary_events:.0f} requests in {window}, "
                + (f"fewer than {min_events}" if thin else "errors unknown or above them")
            ),
            **base,
        )
    excess = canary_ratio - (stable_ratio or 0.0)
    state: Literal["healthy", "failing"] = "failing" if excess > limit else "healthy"
    stable_text = "unknown" if stable_ratio is None else f"{stable_ratio:.2%}"
    return CanaryVerdict(
        state=state,
        canary_error_ratio=canary_ratio,
        stable_error_ratio=stable_ratio,
        canary_events=canary_events,
        detail=(
            f"canary {queries.canary_version} error ratio {canary_ratio:.2%} vs stable "
            f"{queries.stable_version} {stable_text} over {window}: "
            f"{'more' if state == 'failing' else 'no more'} than {limit:.0%} above stable"
        ),
        **base,
    )


def _ratio(
    errors: Measurement | None, total: Measurement | None
) -> tuple[float | None, float | None]:
    if total is not None and total.status == "empty":
        return None, 0.0  # no series: the version served nothing in the window
    if total is None or total.status != "ok" or total.value is None:
        return None, None
    if total.value == 0:
        return None, 0.0
    if errors is None or errors.status in ("failed", "invalid"):
        return None, total.value
    bad = errors.value if errors.status == "ok" and errors.value is not None else 0.0
    if bad > total.value * (1 + FLOAT_NOISE):
        return None, total.value  # a broken answer stays unknown, never clamped to 100 %
    return min(bad / total.value, 1.0), total.value
