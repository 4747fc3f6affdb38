"""A recorded low-traffic breach, and when each side notices it.

Ten requests a minute, clean for a day, then half of them failing for two hours. The same
per-minute counters are written twice: as OpenMetrics (for safedeploy's sources, the
embedded one or a Prometheus backfilled from it) and as a `promtool test rules` file over
the rules `safedeploy generate rules` writes, with one alert test per minute expecting
silence, so promtool's failures are exactly the minutes each alert fires. Shared by
tests/generators/test_low_traffic_alerts.py and bench/low_traffic.py.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from safedeploy.domain.catalog import Service
from safedeploy.domain.slo import SLOStatus
from safedeploy.ports import MetricsSource
from safedeploy.usecases.slo_status import evaluate_services

PROMTOOL = Path("/usr/bin/promtool")
SERVICE = "checkout"
ALERTS = ("ErrorBudgetFastBurn", "ErrorBudgetSlowBurn")
# promtool's input series start at Unix time 0; the OpenMetrics copy does too.
ORIGIN = datetime(1970, 1, 1, tzinfo=UTC)
_FIRED = re.compile(r"alertname: (\w+), time: ([0-9ywdhms]+),")


@dataclass(frozen=True)
class Breach:
    """`per_minute` requests a minute, clean for `clean` minutes, then `failing` of them
    failing for `minutes` minutes."""

    per_minute: int = 10
    failing: float = 0.5
    clean: int = 1_440
    minutes: int = 120

    @property
    def starts(self) -> datetime:
        return ORIGIN + timedelta(minutes=self.clean)

    def counters(self) -> tuple[list[int], list[int]]:
        """(2xx, 5xx) running totals, one per minute from minute 0 to the breach's end."""
        bad = round(self.per_minute * self.failing)
        ok, errors = [0], [0]
        for minute in range(1, self.clean + self.minutes + 1):
            failing = minute > self.clean
            ok.append(ok[-1] + self.per_minute - (bad if failing else 0))
            errors.append(errors[-1] + (bad if failing else 0))
        return ok, errors

    def openmetrics(self) -> str:
        ok, errors = self.counters()
        lines = ["# TYPE http_requests counter"]
        for code, values in (("200", ok), ("500", errors)):
            series = f'http_requests_total{{service="{SERVICE}",code="{code}"}}'
            lines += [f"{series} {value} {minute * 60}" for minute, value in enumerate(values)]
        return "\n".join([*lines, "# EOF"]) + "\n"

    def promtool_test(self, rule_file: str, minutes: Sequence[int]) -> str:
        """A unit test over `rule_file` expecting no alert at each of `minutes`."""
        ok, errors = self.counters()
        checks = "".join(
            f"      - {{eval_time: {m}m, alertname: {alert}, exp_alerts: []}}\n"
            for m in minutes
            for alert in ALERTS
        )
        return (
            f"rule_files: [{rule_file}]\n"
            "evaluation_interval: 1m\n"
            "tests:\n"
            "  - interval: 1m\n"
            "    input_series:\n"
            f'      - series: \'http_requests_total{{service="{SERVICE}", code="200"}}\'\n'
            f"        values: '{' '.join(map(str, ok))}'\n"
            f'      - series: \'http_requests_total{{service="{SERVICE}", code="500"}}\'\n'
            f"        values: '{' '.join(map(str, errors))}'\n"
            "    alert_rule_test:\n"
            f"{checks}"
        )

    def watched(self, before: int = 10) -> list[int]:
        """The minutes looked at: from `before` minutes ahead of the breach to its end."""
        return list(range(self.clean - before, self.clean + self.minutes + 1))


@dataclass(frozen=True)
class Firing:
    """Minutes after the breach began (negative: before it) at which each signal first
    holds; None when it never does in the watched minutes."""

    page: int | None
    ticket: int | None


def rules_firing(breach: Breach, rule_file: Path, workdir: Path) -> Firing:
    """When the generated alerts fire, as promtool evaluates them minute by minute."""
    minutes = breach.watched()
    test = workdir / "low-traffic-test.yaml"
    test.write_text(breach.promtool_test(rule_file.name, minutes), encoding="utf-8")
    done = subprocess.run(
        [str(PROMTOOL), "test", "rules", test.name],
        cwd=rule_file.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    fired: dict[str, list[int]] = {alert: [] for alert in ALERTS}
    for alert, when in _FIRED.findall(done.stdout + done.stderr):
        fired[alert].append(_minutes(when))
    if done.returncode not in (0, 1) or (done.returncode == 1 and not any(fired.values())):
        raise RuntimeError(f"promtool test rules failed: {done.stdout[-500:]}{done.stderr[-500:]}")
    return Firing(
        page=_first(fired["ErrorBudgetFastBurn"], breach),
        ticket=_first(fired["ErrorBudgetSlowBurn"], breach),
    )


def safedeploy_firing(breach: Breach, service: Service, source: MetricsSource) -> Firing:
    """When safedeploy's decision breaches a fast-burn row (a page) and a slow-burn row (a
    ticket), evaluated at every watched minute: the rows the generated alerts encode."""
    fired: dict[str, list[int]] = {"fast-burn": [], "slow-burn": []}
    for minute in breach.watched():
        for severity in _breached(service, source, minute):
            fired[severity].append(minute)
    return Firing(
        page=_first(fired["fast-burn"], breach), ticket=_first(fired["slow-burn"], breach)
    )


def decision_minute(breach: Breach, service: Service, source: MetricsSource) -> int | None:
    """The first watched minute at which the availability SLO's severity is fast-burn or
    exhausted: what makes reconcile propose a rollback."""
    for minute in breach.watched():
        if _availability(service, source, minute).severity in ("fast-burn", "exhausted"):
            return minute - breach.clean
    return None


def _availability(service: Service, source: MetricsSource, minute: int) -> SLOStatus:
    [status] = evaluate_services([service], source, ORIGIN + timedelta(minutes=minute))
    return next(s for s in status.slos if s.kind == "availability")


def _breached(service: Service, source: MetricsSource, minute: int) -> set[str]:
    return {
        v.severity for v in _availability(service, source, minute).alerts if v.state == "breached"
    }


def unknown_minutes(breach: Breach, service: Service, source: MetricsSource) -> int:
    """Watched minutes before the breach at which the availability SLO was unknown."""
    before = [m for m in breach.watched() if m < breach.clean]
    return sum(_availability(service, source, m).severity == "unknown" for m in before)


_UNIT_MINUTES = {"w": 10_080, "d": 1_440, "h": 60, "m": 1}


def _minutes(text: str) -> int:
    """A Prometheus duration as promtool prints it (`1d30m`), in whole minutes."""
    return sum(
        int(count) * _UNIT_MINUTES[unit]
        for count, unit in re.findall(r"(\d+)([wdhms])", text)
        if unit != "s"
    )


def _first(minutes: list[int], breach: Breach) -> int | None:
    return min(minutes) - breach.clean if minutes else None
