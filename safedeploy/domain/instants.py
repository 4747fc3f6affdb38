"""Instants as RFC 3339 UTC strings: how times enter on the command line and leave in JSON."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_instant(text: str) -> datetime:
    """`2026-11-01T00:00:00Z` (or any RFC 3339 offset, or Unix seconds) as an aware UTC time."""
    stripped = text.strip()
    try:
        if stripped.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(stripped), tz=UTC)
        value = datetime.fromisoformat(stripped.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not an RFC 3339 time like 2026-11-01T00:00:00Z") from None
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; add Z for UTC")
    return value.astimezone(UTC)


def format_instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
