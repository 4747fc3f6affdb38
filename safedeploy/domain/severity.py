"""Severity: one type and one order for SLOs, services, incidents and reports.

`unknown` ranks above `normal` and below any burn: a service with one unknown SLO and
nothing burning is not healthy, but a burning SLO beside it is the more urgent fact.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, TypeGuard, get_args

Severity = Literal["normal", "unknown", "slow-burn", "fast-burn", "exhausted"]
# The severities an incident can have: the burning ones.
IncidentSeverity = Literal["slow-burn", "fast-burn", "exhausted"]

ORDER: Final[tuple[Severity, ...]] = get_args(Severity)
INCIDENT_SEVERITIES: Final[tuple[IncidentSeverity, ...]] = get_args(IncidentSeverity)
# Severities that open or escalate an incident, and those that also propose a rollback.
BURNING: Final[frozenset[Severity]] = frozenset(INCIDENT_SEVERITIES)
ROLLBACK_ON: Final[frozenset[Severity]] = frozenset({"fast-burn", "exhausted"})


def rank(severity: Severity) -> int:
    return ORDER.index(severity)


def worst(severities: Iterable[Severity]) -> Severity:
    """The most severe of `severities`; `unknown` when there are none."""
    return max(severities, key=rank, default="unknown")


def is_burning(severity: Severity) -> TypeGuard[IncidentSeverity]:
    return severity in BURNING
