"""One evaluation's requests to a real Prometheus do not grow with the number of services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.prometheus import PrometheusSource
from safedeploy.domain.catalog import Service
from safedeploy.usecases.slo_status import evaluate_services
from testing.builders import write_service
from testing.history import DAY, synthetic_scenarios
from testing.prometheus import RunningPrometheus, prometheus_with_history, served_requests

# Two SLO kinds (a ratio and a histogram): one query per selector layout (errors, total,
# bucket, count) and window (the seven of the alert table and the SLO period).
MOST_REQUESTS = 32


@pytest.fixture(scope="module")
def two_hundred(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    scenarios = synthetic_scenarios(200)
    workdir = tmp_path_factory.mktemp("two-hundred")
    with prometheus_with_history(workdir, scenarios, duration=DAY) as running:
        yield running


def catalog(folder: Path, count: int) -> list[Service]:
    for index in range(count):
        write_service(folder, f"svc-{index:05d}")
    return list(load_catalog([folder]).services)


@pytest.mark.soak
def test_requests_per_evaluation_are_the_same_for_10_and_200_services(
    two_hundred: RunningPrometheus, tmp_path: Path
) -> None:
    counted = {}
    for count in (10, 200):
        services = catalog(tmp_path / str(count), count)
        before = served_requests(two_hundred.url)
        statuses = evaluate_services(services, PrometheusSource(two_hundred.url), two_hundred.at)
        counted[count] = served_requests(two_hundred.url) - before
        assert len(statuses) == count
        # Answered, not merely asked: no SLO is unknown for want of an answer.
        assert all(s.severity != "unknown" for s in statuses), statuses[0]
    assert counted[10] == counted[200], counted
    assert 0 < counted[200] <= MOST_REQUESTS, counted
