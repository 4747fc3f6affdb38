"""Parity with a real Prometheus 2.42: the embedded increase() over the generated file must
give the server's own numbers, and both must recover what the generator intended."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from safedeploy.adapters.openmetrics import Matcher, SeriesStore, load_openmetrics
from safedeploy.domain.increase import increase
from testing.history import BUCKET, COUNT, LATENCY_THRESHOLD, REQUESTS, WINDOWS
from testing.prometheus import PrometheusUnavailableError, RunningPrometheus, backfill

pytestmark = pytest.mark.prometheus

METRICS = (REQUESTS, BUCKET, COUNT)
# Off the one-minute sample grid, to the millisecond Prometheus keeps.
UNALIGNED_SHIFT = 17.25

LabelKey = tuple[tuple[str, str], ...]


@pytest.fixture(scope="module")
def store(prometheus: RunningPrometheus) -> SeriesStore:
    return load_openmetrics(prometheus.history.path)


@pytest.fixture(scope="module")
def client(prometheus: RunningPrometheus) -> Iterator[httpx.Client]:
    # One connection for every query: connection setup would cost more than the queries.
    with httpx.Client(base_url=prometheus.url, timeout=10) as http:
        yield http


def query(client: httpx.Client, promql: str, at: float) -> dict[LabelKey, float]:
    response = client.get("/api/v1/query", params={"query": promql, "time": f"{at:.3f}"})
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return {
        tuple(sorted(item["metric"].items())): float(item["value"][1])
        for item in body["data"]["result"]
    }


def embedded(store: SeriesStore, metric: str, window: int, at: float) -> dict[LabelKey, float]:
    results = {}
    for series in store.select(metric):
        value = increase(series.times, series.values, at - window, at)
        if value is not None:
            results[series.labels] = value
    return results


def relative_difference(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else 0.0


@pytest.mark.parametrize(("shift", "tolerance"), [(0.0, 1e-6), (UNALIGNED_SHIFT, 1e-3)])
@pytest.mark.parametrize("metric", METRICS)
def test_embedded_increase_matches_prometheus(
    prometheus: RunningPrometheus,
    store: SeriesStore,
    client: httpx.Client,
    metric: str,
    shift: float,
    tolerance: float,
) -> None:
    at = prometheus.at_seconds - shift
    worst = 0.0
    for name, seconds in WINDOWS.items():
        server = query(client, f"increase({metric}[{name}])", at)
        ours = embedded(store, metric, seconds, at)
        assert server.keys() == ours.keys(), name
        for key, value in server.items():
            difference = relative_difference(ours[key], value)
            assert difference <= tolerance, (name, key, ours[key], value)
            worst = max(worst, difference)
    print(f"{metric} shift={shift}: worst relative difference {worst:.2e}")


def test_every_scenario_has_data_in_every_window(
    prometheus: RunningPrometheus, client: httpx.Client
) -> None:
    services = {scenario.service for scenario in prometheus.history.scenarios}
    for name in WINDOWS:
        totals = query(
            client, f"sum by (service) (increase({REQUESTS}[{name}]))", prometheus.at_seconds
        )
        assert {dict(key)["service"] for key in totals} == services, name


def ratio(client: httpx.Client, bad: str, total: str, at: int) -> dict[str, float]:
    promql = f"sum by (service) ({bad}) / sum by (service) ({total})"
    return {dict(key)["service"]: value for key, value in query(client, promql, at).items()}


@pytest.mark.parametrize("window", list(WINDOWS))
def test_prometheus_recovers_the_intended_ratios(
    prometheus: RunningPrometheus, client: httpx.Client, window: str
) -> None:
    at = prometheus.at_seconds
    errors = ratio(
        client,
        f'increase({REQUESTS}{{code=~"5.."}}[{window}])',
        f"increase({REQUESTS}[{window}])",
        at,
    )
    slow = ratio(
        client,
        f"increase({COUNT}[{window}]) - ignoring(le) "
        f'increase({BUCKET}{{le="{LATENCY_THRESHOLD}"}}[{window}])',
        f"increase({COUNT}[{window}])",
        at,
    )
    for service, intended in prometheus.intended.items():
        # On the sample grid a window inside the history needs no extrapolation, so the
        # ratios are exact; the 30d window only adds the same factor to both sides.
        assert errors[service] == pytest.approx(intended[window].error_ratio, rel=1e-9, abs=1e-12)
        assert slow[service] == pytest.approx(intended[window].slow_ratio, rel=1e-9, abs=1e-12)


def test_scenarios_mean_what_they_say(prometheus: RunningPrometheus) -> None:
    intended = prometheus.intended
    assert intended["checkout"]["5m"].error_ratio == pytest.approx(0.10, rel=0.05)
    assert intended["checkout"]["6h"].error_ratio < 0.03
    assert intended["payments"]["3d"].error_ratio == pytest.approx(0.003, rel=0.05)
    assert intended["search"]["6h"].slow_ratio == pytest.approx(0.2, rel=0.05)
    assert intended["inventory"]["1h"].error_ratio < 0.001
    assert intended["lowtraffic"]["5m"].total < 10
    for service in intended:
        assert intended[service]["1h"].total > 0


def test_backfill_reports_promtool_failure(tmp_path: Path) -> None:
    bad = tmp_path / "bad.om"
    bad.write_text("not a metric line at all\n", encoding="utf-8")
    with pytest.raises(PrometheusUnavailableError, match="promtool backfill"):
        backfill(bad, tmp_path / "data")


def test_matchers_select_what_prometheus_selects(
    prometheus: RunningPrometheus, store: SeriesStore, client: httpx.Client
) -> None:
    promql = f'{REQUESTS}{{service!~"check.*|pay.*", code!="404"}}'
    server = query(client, promql, prometheus.at_seconds)
    ours = store.select(
        REQUESTS,
        [Matcher.of("service", "!~", "check.*|pay.*"), Matcher.of("code", "!=", "404")],
    )
    assert {(("__name__", REQUESTS), *s.labels) for s in ours} == {
        tuple(sorted(key)) for key in server
    }
