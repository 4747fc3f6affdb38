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

from safedeploy.adapters.prometheus_http import PrometheusClient, QueryFailure, Sample
from safedeploy.domain.burnrate import windows
from safedeploy.domain.catalog import Service
from safedeploy.domain.durations import format_duration, parse_duration
from safedeploy.domain.measurements import Measurement
from safedeploy.domain.slo import SLICounts

RECORD = re.compile(r"^slo:sli_error:ratio_rate([0-9]+[smhdw])$")
EVENTS_RECORD = re.compile(r"^slo:sli_events:increase([0-9]+[smhdw])$")


class RecordedSource:
    """Reconcile on the recordings of `safedeploy generate rules` instead of raw counters.

    Each SLO's counts per window come from its recorded events and error ratio
    (`slo:sli_events:increase<w>`, `slo:sli_error:ratio_rate<w>`): errors = ratio x events.
    One query answers every window of every service; a missing recording is a failed
    measurement, so the SLO is unknown, never healthy.
    """

    def __init__(self, client: PrometheusClient) -> None:
        self.client = client

    @property
    def description(self) -> str:
        return f"recording rules in Prometheus at {self.client.url}"

    def slo_counts(
        self, services: Sequence[Service], at: datetime
    ) -> dict[tuple[str, str], dict[int, SLICounts]]:
        names = "|".join(re.escape(s.name) for s in services)
        query = (
            '{__name__=~"slo:sli_error:ratio_rate.+|slo:sli_events:increase.+", '
            f'service=~"{names}"}}'
        )
        with self.client.batch():
            outcome = self.client.instant(query, at)
        found = _recorded(outcome) if not isinstance(outcome, QueryFailure) else {}
        counts: dict[tuple[str, str], dict[int, SLICounts]] = {}
        for service in services:
            for slo in service.spec.slos:
                per_window = {}
                for window in windows(slo):
                    per_window[window] = (
                        SLICounts(total=outcome.measurement())
                        if isinstance(outcome, QueryFailure)
                        else _counts(found, service.name, slo.name, window)
                    )
                counts[(service.name, slo.name)] = per_window
        return counts


def _recorded(result: list[Sample]) -> dict[tuple[str, str, str, int], float | None]:
    """(kind, service, slo, window seconds) -> value, for both recorded families; None for
    a recording answered twice, which no honest server does (the SLO is then unknown)."""
    found: dict[tuple[str, str, str, int], float | None] = {}
    for sample in result:
        name = sample.metric.get("__name__", "")
        for kind, pattern in (("ratio", RECORD), ("events", EVENTS_RECORD)):
            match = pattern.match(name)
            if match is None:
                continue
            key = (kind, sample.metric.get("service", ""), sample.metric.get("slo", ""))
            try:
                value = float(sample.value[1])
            except ValueError:
                continue  # not a number: the recording counts as missing, so unknown
            where = (*key, parse_duration(match.group(1)))
            found[where] = None if where in found else value
    return found


def _counts(
    found: dict[tuple[str, str, str, int], float | None], service: str, slo: str, window: int
) -> SLICounts:
    span = format_duration(window)
    for kind, family in (
        ("events", "slo:sli_events:increase"),
        ("ratio", "slo:sli_error:ratio_rate"),
    ):
        key = (kind, service, slo, window)
        if key in found and found[key] is None:
            lie = f"two series of {family}{span} for {service} {slo}"
            return SLICounts(total=Measurement.invalid(lie))
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
