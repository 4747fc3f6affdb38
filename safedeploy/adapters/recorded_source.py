"""Error ratios as `safedeploy generate rules` records them, read back from Prometheus.

Recorded series hold ratios, not the counter increases that `ports.MetricsSource` answers
with, so this is no drop-in source for reconcile: it answers what the recording rules
promise, the error ratio per SLO and window, for checking them against the raw counters or
for reading a Prometheus that keeps only the recordings. One query fetches every window of
every service asked for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from safedeploy.domain.catalog import Service
from safedeploy.domain.durations import format_duration, parse_duration
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
