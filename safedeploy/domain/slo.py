"""SLO math: SLIs per window, error budget over the period, burn rates and severity.

Pure: counts come in (already fetched), the instant comes in, a status goes out. Missing or
thin data never becomes a number: a window with no data or fewer events than the SLO's
minimum is unknown, and an unknown window can neither clear nor breach an alert row. An
answer that cannot be true (an invalid measurement, more errors than events) makes the
whole SLO unknown, whatever its other windows say.
"""

from __future__ import annotations

import functools
import math
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


# Why a window is unknown: too little traffic is a fact about the service; no data (the
# source failed, a series is missing) and bad data (an answer that cannot be true) are
# failures of the source: exit 3, "could not decide".
Cause = Literal["low-traffic", "no-data", "bad-data"]
# Relative slack between two sums of the same series taken in different orders.
FLOAT_NOISE = 1e-9


class WindowStatus(_Frozen):
    total: float | None
    errors: float | None
    sli: float | None
    error_ratio: float | None
    burn_rate: float | None
    reason: str | None = None
    cause: Cause | None = None


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
        """The source failed, a series is missing or an answer cannot be true: the SLO
        could not be decided for a reason other than the service's own low traffic."""
        return any(w.cause in ("no-data", "bad-data") for w in self.windows.values())


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
    counts: SLICounts,
    *,
    objective: float,
    min_events: int,
    window: str,
    minimum_name: str = "min_events",
) -> WindowStatus:
    budget = error_budget(objective)
    total = counts.total
    if total.status == "invalid":
        return _unknown(f"{window}: an untrue answer for the total ({total.reason})", "bad-data")
    if total.status != "ok" or total.value is None:
        return _unknown(f"{window}: no data for the total ({total.reason})", "no-data")
    if total.value < min_events:
        return _unknown(
            f"{window}: {total.value:.0f} events, fewer than {minimum_name} {min_events}",
            "low-traffic",
            total=total.value,
        )
    bad = _bad_events(counts, total.value, window)
    if isinstance(bad, WindowStatus):
        return bad
    ratio = bad / total.value
    return WindowStatus(
        total=total.value,
        errors=bad,
        sli=1.0 - ratio,
        error_ratio=ratio,
        burn_rate=ratio / budget,
    )


def _bad_events(counts: SLICounts, total: float, window: str) -> float | WindowStatus:
    """Bad events, or the unknown window that says why they cannot be known.

    More bad (or good) events than events is a broken answer and stays unknown: clamped
    to 100 % it opened incidents at "100000 % of budget", and a latency bucket above its
    count read as a perfect SLI. Within float noise of the total it is the same sum taken
    in another order, and counts as the total.
    """
    limit = total * (1 + FLOAT_NOISE)
    if counts.errors is not None:
        errors = counts.errors
        if errors.status == "empty":
            # The error selector matching nothing while the total has data means no error
            # was ever recorded in the window (Prometheus drops series it never saw).
            return 0.0
        if errors.status == "invalid":
            return _unknown(
                f"{window}: an untrue answer for the errors ({errors.reason})",
                "bad-data",
                total=total,
            )
        if errors.status == "failed" or errors.value is None:
            return _unknown(
                f"{window}: no data for the errors ({errors.reason})", "no-data", total=total
            )
        if errors.value > limit:
            return _contradiction(window, "errors", errors.value, total)
        return min(errors.value, total)
    good = counts.good
    if good is not None and good.status == "invalid":
        return _unknown(
            f"{window}: an untrue answer for the latency bucket ({good.reason})",
            "bad-data",
            total=total,
        )
    if good is None or good.status != "ok" or good.value is None:
        reason = good.reason if good is not None else "not measured"
        return _unknown(
            f"{window}: no data for the latency bucket ({reason}; is the threshold a bucket?)",
            "no-data",
            total=total,
        )
    if good.value > limit:
        return _contradiction(window, "good events", good.value, total)
    return max(total - good.value, 0.0)


def _contradiction(window: str, what: str, value: float, total: float) -> WindowStatus:
    return _unknown(
        f"{window}: {what} ({value:g}) above the total ({total:g}): the source's counts "
        "contradict each other",
        "bad-data",
        total=total,
    )


def _unknown(reason: str, cause: Cause, total: float | None = None) -> WindowStatus:
    return WindowStatus(
        total=total,
        errors=None,
        sli=None,
        error_ratio=None,
        burn_rate=None,
        reason=reason,
        cause=cause,
    )


def short_minimum(min_events: int, row: AlertRow) -> int:
    """The events a row's short window needs: `min_events` scaled by short / long.

    `min_events` is what makes the long window's ratio worth acting on; the short window
    only confirms that the burn is still going on. Asking it for the long window's count
    made a service at 10 requests a minute unknown in its 5m window for ever (50 events
    of 100), so its 1h/5m row could never page. In proportion, traffic that just fills
    the long window's minimum fills the short one's too: 100 over 1h asks 9 of the 5m.
    """
    return max(1, math.ceil(min_events * row.short / row.long))


@functools.cache
def window_minimums(min_events: int, rows: tuple[AlertRow, ...], period: int) -> dict[int, int]:
    """The events each window needs for its strictest role: the period and every long
    window `min_events`, a window that is only ever short its row's `short_minimum`."""
    strict = {period, *(row.long for row in rows)}
    minimums = dict.fromkeys(strict, min_events)
    for row in rows:
        if row.short not in strict:
            minimums[row.short] = max(minimums.get(row.short, 1), short_minimum(min_events, row))
    return minimums


def evaluate(service: str, slo: SLO, counts: Mapping[int, SLICounts], at: datetime) -> SLOStatus:
    """Status of one SLO at `at`, from the increases of every window it needs."""
    rows = alert_rows(slo)
    period = parse_duration(slo.period)
    minimums = window_minimums(slo.min_events, rows, period)
    statuses: dict[int, WindowStatus] = {}
    for seconds, window_counts in counts.items():
        statuses[seconds] = _measured(slo, window_counts, seconds, minimums.get(seconds))
    budget = period_budget(statuses.get(period), error_budget(slo.objective))
    verdicts = tuple(_row(row, statuses, _short_status(slo, row, counts, statuses)) for row in rows)
    untrue = next((w.reason for _, w in sorted(statuses.items()) if w.cause == "bad-data"), None)
    if untrue is not None:
        # An answer that cannot be true discredits its source for the whole SLO: the other
        # windows came from the same server at the same instant, and acting on them (a
        # rollback, or "normal") would be acting on a source caught lying. Their numbers
        # stay visible; the budget and the rows are unknown.
        budget = Budget(consumed=None, remaining=None)
        verdicts = tuple(v.model_copy(update={"state": "unknown"}) for v in verdicts)
        severity, reason = "unknown", untrue
    else:
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


def _measured(slo: SLO, counts: SLICounts, seconds: int, minimum: int | None) -> WindowStatus:
    """One window against its minimum (`min_events` unless it is only ever a short one)."""
    scaled = minimum is not None and minimum != slo.min_events
    return window_status(
        counts,
        objective=slo.objective,
        min_events=slo.min_events if minimum is None else minimum,
        window=format_duration(seconds),
        minimum_name="the short-window minimum" if scaled else "min_events",
    )


def _short_status(
    slo: SLO,
    row: AlertRow,
    counts: Mapping[int, SLICounts],
    statuses: Mapping[int, WindowStatus],
) -> WindowStatus | None:
    """The row's short window against the row's own short minimum: a window that is long
    in another row (6h in 6h/30m, short in 3d/6h) is shown against `min_events`, yet
    serves the 3d/6h row with fewer events."""
    shown = statuses.get(row.short)
    if shown is None or shown.cause != "low-traffic" or row.short not in counts:
        return shown
    return _measured(slo, counts[row.short], row.short, short_minimum(slo.min_events, row))


def period_budget(period: WindowStatus | None, error_budget: float) -> Budget:
    """The budget spent and left, from the status of the SLO period's own window."""
    if period is None or period.error_ratio is None:
        return Budget(consumed=None, remaining=None)
    # The ratio of increases over the whole period, never an average of short ratios.
    consumed = period.error_ratio / error_budget
    return Budget(consumed=consumed, remaining=1.0 - consumed)


def _row(
    row: AlertRow, statuses: Mapping[int, WindowStatus], short: WindowStatus | None
) -> RowVerdict:
    long = statuses.get(row.long)
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
