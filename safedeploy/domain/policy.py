"""Runtime release policy: may this service promote a canary now? Each rule names its numbers.

A rule that fails on known numbers blocks. A rule that cannot be evaluated (unknown data)
never allows: with nothing failing and something unknown, the verdict is "cannot decide".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.canary import CanaryVerdict
from safedeploy.domain.catalog import Service
from safedeploy.domain.durations import parse_duration
from safedeploy.domain.instants import format_instant
from safedeploy.domain.slo import ServiceStatus, SLOStatus

Decision = Literal["GREEN", "RED", "UNKNOWN"]

# The release rule a judged canary adds; its presence is how evidence knows one was judged.
CANARY_RULE = "canary-health"


class RuleResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    outcome: Literal["pass", "fail", "unknown"]
    detail: str
    value: float | None = None
    threshold: float | None = None


class PolicyVerdict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    at: datetime
    decision: Decision
    reason: str
    rules: tuple[RuleResult, ...]

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.outcome == "fail")


def promotion_verdict(
    service: Service,
    status: ServiceStatus,
    freeze_until: datetime | None,
    at: datetime,
    extra: tuple[RuleResult, ...] = (),
) -> PolicyVerdict:
    """Built-in rules, then `extra` ones (the team's Rego denials), into one verdict."""
    policy = service.spec.policy
    rules: list[RuleResult] = []
    for slo in status.slos:
        remaining = slo.budget.remaining
        if remaining is None:
            rules.append(
                RuleResult(
                    rule="budget-exhausted",
                    outcome="unknown",
                    detail=f"{slo.slo}: budget unknown ({slo.reason})",
                )
            )
            continue
        rules.append(
            RuleResult(
                rule="budget-exhausted",
                outcome="fail" if remaining <= 0 else "pass",
                detail=f"{slo.slo}: {remaining:.1%} of the {slo.period} budget left (limit 0%)",
                value=remaining,
                threshold=0.0,
            )
        )
        rules.append(
            RuleResult(
                rule="budget-safety-margin",
                outcome="fail" if remaining < policy.budget_safety_margin else "pass",
                detail=(
                    f"{slo.slo}: {remaining:.1%} budget left, "
                    f"margin {policy.budget_safety_margin:.0%}"
                ),
                value=remaining,
                threshold=policy.budget_safety_margin,
            )
        )
        rules.extend(_burn_rules(slo, policy.max_burn_rate))
    # An SLO that could not be decided (a short window without data, say) never allows,
    # even when its budget and long windows pass.
    rules.extend(
        RuleResult(rule="slo-known", outcome="unknown", detail=f"{slo.slo}: {slo.reason}")
        for slo in status.slos
        if slo.severity == "unknown"
    )
    frozen = freeze_until is not None and freeze_until > at
    rules.append(
        RuleResult(
            rule="freeze-window",
            outcome="fail" if frozen else "pass",
            detail=(
                f"release freeze until {format_instant(freeze_until)}"
                if frozen and freeze_until is not None
                else "no release freeze"
            ),
        )
    )
    return _verdict(service.name, at, (*rules, *extra))


def _burn_rules(status: SLOStatus, limit: float) -> list[RuleResult]:
    """The long windows of the alert table: recent enough to matter, long enough to be fair."""
    slo = status.slo
    results: list[RuleResult] = []
    long_windows = sorted(
        {a.windows.split("/")[0] for a in status.alerts}, key=list(status.windows).index
    )
    for name in long_windows:
        window = status.windows.get(name)
        if window is None or window.burn_rate is None:
            results.append(
                RuleResult(
                    rule="max-burn-rate",
                    outcome="unknown",
                    detail=f"{slo}: {name} burn rate unknown",
                    threshold=limit,
                )
            )
            continue
        results.append(
            RuleResult(
                rule="max-burn-rate",
                outcome="fail" if window.burn_rate > limit else "pass",
                detail=f"{slo}: {name} burn rate {window.burn_rate:.2f}, limit {limit:g}",
                value=window.burn_rate,
                threshold=limit,
            )
        )
    return results


def _verdict(service: str, at: datetime, rules: tuple[RuleResult, ...]) -> PolicyVerdict:
    failed = [r for r in rules if r.outcome == "fail"]
    unknown = [r for r in rules if r.outcome == "unknown"]
    if failed:
        return PolicyVerdict(
            service=service,
            at=at,
            decision="RED",
            reason=f"{failed[0].rule}: {failed[0].detail}",
            rules=rules,
        )
    if unknown:
        return PolicyVerdict(
            service=service,
            at=at,
            decision="UNKNOWN",
            reason=f"cannot decide: {unknown[0].detail}",
            rules=rules,
        )
    return PolicyVerdict(
        service=service, at=at, decision="GREEN", reason="every release rule passes", rules=rules
    )


def release_verdict(
    service: Service,
    status: ServiceStatus,
    *,
    current_freeze: datetime | None,
    at: datetime,
    denials: tuple[RuleResult, ...],
    canary: CanaryVerdict | None,
) -> PolicyVerdict:
    """The release verdict, reconcile's and the gate's alike: may `service` promote at `at`?

    `current_freeze` is the freeze end the control state holds; an exhausted budget seen now
    extends it first. `denials` are the team's Rego rules, `canary` a canary being judged.
    """
    freeze_until = next_freeze(service, status, current_freeze, at)
    return promotion_verdict(service, status, freeze_until, at, (*denials, *canary_rules(canary)))


def next_freeze(
    service: Service, status: ServiceStatus, current: datetime | None, at: datetime
) -> datetime | None:
    """The freeze end after seeing `status`: an exhausted budget starts or extends it."""
    exhausted = any(s.severity == "exhausted" for s in status.slos)
    return freeze_after(exhausted, current, at, parse_duration(service.spec.policy.freeze))


def canary_rules(canary: CanaryVerdict | None) -> tuple[RuleResult, ...]:
    if canary is None or canary.state == "not-running":
        return ()
    outcomes: dict[str, Literal["pass", "fail", "unknown"]] = {
        "healthy": "pass",
        "failing": "fail",
        "unknown": "unknown",
    }
    outcome = outcomes[canary.state]
    return (
        RuleResult(
            rule=CANARY_RULE,
            outcome=outcome,
            detail=canary.detail,
            value=canary.canary_error_ratio,
            threshold=canary.limit,
        ),
    )


def freeze_after(
    exhausted: bool, current: datetime | None, at: datetime, length: int
) -> datetime | None:
    """The freeze end: `length` seconds after the last run that saw the budget exhausted."""
    if not exhausted:
        return current
    candidate = at + timedelta(seconds=length)
    return candidate if current is None or candidate > current else current


def policy_input(
    service: Service, status: ServiceStatus, freeze_until: datetime | None, at: datetime
) -> dict[str, object]:
    """The document team policies (Rego `deny` rules) are evaluated on."""
    return {
        "service": service.name,
        "owner": service.metadata.owner,
        "at": format_instant(at),
        "severity": status.severity,
        "freeze_until": format_instant(freeze_until) if freeze_until else None,
        "policy": service.spec.policy.model_dump(mode="json"),
        "deployment": service.spec.deployment.model_dump(mode="json"),
        "slos": [
            {
                "slo": s.slo,
                "objective": s.objective,
                "period": s.period,
                "severity": s.severity,
                "reason": s.reason,
                "budget_remaining": s.budget.remaining,
                "budget_consumed": s.budget.consumed,
                "burn_rates": {w: v.burn_rate for w, v in s.windows.items()},
            }
            for s in status.slos
        ],
    }


def denial_rules(denials: list[tuple[str, str]]) -> tuple[RuleResult, ...]:
    """(policy file, message) pairs as failed rules named after their file."""
    return tuple(
        RuleResult(rule=f"rego:{file}", outcome="fail", detail=message) for file, message in denials
    )
