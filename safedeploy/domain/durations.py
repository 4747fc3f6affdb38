"""Durations as users write them in service files and on the command line (`5m`, `30d`)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^([0-9]{1,12})([smhdw])$")
# Nothing safedeploy measures spans more; a longer one is a typo that would overflow dates.
LONGEST = 3650 * 86400


def parse_duration(text: str) -> int:
    """Seconds in a Prometheus-style duration with one unit (`90s`, `5m`, `1h`, `30d`)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 5m, 1h or 30d")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    if seconds > LONGEST:
        raise ValueError(f"{text!r} is longer than ten years")
    return seconds


def between(low: str, high: str) -> AfterValidator:
    """A check that a Duration lies from `low` to `high`, both included."""

    def check(value: str) -> str:
        if not parse_duration(low) <= parse_duration(value) <= parse_duration(high):
            raise ValueError(f"{value} is outside {low} to {high}")
        return value

    return AfterValidator(check)


def format_duration(seconds: int) -> str:
    """The shortest exact spelling, so `3600` reads `1h` in tables and PromQL."""
    # Weeks are parsed but never printed: SLO periods read as 28d, the way SREs say them.
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0 and seconds >= _UNITS[unit]:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def _normalised(text: str) -> str:
    return format_duration(parse_duration(text))


Duration = Annotated[str, AfterValidator(_normalised)]
"""A duration string validated and normalised (`60m` becomes `1h`)."""
