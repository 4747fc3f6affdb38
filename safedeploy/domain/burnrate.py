"""The multiwindow, multi-burn-rate alert table (Google SRE Workbook, "Alerting on SLOs").

Rows are data. The workbook states each row as "this share of the budget spent in the long
window"; the burn-rate factor follows from the SLO period: factor = share x period / long.
For 30 days that gives the familiar 14.4, 6, 3 and 1; for 28 days 13.44, 5.6, 2.8, 0.933.
"""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.catalog import SLO
from safedeploy.domain.durations import format_duration, parse_duration


class AlertRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Literal["fast-burn", "slow-burn"]
    long: int  # seconds
    short: int
    factor: float

    @property
    def label(self) -> str:
        return f"{format_duration(self.long)}/{format_duration(self.short)}"


# (severity, long window, short window, share of the budget spent in the long window)
WORKBOOK_ROWS: tuple[tuple[Literal["fast-burn", "slow-burn"], str, str, float], ...] = (
    ("fast-burn", "1h", "5m", 0.02),
    ("fast-burn", "6h", "30m", 0.05),
    ("slow-burn", "1d", "2h", 0.10),
    ("slow-burn", "3d", "6h", 0.10),
)


@functools.cache
def default_rows(period_seconds: int) -> tuple[AlertRow, ...]:
    # Cached: a catalog has a period or two, and every evaluation of every SLO asks again.
    return tuple(
        AlertRow(
            severity=severity,
            long=parse_duration(long),
            short=parse_duration(short),
            factor=round(share * period_seconds / parse_duration(long), 6),
        )
        for severity, long, short, share in WORKBOOK_ROWS
    )


def alert_rows(slo: SLO) -> tuple[AlertRow, ...]:
    """The service's own rows when it overrides them, else the workbook's for its period."""
    if slo.alerts is not None:
        return tuple(
            AlertRow(
                severity=a.severity,
                long=parse_duration(a.long),
                short=parse_duration(a.short),
                factor=a.factor,
            )
            for a in slo.alerts
        )
    return default_rows(parse_duration(slo.period))


def windows(slo: SLO) -> tuple[int, ...]:
    """Every window the SLO needs, shortest first, the SLO period last."""
    needed = {parse_duration(slo.period)}
    for row in alert_rows(slo):
        needed.update((row.long, row.short))
    return tuple(sorted(needed))
