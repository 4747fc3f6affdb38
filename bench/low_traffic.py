"""A low-traffic breach: when safedeploy and the generated Sloth-style alerts notice it.

Run: `python bench/low_traffic.py [--per-minute N] [--failing SHARE] [--clean MINUTES]
[--minutes MINUTES]`. Records ten requests a minute (by default), clean for a day, then
half of them failing for two hours (testing.low_traffic), and prints, in minutes after
the breach began:

- when `safedeploy generate rules`' ErrorBudgetFastBurn (page) and ErrorBudgetSlowBurn
  (ticket) fire, as `promtool test rules` evaluates them minute by minute;
- when safedeploy's decision breaches a fast-burn row and a slow-burn row, and when its
  severity reaches fast-burn or exhausted (a rollback proposal), on the embedded source
  and on a real Prometheus backfilled with the same counters;
- how many of the ten minutes before the breach safedeploy called the SLO unknown.

Target: both sides page within the breach's first five minutes, within a minute of each
other, and the service is not unknown before the breach.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from safedeploy.adapters.embedded_source import EmbeddedSource
from safedeploy.adapters.prometheus import PrometheusSource
from safedeploy.domain.catalog import Service, select
from safedeploy.generators.rules import generate_rules
from safedeploy.ports import MetricsSource
from safedeploy.usecases.context import Context

# testing/ (the Prometheus fixture and the recording) sits beside safedeploy/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.cli import REPO_ROOT
from testing.history import History
from testing.low_traffic import (
    PROMTOOL,
    SERVICE,
    Breach,
    decision_minute,
    rules_firing,
    safedeploy_firing,
    unknown_minutes,
)
from testing.prometheus import backfill, ensure_installed, serve

TARGET_MINUTES = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/low_traffic.py")
    parser.add_argument("--per-minute", type=int, default=10)
    parser.add_argument("--failing", type=float, default=0.5)
    parser.add_argument("--clean", type=int, default=1_440, help="clean minutes before")
    parser.add_argument("--minutes", type=int, default=120, help="minutes of the breach")
    options = parser.parse_args(argv)
    breach = Breach(options.per_minute, options.failing, options.clean, options.minutes)
    if not PROMTOOL.exists():
        ensure_installed()
    print(
        f"{breach.per_minute} requests a minute, clean for {breach.clean} minutes, then "
        f"{breach.failing:.0%} failing for {breach.minutes} minutes "
        f"(services/{SERVICE}.yaml: 99.9% over 30d, min_events 100)"
    )
    ctx = Context(REPO_ROOT)
    [service] = select(ctx.catalog, [SERVICE])
    with tempfile.TemporaryDirectory(prefix="safedeploy-low-traffic-") as tmp:
        work = Path(tmp)
        history = work / "history.om"
        history.write_text(breach.openmetrics(), encoding="utf-8")
        _, written = generate_rules(ctx, [SERVICE], work)
        started = time.perf_counter()
        rules = rules_firing(breach, written[0], work)
        print(
            f"generated rules (promtool, {time.perf_counter() - started:.1f}s): "
            f"page {_at(rules.page)}, ticket {_at(rules.ticket)}"
        )
        embedded = EmbeddedSource.from_file(history)
        pages = [_report("embedded source", breach, service, embedded)]
        backfill(history, work / "data")
        with serve(work / "data", _no_history()) as running:
            pages.append(_report("real Prometheus", breach, service, PrometheusSource(running.url)))
    met = all(
        p is not None
        and rules.page is not None
        and p <= TARGET_MINUTES
        and abs(p - rules.page) <= 1
        for p in pages
    )
    verdict = "met" if met else "MISSED"
    print(f"target (both page within {TARGET_MINUTES} minutes, a minute apart): {verdict}")
    return 0


def _report(name: str, breach: Breach, service: Service, source: MetricsSource) -> int | None:
    started = time.perf_counter()
    firing = safedeploy_firing(breach, service, source)
    decided = decision_minute(breach, service, source)
    blind = unknown_minutes(breach, service, source)
    print(
        f"safedeploy ({name}, {time.perf_counter() - started:.1f}s): fast-burn row "
        f"{_at(firing.page)}, slow-burn row {_at(firing.ticket)}, rollback-level severity "
        f"{_at(decided)}; unknown in {blind} of the 10 minutes before the breach"
    )
    return firing.page


def _at(minute: int | None) -> str:
    return "never" if minute is None else f"+{minute} min"


def _no_history() -> History:
    """The served data is the breach's, not a generated history: nothing to describe."""
    return History(Path("-"), 0, 0, 60, (), {}, 0, 0)


if __name__ == "__main__":
    sys.exit(main())
