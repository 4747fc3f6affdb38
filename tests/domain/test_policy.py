"""The runtime release policy on hand-made evaluations: every rule, its numbers, its edges,
and the rule that unknown data never lets a promotion through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safedeploy.domain.burnrate import windows
from safedeploy.domain.catalog import SLO, Service
from safedeploy.domain.durations import format_duration
from safedeploy.domain.measurements import Measurement
from safedeploy.domain.policy import PolicyVerdict, freeze_after, promotion_verdict
from safedeploy.domain.slo import ServiceStatus, SLICounts, evaluate, service_status
from testing.builders import checkout_service

AT = datetime(2026, 11, 1, tzinfo=UTC)
TOTAL = 100_000
PERIOD_TOTAL = 10_000_000
LONG_WINDOWS = ("1h", "6h", "1d", "3d")


def make_service(**policy: Any) -> Service:
    return checkout_service(**policy)


SERVICE = make_service()


def status(
    consumed: float = 0.2,
    burns: dict[str, float] | None = None,
    *,
    unknown: tuple[str, ...] = (),
    service: Service = SERVICE,
) -> ServiceStatus:
    """`consumed` of the period budget spent; `burns` per window (default 0.5); `unknown`
    windows whose source failed."""
    slo: SLO = service.spec.slos[0]
    budget = 1 - slo.objective
    counts: dict[int, SLICounts] = {}
    for seconds in windows(slo):
        name = format_duration(seconds)
        if name in unknown:
            failed = Measurement.failed("timeout")
            counts[seconds] = SLICounts(total=failed, errors=failed)
            continue
        total = PERIOD_TOTAL if name == slo.period else TOTAL
        burn = consumed if name == slo.period else (burns or {}).get(name, 0.5)
        errors = round(burn * budget * total)
        counts[seconds] = SLICounts(total=Measurement.of(total), errors=Measurement.of(errors))
    evaluated = evaluate(service.name, slo, counts, AT)
    return service_status(service.name, (evaluated,), AT)


def verdict(
    seen: ServiceStatus, freeze_until: datetime | None = None, service: Service = SERVICE
) -> PolicyVerdict:
    return promotion_verdict(service, seen, freeze_until, AT)


def outcomes(result: PolicyVerdict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for rule in result.rules:
        found.setdefault(rule.rule, []).append(rule.outcome)
    return found


def test_a_healthy_service_may_promote_and_every_rule_says_why() -> None:
    result = verdict(status(consumed=0.2))
    assert result.decision == "GREEN"
    assert result.reason == "every release rule passes"
    assert result.failed == ()
    assert outcomes(result) == {
        "budget-exhausted": ["pass"],
        "budget-safety-margin": ["pass"],
        "max-burn-rate": ["pass"] * 4,
        "freeze-window": ["pass"],
    }
    details = [r.detail for r in result.rules]
    assert "availability: 80.0% of the 30d budget left (limit 0%)" in details
    assert "availability: 80.0% budget left, margin 10%" in details
    assert [d for d in details if "burn rate" in d] == [
        f"availability: {w} burn rate 0.50, limit 2" for w in LONG_WINDOWS
    ]
    assert "no release freeze" in details


def test_an_exhausted_budget_blocks_with_its_numbers() -> None:
    result = verdict(status(consumed=1.25))
    assert result.decision == "RED"
    first = result.failed[0]
    assert (first.rule, first.threshold) == ("budget-exhausted", 0.0)
    assert first.value == pytest.approx(-0.25)
    assert (
        result.reason == "budget-exhausted: availability: -25.0% of the 30d budget left (limit 0%)"
    )
    assert [r.rule for r in result.failed] == ["budget-exhausted", "budget-safety-margin"]


def test_exactly_spent_is_exhausted() -> None:
    result = verdict(status(consumed=1.0))
    assert result.failed[0].rule == "budget-exhausted"
    assert result.failed[0].value == 0.0


def test_under_the_safety_margin_blocks() -> None:
    result = verdict(status(consumed=0.95))
    assert result.decision == "RED"
    assert [r.rule for r in result.failed] == ["budget-safety-margin"]
    assert result.failed[0].threshold == 0.1
    assert result.failed[0].value == pytest.approx(0.05)
    assert result.reason == "budget-safety-margin: availability: 5.0% budget left, margin 10%"


def test_the_margin_comes_from_the_policy() -> None:
    strict = make_service(budget_safety_margin=0.5)
    assert verdict(status(consumed=0.6, service=strict), service=strict).decision == "RED"
    assert verdict(status(consumed=0.4, service=strict), service=strict).decision == "GREEN"


@pytest.mark.parametrize("window", LONG_WINDOWS)
def test_a_long_window_over_the_burn_limit_blocks(window: str) -> None:
    result = verdict(status(burns={window: 2.5}))
    assert result.decision == "RED"
    assert [r.rule for r in result.failed] == ["max-burn-rate"]
    assert result.failed[0].detail == f"availability: {window} burn rate 2.50, limit 2"
    assert (result.failed[0].value, result.failed[0].threshold) == (2.5, 2.0)


def test_the_burn_limit_itself_is_allowed_and_short_windows_do_not_count() -> None:
    assert verdict(status(burns={"1h": 2.0})).decision == "GREEN"
    assert verdict(status(burns={"5m": 50.0, "30m": 50.0, "2h": 50.0})).decision == "GREEN"
    lenient = make_service(max_burn_rate=3)
    assert verdict(status(burns={"1d": 2.5}, service=lenient), service=lenient).decision == "GREEN"


def test_an_active_freeze_blocks_until_its_end() -> None:
    until = AT + timedelta(hours=3)
    result = verdict(status(), freeze_until=until)
    assert result.decision == "RED"
    assert result.reason == "freeze-window: release freeze until 2026-11-01T03:00:00Z"
    assert verdict(status(), freeze_until=AT).decision == "GREEN", "the end is exclusive"
    assert verdict(status(), freeze_until=AT - timedelta(seconds=1)).decision == "GREEN"


def test_unknown_data_never_allows() -> None:
    result = verdict(status(unknown=("30d",)))
    assert result.decision == "UNKNOWN"
    assert result.reason.startswith("cannot decide: availability: budget unknown (")
    unknown_burn = verdict(status(unknown=("6h",)))
    assert unknown_burn.decision == "UNKNOWN"
    assert unknown_burn.reason == "cannot decide: availability: 6h burn rate unknown"


def test_a_known_failure_outweighs_unknown_data() -> None:
    result = verdict(status(unknown=("30d",)), freeze_until=AT + timedelta(hours=1))
    assert result.decision == "RED"
    assert [r.rule for r in result.failed] == ["freeze-window"]
    assert verdict(status(burns={"1h": 9.0}, unknown=("6h",))).decision == "RED"


def test_the_verdict_round_trips_as_json() -> None:
    result = verdict(status(consumed=0.95), freeze_until=AT + timedelta(hours=1))
    assert PolicyVerdict.model_validate_json(result.model_dump_json()) == result


# -- freeze windows ---------------------------------------------------------------------

DAY = 86_400


def test_freeze_starts_when_exhausted() -> None:
    assert freeze_after(True, None, AT, DAY) == AT + timedelta(days=1)


def test_freeze_is_kept_but_not_extended_when_not_exhausted() -> None:
    until = AT + timedelta(hours=5)
    assert freeze_after(False, until, AT, DAY) == until
    assert freeze_after(False, None, AT, DAY) is None


def test_freeze_extends_from_the_last_exhausted_run_and_never_shrinks() -> None:
    until = AT + timedelta(hours=5)
    assert freeze_after(True, until, AT + timedelta(hours=1), DAY) == AT + timedelta(hours=25)
    far = AT + timedelta(days=3)
    assert freeze_after(True, far, AT, DAY) == far


instants = st.integers(min_value=0, max_value=30 * DAY).map(lambda s: AT + timedelta(seconds=s))


@settings(max_examples=200)
@given(
    exhausted=st.booleans(),
    current=st.none() | instants,
    at=instants,
    length=st.integers(min_value=60, max_value=7 * DAY),
)
def test_freeze_never_ends_earlier_and_covers_every_exhausted_run(
    exhausted: bool, current: datetime | None, at: datetime, length: int
) -> None:
    until = freeze_after(exhausted, current, at, length)
    if current is not None:
        assert until is not None and until >= current
    if exhausted:
        assert until is not None and until >= at + timedelta(seconds=length)
    else:
        assert until == current


burn_values = st.floats(min_value=0, max_value=40, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    consumed=st.floats(min_value=0, max_value=1.5, allow_nan=False),
    burns=st.fixed_dictionaries({w: burn_values for w in LONG_WINDOWS}),
    unknown=st.lists(st.sampled_from([*LONG_WINDOWS, "30d"]), unique=True, max_size=2),
    frozen_for=st.none() | st.integers(min_value=-DAY, max_value=DAY),
)
def test_the_decision_follows_from_the_rules(
    consumed: float,
    burns: dict[str, float],
    unknown: list[str],
    frozen_for: int | None,
) -> None:
    until = None if frozen_for is None else AT + timedelta(seconds=frozen_for)
    result = verdict(status(consumed, burns, unknown=tuple(unknown)), freeze_until=until)
    states = {r.outcome for r in result.rules}
    expected = "RED" if "fail" in states else "UNKNOWN" if "unknown" in states else "GREEN"
    assert result.decision == expected
    if result.decision == "GREEN":
        # Counts are whole requests: burn rates move in steps of 0.01, the budget of 1e-4.
        assert not unknown
        assert 1 - consumed >= 0.1 - 1e-4
        assert all(b <= 2.0 + 0.005 for b in burns.values())
        assert until is None or until <= AT
    if result.decision == "RED":
        assert result.reason == f"{result.failed[0].rule}: {result.failed[0].detail}"
    assert all(r.value is not None for r in result.rules if r.outcome == "fail" and r.threshold)


@pytest.mark.parametrize("window", ["5m", "30m", "2h"])  # short windows only
def test_an_unknown_slo_never_allows_even_with_its_budget_and_long_windows_passing(
    window: str,
) -> None:
    seen = status(consumed=0.2, unknown=(window,))
    assert seen.severity == "unknown"
    result = verdict(seen)
    assert result.decision == "UNKNOWN"
    assert outcomes(result)["slo-known"] == ["unknown"]
    expected = f"availability: {window}: no data for the total (timeout)"
    assert result.reason == f"cannot decide: {expected}"
