"""SLO math: SLIs per window, error budget over the period, burn rates and severity.

Pure: counts come in (already fetched), the instant comes in, a status goes out. Missing or
thin data never becomes a number: a window with no data or fewer events than the SLO's
minimum is unknown, and an unknown window can neither clear nor breach an alert row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.burnrate import AlertRow, alert_rows
from safedeploy.domain.catalog import SLO
from safedeploy.domain.durations import format_duration, parse_duration
from safedeploy.domain.measurements import Measurement
from safedeploy.domain.severity import Severity, worst


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SLICounts(_Frozen):
    """Increases over one window: `total` plus `errors` (availability) or `good` (latency)."""

    total: Measurement
    errors: Measurement | None = None
    good: Measurement | None = None


class WindowStatus(_Frozen):
    total: float | None
    errors: float | None
    sli: float | None
    error_ratio: float | None
    burn_rate: float | None
    reason: str | None = None
    # Why a window is unknown: too little traffic is a fact about the service, no data is a
    # failure of the source (exit 3, "could not decide").
    cause: Literal["low-traffic", "no-data"] | None = None


class Budget(_Frozen):
    consumed: float | None
    remaining: float | None


class RowVerdict(_Frozen):
    severity: Literal["fast-burn", "slow-burn"]
    windows: str
    factor: float
    long_burn_rate: float | None
    short_burn_rate: float | None
    state: Literal["breached", "ok", "unknown"]


class SLOStatus(_Frozen):
    service: str
    slo: str
    kind: Literal["availability", "latency"]
    objective: float
    period: str
    at: datetime
    severity: Severity
    reason: str
    budget: Budget
    windows: dict[str, WindowStatus]
    alerts: tuple[RowVerdict, ...]

    @property
    def no_data(self) -> bool:
        """The source failed or a series is missing: the SLO could not be decided."""
        return any(w.cause == "no-data" for w in self.windows.values())


class ServiceStatus(_Frozen):
    service: str
    at: datetime
    severity: Severity
    slos: tuple[SLOStatus, ...]

    @property
    def reason(self) -> str:
        if self.severity == "normal":
            return "every SLO within its budget, no burn-rate alert"
        deciding = [s for s in self.slos if s.severity == self.severity]
        return "; ".join(f"{s.slo}: {s.reason}" for s in deciding)


def error_budget(objective: float) -> float:
    """`1 - objective` without the float residue (1 - 0.999 is 0.0010000000000000009), so
    spending exactly the budget leaves exactly 0 and reads as exhausted."""
    return round(1 - objective, 12)


def window_status(
    counts: SLICounts, *, objective: float, min_events: int, window: str
) -> WindowStatus:
    budget = error_budget(objective)
    total = counts.total
    if total.status != "ok" or total.value is None:
        return _unknown(f"{window}: no data for the total ({total.reason})", "no-data")
    if total.value < min_events:
        return _unknown(
            f"{window}: {total.value:.0f} events, fewer than min_events {min_events}",
            "low-traffic",
            total=total.value,
        )
    errors = _errors(counts, total.value, window)
    if isinstance(errors, str):
        return _unknown(errors, "no-data", total=total.value)
    ratio = min(max(errors / total.value, 0.0), 1.0)
    return WindowStatus(
        total=total.value,
        errors=errors,
        sli=1.0 - ratio,
        error_ratio=ratio,
        burn_rate=ratio / budget,
    )


def _errors(counts: SLICounts, total: float, window: str) -> float | str:
    """Bad events, or why they cannot be known."""
    if counts.errors is not None:
        if counts.errors.status == "empty":
            # The error selector matching nothing while the total has data means no error
            # was ever recorded in the window (Prometheus drops series it never saw).
            return 0.0
        if counts.errors.status == "failed" or counts.errors.value is None:
            return f"{window}: no data for the errors ({counts.errors.reason})"
        return counts.errors.value
    if counts.good is None or counts.good.status != "ok" or counts.good.value is None:
        reason = counts.good.reason if counts.good is not None else "not measured"
        return f"{window}: no data for the latency bucket ({reason}; is the threshold a bucket?)"
    return max(total - counts.good.value, 0.0)


def _unknown(
    reason: str, cause: Literal["low-traffic", "no-data"], total: float | None = None
) -> WindowStatus:
    return WindowStatus(
        total=total,
        errors=None,
        sli=None,
        error_ratio=None,
        burn_rate=None,
        reason=reason,
        cause=cause,
    )


def evaluate(service: str, slo: SLO, counts: Mapping[int, SLICounts], at: datetime) -> SLOStatus:
    """Status of one SLO at `at`, from the increases of every window it needs."""
    statuses: dict[int, WindowStatus] = {}
    for seconds, window_counts in counts.items():
        statuses[seconds] = window_status(
            window_counts,
            objective=slo.objective,
            min_events=slo.min_events,
            window=format_duration(seconds),
        )
    period = parse_duration(slo.period)
    budget = period_budget(statuses.get(period), error_budget(slo.objective))
    verdicts = tuple(_row(row, statuses) for row in alert_rows(slo))
    severity, reason = _severity(budget, verdicts, statuses, slo.period)
    return SLOStatus(
        service=service,
        slo=slo.name,
        kind=slo.sli.kind,
        objective=slo.objective,
        period=slo.period,
        at=at,
        severity=severity,
        reason=reason,
        budget=budget,
        windows={format_duration(s): statuses[s] for s in sorted(statuses)},
        alerts=verdicts,
    )


def period_budget(period: WindowStatus | None, error_budget: float) -> Budget:
    """The budget spent and left, from the status of the SLO period's own window."""
    if period is None or period.error_ratio is None:
        return Budget(consumed=None, remaining=None)
    # The ratio of increases over the whole period, never an average of short ratios.
    consumed = period.error_ratio / error_budget
    return Budget(consumed=consumed, remaining=1.0 - consumed)


def _row(row: AlertRow, statuses: Mapping[int, WindowStatus]) -> RowVerdict:
    long, short = statuses.get(row.long), statuses.get(row.short)
    long_burn = long.burn_rate if long is not None else None
    short_burn = short.burn_rate if short is not None else None
    state: Literal["breached", "ok", "unknown"]
    if long_burn is None or short_burn is None:
        state = "unknown"
    elif long_burn > row.factor and short_burn > row.factor:
        state = "breached"
    else:
        state = "ok"
    return RowVerdict(
        severity=row.severity,
        windows=row.label,
        factor=row.factor,
        long_burn_rate=long_burn,
        short_burn_rate=short_burn,
        state=state,
    )


def _severity(
    budget: Budget,
    verdicts: tuple[RowVerdict, ...],
    statuses: Mapping[int, WindowStatus],
    period: str,
) -> tuple[Severity, str]:
    if budget.remaining is not None and budget.consumed is not None and budget.remaining <= 0:
        return (
            "exhausted",
            f"error budget exhausted: {budget.consumed:.0%} of the {period} budget spent",
        )
    for level in ("fast-burn", "slow-burn"):
        breached = [v for v in verdicts if v.severity == level and v.state == "breached"]
        if breached:
            v = breached[0]
            return level, (
                f"{v.windows} burn rate {v.long_burn_rate:.2f}/{v.short_burn_rate:.2f} "
                f"over {v.factor:g}"
            )
    unknown = [s.reason for _, s in sorted(statuses.items()) if s.reason]
    if unknown or budget.remaining is None:
        return "unknown", unknown[0] if unknown else "no data for the SLO period"
    highest = max(verdicts, key=lambda v: (v.long_burn_rate or 0) / v.factor, default=None)
    if highest is None:
        return "normal", "no burn-rate rows configured"
    return "normal", (
        f"highest burn rate {highest.long_burn_rate or 0:.2f} of {highest.factor:g} "
        f"({highest.windows}); {budget.remaining:.0%} budget left"
    )


def service_status(service: str, slos: tuple[SLOStatus, ...], at: datetime) -> ServiceStatus:
    return ServiceStatus(
        service=service, at=at, severity=worst([s.severity for s in slos]), slos=slos
    )
