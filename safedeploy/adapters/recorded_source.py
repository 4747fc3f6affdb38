"""Error ratios as `safedeploy generate rules` records them, read back from Prometheus.

Recorded series hold ratios and event counts per SLO, not the counter increases that
`ports.MetricsSource` answers with, so `RecordedSource` answers per SLO instead
(`ports.SLOCountsSource`); reconcile uses it with `prometheus.read = "recorded"`. One query
fetches every window of every service asked for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from safedeploy.domain.burnrate import windows
from safedeploy.domain.catalog import Service
from safedeploy.domain.durations import format_duration, parse_duration
from safedeploy.domain.measurements import Measurement
from safedeploy.domain.slo import SLICounts
from safedeploy.errors import DataSourceError

RECORD = re.compile(r"^slo:sli_error:ratio_rate([0-9]+[smhdw])$")

# (service, slo) -> window as safedeploy spells it ("5m", "30d") -> error ratio
ErrorRatios = dict[tuple[str, str], dict[str, float]]


def recorded_query(services: Sequence[Service]) -> str:
    names = "|".join(re.escape(s.name) for s in services)
    return f'{{__name__=~"slo:sli_error:ratio_rate.+", service=~"{names}"}}'


def parse_ratios(result: list[dict[str, Any]], services: Sequence[Service]) -> ErrorRatios:
    """Ratios of the SLOs in `services`; series of other SLOs, and NaN (no traffic), dropped."""
    wanted = {(s.name, slo.name) for s in services for slo in s.spec.slos}
    ratios: ErrorRatios = {}
    for sample in result:
        metric = sample.get("metric", {})
        match = RECORD.match(str(metric.get("__name__", "")))
        key = (str(metric.get("service")), str(metric.get("slo")))
        if match is None or key not in wanted:
            continue
        value = float(sample["value"][1])
        if not math.isfinite(value):  # 0/0 over a window without events: not a ratio
            continue
        window = format_duration(parse_duration(match.group(1)))
        ratios.setdefault(key, {})[window] = value
    return ratios


def recorded_error_ratios(
    url: str, services: Sequence[Service], at: datetime, *, timeout: float = 10.0
) -> ErrorRatios:
    """Every recorded error ratio of `services` at `at`; DataSourceError if the query fails."""
    import httpx

    query = recorded_query(services)
    where = f"{url.rstrip('/')}/api/v1/query"
    try:
        response = httpx.post(
            where, data={"query": query, "time": f"{at.timestamp():.3f}"}, timeout=timeout
        )
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DataSourceError(f"{where} failed for {query}: {type(exc).__name__}") from None
    if response.status_code != 200 or body.get("status") != "success":
        detail = body.get("error", f"HTTP {response.status_code}") if isinstance(body, dict) else ""
        raise DataSourceError(f"{where} refused {query}: {detail}")
    return parse_ratios(body["data"]["result"], services)


EVENTS_RECORD = re.compile(r"^slo:sli_events:increase([0-9]+[smhdw])$")


class RecordedSource:
    """Reconcile on the recordings of `safedeploy generate rules` instead of raw counters.

    Each SLO's counts per window come from its recorded events and error ratio
    (`slo:sli_events:increase<w>`, `slo:sli_error:ratio_rate<w>`): errors = ratio x events.
    One query answers every window of every service; a missing recording is a failed
    measurement, so the SLO is unknown, never healthy.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    @property
    def description(self) -> str:
        return f"recording rules in Prometheus at {self.url}"

    def slo_counts(
        self, services: Sequence[Service], at: datetime
    ) -> dict[tuple[str, str], dict[int, SLICounts]]:
        import httpx

        names = "|".join(re.escape(s.name) for s in services)
        query = (
            '{__name__=~"slo:sli_error:ratio_rate.+|slo:sli_events:increase.+", '
            f'service=~"{names}"}}'
        )
        where = f"{self.url.rstrip('/')}/api/v1/query"
        try:
            response = httpx.post(
                where,
                data={"query": query, "time": f"{at.timestamp():.3f}"},
                timeout=self.timeout,
            )
            body = response.json()
            ok = response.status_code == 200 and body.get("status") == "success"
            result = body["data"]["result"] if ok else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            result, failure = None, f"{where} failed for {query}: {type(exc).__name__}"
        else:
            failure = f"{where} refused {query}: HTTP {response.status_code}"
        found = _recorded(result or [])
        counts: dict[tuple[str, str], dict[int, SLICounts]] = {}
        for service in services:
            for slo in service.spec.slos:
                per_window = {}
                for window in windows(slo):
                    per_window[window] = (
                        _counts(found, service.name, slo.name, window)
                        if result is not None
                        else SLICounts(total=Measurement.failed(failure))
                    )
                counts[(service.name, slo.name)] = per_window
        return counts


def _recorded(result: list[dict[str, Any]]) -> dict[tuple[str, str, str, int], float]:
    """(kind, service, slo, window seconds) -> value, for both recorded families."""
    found: dict[tuple[str, str, str, int], float] = {}
    for sample in result:
        metric = sample.get("metric", {})
        name = str(metric.get("__name__", ""))
        for kind, pattern in (("ratio", RECORD), ("events", EVENTS_RECORD)):
            match = pattern.match(name)
            if match is not None:
                key = (kind, str(metric.get("service")), str(metric.get("slo")))
                found[(*key, parse_duration(match.group(1)))] = float(sample["value"][1])
    return found


def _counts(
    found: dict[tuple[str, str, str, int], float], service: str, slo: str, window: int
) -> SLICounts:
    span = format_duration(window)
    events = found.get(("events", service, slo, window))
    if events is None:
        return SLICounts(
            total=Measurement.failed(f"no recording slo:sli_events:increase{span} for {service}")
        )
    total = Measurement.of(events)
    ratio = found.get(("ratio", service, slo, window))
    if ratio is None or not math.isfinite(ratio):
        # No events in the window makes the recorded ratio 0/0; with events it is missing.
        errors = (
            Measurement.of(0.0)
            if events == 0
            else Measurement.failed(f"no recording slo:sli_error:ratio_rate{span} for {service}")
        )
        return SLICounts(total=total, errors=errors)
    return SLICounts(total=total, errors=Measurement.of(ratio * events))
