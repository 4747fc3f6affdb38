"""A low-traffic breach pages on both sides: the generated alerts (as promtool evaluates
them) and safedeploy's own decision, within minutes of each other.

Ten requests a minute, half of them failing: the 1h window holds 600 events, above
min_events 100, and the 5m window 50, above its share of it (9). With min_events applied
to the 5m window too, safedeploy never paged here. The full day of history and a real
Prometheus are in bench/low_traffic.py; three clean hours keep this under a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from safedeploy.adapters.embedded_source import EmbeddedSource
from safedeploy.domain.catalog import select
from safedeploy.generators.rules import generate_rules
from safedeploy.usecases.context import Context
from testing.cli import REPO_ROOT
from testing.low_traffic import (
    PROMTOOL,
    SERVICE,
    Breach,
    Firing,
    decision_minute,
    rules_firing,
    safedeploy_firing,
    unknown_minutes,
)

BREACH = Breach(per_minute=10, failing=0.5, clean=180, minutes=15)


@pytest.mark.skipif(not PROMTOOL.exists(), reason="promtool is not installed")
def test_a_low_traffic_breach_pages_on_both_sides_within_minutes(tmp_path: Path) -> None:
    ctx = Context(REPO_ROOT)
    [service] = select(ctx.catalog, [SERVICE])
    history = tmp_path / "history.om"
    history.write_text(BREACH.openmetrics(), encoding="utf-8")
    _, written = generate_rules(ctx, [SERVICE], tmp_path)
    rules = rules_firing(BREACH, written[0], tmp_path)
    source = EmbeddedSource.from_file(history)
    decided = safedeploy_firing(BREACH, service, source)
    assert rules.page is not None and 0 < rules.page <= 5, rules
    # Rule groups are evaluated independently (promtool, like Prometheus, in no fixed
    # order): an alert group evaluated before its recordings sees the minute before, so
    # the generated alerts fire at the same minute as safedeploy or one after.
    assert decided.page is not None and 0 <= rules.page - decided.page <= 1, (decided, rules)
    assert decided.ticket is not None and rules.ticket is not None
    assert 0 <= rules.ticket - decided.ticket <= 1, (decided, rules)
    rollback = decision_minute(BREACH, service, source)
    assert rollback is not None and 0 < rollback <= 5
    # Never unknown while clean: the short window's share of min_events is met throughout.
    assert unknown_minutes(BREACH, service, source) == 0


def test_the_measurement_sees_silence_before_the_breach(tmp_path: Path) -> None:
    """The harness can say "never": with nothing failing no row fires on safedeploy's side."""
    clean = Breach(per_minute=10, failing=0.0, clean=180, minutes=15)
    history = tmp_path / "history.om"
    history.write_text(clean.openmetrics(), encoding="utf-8")
    [service] = select(Context(REPO_ROOT).catalog, [SERVICE])
    source = EmbeddedSource.from_file(history)
    assert safedeploy_firing(clean, service, source) == Firing(page=None, ticket=None)
    assert decision_minute(clean, service, source) is None
