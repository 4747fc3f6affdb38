"""The generated recording rules, evaluated by a real Prometheus over backfilled history,
must give the error ratios `evaluate_services` computes from the raw counters."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.prometheus import PrometheusSource
from safedeploy.adapters.prometheus_http import PrometheusClient, Sample
from safedeploy.adapters.recorded_source import RecordedSource, _counts, _recorded
from safedeploy.domain.catalog import Service
from safedeploy.domain.durations import parse_duration
from safedeploy.usecases.slo_status import evaluate_services
from testing.cli import REPO_ROOT
from testing.history import T_END, T_END_SECONDS
from testing.prometheus import RunningPrometheus

pytestmark = pytest.mark.prometheus
RELATIVE = 1e-3


def services() -> list[Service]:
    return list(load_catalog([REPO_ROOT / "services"]).services)


@pytest.fixture
def recorded(recorded_prometheus: RunningPrometheus) -> RunningPrometheus:
    """A second server over the raw history plus the backfilled recordings."""
    return recorded_prometheus


def recording_instants(url: str) -> dict[str, datetime]:
    """When each service's recording group last ran up to T_END. Prometheus (and promtool)
    offset every group inside the interval by a hash of its name, so this is not T_END."""
    response = httpx.get(
        f"{url}/api/v1/query",
        params={"query": "timestamp(slo:sli_error:ratio_rate5m)", "time": T_END_SECONDS},
    )
    instants: dict[str, datetime] = {}
    for sample in response.json()["data"]["result"]:
        stamp = datetime.fromtimestamp(float(sample["value"][1]), UTC)
        instants[sample["metric"]["service"]] = stamp
    return instants


def test_recordings_are_fresh(recorded: RunningPrometheus) -> None:
    instants = recording_instants(recorded.url)
    assert set(instants) == {"checkout", "payments", "search"}
    # Each group's slots are offset by a hash that includes its rule file's path, a fresh
    # temporary directory each run; promtool may then leave out the slot just before the
    # end. Two intervals still fail a backfill that stopped short.
    for stamp in instants.values():
        assert T_END - timedelta(seconds=120) < stamp <= T_END


def test_recorded_ratios_equal_the_engine_on_raw_counters(recorded: RunningPrometheus) -> None:
    compared = 0
    highest = 0.0
    instants = recording_instants(recorded.url)
    source = PrometheusSource(recorded.url)
    for service in services():
        # The engine and the recording at the very same instant: a minute apart, the 5m
        # ratio of a burning service moves by more than the tolerance.
        at = instants[service.name]
        counts = RecordedSource(PrometheusClient(recorded.url)).slo_counts([service], at)
        for slo in evaluate_services([service], source, at)[0].slos:
            for window, measured in slo.windows.items():
                if measured.error_ratio is None:
                    continue
                recorded_counts = counts[(service.name, slo.slo)][parse_duration(window)]
                assert recorded_counts.errors is not None
                errors, total = recorded_counts.errors.value, recorded_counts.total.value
                assert errors is not None and total
                got = errors / total
                assert got == pytest.approx(measured.error_ratio, rel=RELATIVE, abs=1e-12), (
                    service.name, slo.slo, window,
                )  # fmt: skip
                highest = max(highest, got)
                compared += 1
    # 3 services x 2 SLOs x 8 windows: every one of them had traffic to compare.
    assert compared == 48
    # The history burns: a comparison of zeros would prove nothing.
    assert highest > 0.01


def test_unreachable_prometheus_makes_every_slo_unknown_naming_it() -> None:
    client = PrometheusClient("http://127.0.0.1:9", timeout=0.5, retries=0)
    [status] = evaluate_services(services()[:1], RecordedSource(client), T_END)
    assert status.severity == "unknown"
    for slo in status.slos:
        assert slo.no_data
        assert "http://127.0.0.1:9/api/v1/query failed for" in slo.reason
        assert "cannot connect" in slo.reason


def test_recordings_are_read_by_kind_service_slo_and_window() -> None:
    def sample(name: str, slo: str, value: str, service: str = "checkout") -> Sample:
        return Sample(metric={"__name__": name, "service": service, "slo": slo}, value=(0, value))

    found = _recorded(
        [
            sample("slo:sli_error:ratio_rate1h", "availability", "0.25"),
            sample("slo:sli_error:ratio_rate60m", "latency", "0.5"),
            sample("slo:sli_events:increase5m", "availability", "120"),
            sample("slo:sli_error:ratio_rate5m", "availability", "NaN", service="elsewhere"),
            sample("slo:sli_error:ratio_rate5m", "availability", "not a number"),
            sample("up", "availability", "1"),
        ]
    )
    assert found[("ratio", "checkout", "availability", 3600)] == 0.25
    assert found[("ratio", "checkout", "latency", 3600)] == 0.5
    assert found[("events", "checkout", "availability", 300)] == 120
    assert math.isnan(found[("ratio", "elsewhere", "availability", 300)])
    # A value that is not a number is no recording at all: the window stays unknown.
    assert ("ratio", "checkout", "availability", 300) not in found
    assert len(found) == 4


def test_a_recording_answered_twice_makes_its_slo_unknown() -> None:
    def sample(name: str, value: str) -> Sample:
        labels = {"__name__": name, "service": "checkout", "slo": "availability"}
        return Sample(metric=labels, value=(0, value))

    found = _recorded(
        [
            sample("slo:sli_events:increase1h", "1000"),
            sample("slo:sli_events:increase1h", "10"),
            sample("slo:sli_error:ratio_rate1h", "0.5"),
        ]
    )
    assert found[("events", "checkout", "availability", 3600)] is None
    counts = _counts(found, "checkout", "availability", 3600)
    assert counts.total.status == "invalid"
    assert (
        counts.total.reason == "two series of slo:sli_events:increase1h for checkout availability"
    )


def test_reconcile_on_recordings_decides_as_on_raw_counters(
    recorded: RunningPrometheus,
) -> None:
    """`prometheus.read = "recorded"`: the same severities, burn rates and budgets."""
    instants = recording_instants(recorded.url)
    compared = 0
    seen: set[str] = set()
    for service in services():
        at = instants[service.name]
        [raw] = evaluate_services([service], PrometheusSource(recorded.url), at)
        [rec] = evaluate_services([service], RecordedSource(PrometheusClient(recorded.url)), at)
        assert rec.severity == raw.severity, service.name
        seen.add(rec.severity)
        for raw_slo, rec_slo in zip(raw.slos, rec.slos, strict=True):
            assert rec_slo.severity == raw_slo.severity, (service.name, raw_slo.slo)
            assert [a.state for a in rec_slo.alerts] == [a.state for a in raw_slo.alerts]
            for window, measured in raw_slo.windows.items():
                got = rec_slo.windows[window]
                assert got.total == pytest.approx(measured.total, rel=RELATIVE)
                if measured.burn_rate is not None:
                    assert got.burn_rate == pytest.approx(
                        measured.burn_rate, rel=RELATIVE, abs=1e-9
                    ), (service.name, raw_slo.slo, window)
                    compared += 1
            assert rec_slo.budget.remaining == pytest.approx(
                raw_slo.budget.remaining, rel=RELATIVE, abs=1e-9
            )
    assert compared == 48
    # The history burns: agreeing on "normal" everywhere would prove little.
    assert "fast-burn" in seen


def test_missing_recordings_make_the_slo_unknown(prometheus: RunningPrometheus) -> None:
    """A Prometheus without the rules: every SLO unknown, naming the missing recording."""
    [status] = evaluate_services(
        services()[:1], RecordedSource(PrometheusClient(prometheus.url)), T_END
    )
    assert status.severity == "unknown"
    for slo in status.slos:
        assert slo.severity == "unknown"
        assert "no recording slo:sli_events:increase" in slo.reason
