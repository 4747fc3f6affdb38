"""The alert table as data: workbook factors per period, overrides, windows, ordering."""

from __future__ import annotations

import pytest

from safedeploy.domain.burnrate import (
    AlertRow,
    alert_rows,
    default_rows,
    windows,
)
from safedeploy.domain.catalog import SLO

DAY = 86_400


def slo(**fields: object) -> SLO:
    data: dict[str, object] = {
        "name": "availability",
        "objective": 0.999,
        "sli": {"errors": 'req{service="a", code=~"5.."}', "total": 'req{service="a"}'},
    }
    data.update(fields)
    return SLO.model_validate(data)


def table(rows: tuple[AlertRow, ...]) -> list[tuple[str, str, float]]:
    return [(row.severity, row.label, row.factor) for row in rows]


def test_thirty_day_rows_are_the_workbook_table() -> None:
    assert table(default_rows(30 * DAY)) == [
        ("fast-burn", "1h/5m", 14.4),
        ("fast-burn", "6h/30m", 6.0),
        ("slow-burn", "1d/2h", 3.0),
        ("slow-burn", "3d/6h", 1.0),
    ]


def test_twenty_eight_day_rows_scale_with_the_period() -> None:
    rows = default_rows(28 * DAY)
    assert [r.label for r in rows] == ["1h/5m", "6h/30m", "1d/2h", "3d/6h"]
    assert [r.factor for r in rows] == pytest.approx([13.44, 5.6, 2.8, 0.933333], abs=1e-6)
    assert rows[3].factor == pytest.approx(28 / 30, abs=1e-6)


def test_rows_in_seconds() -> None:
    rows = default_rows(30 * DAY)
    assert [(r.long, r.short) for r in rows] == [
        (3_600, 300),
        (21_600, 1_800),
        (DAY, 7_200),
        (3 * DAY, 21_600),
    ]


def test_slo_without_override_uses_its_period() -> None:
    assert table(alert_rows(slo(period="28d")))[0] == ("fast-burn", "1h/5m", 13.44)
    assert table(alert_rows(slo()))[0] == ("fast-burn", "1h/5m", 14.4)


def test_override_replaces_the_whole_table() -> None:
    custom = slo(
        period="28d",
        alerts=[
            {"severity": "fast-burn", "long": "2h", "short": "10m", "factor": 10},
            {"severity": "slow-burn", "long": "2d", "short": "4h", "factor": 1.5},
        ],
    )
    assert table(alert_rows(custom)) == [
        ("fast-burn", "2h/10m", 10.0),
        ("slow-burn", "2d/4h", 1.5),
    ]
    # The period is still measured for the budget, after every alert window.
    assert windows(custom) == (600, 7_200, 14_400, 2 * DAY, 28 * DAY)


def test_windows_are_sorted_unique_with_the_period_last() -> None:
    assert windows(slo()) == (300, 1_800, 3_600, 7_200, 21_600, DAY, 3 * DAY, 30 * DAY)
