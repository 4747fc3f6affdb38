"""Selectors that match nothing, against the real Prometheus (and the embedded source over
the same history): a typo in a metric or label name is unknown, naming the selector; a
5xx series that never appeared is still zero errors; a service whose every selector
matches costs no extra request.

Before this check `http_request_total` for `http_requests_total` in checkout's errors
counted as zero errors and the gate allowed a release burning its budget 100 times too
fast.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.embedded_source import EmbeddedSource
from safedeploy.adapters.prometheus import PrometheusSource
from safedeploy.domain.catalog import Service
from safedeploy.domain.slo import SLOStatus
from safedeploy.ports import MetricsSource
from safedeploy.usecases.slo_status import evaluate_services
from testing.builders import service_yaml, write_service
from testing.cli import Runner
from testing.lying_proxy import Answer, Asked, LyingProxy
from testing.prometheus import RunningPrometheus

pytestmark = pytest.mark.prometheus

ERRORS = 'http_requests_total{{service="{name}", code=~"5.."}}'


def with_errors(folder: Path, name: str, errors: str) -> None:
    """A service whose availability SLO counts `errors` (the template's own otherwise)."""
    text = service_yaml(name).replace(ERRORS.format(name=name), errors.format(name=name))
    assert errors == ERRORS or text != service_yaml(name)
    write_service(folder, name, text)


def services(tmp_path: Path, errors: dict[str, str]) -> list[Service]:
    for name, selector in errors.items():
        with_errors(tmp_path / "services", name, selector)
    return list(load_catalog([tmp_path / "services"]).services)


def availability(
    source: MetricsSource, catalog: list[Service], at: datetime
) -> dict[str, SLOStatus]:
    found = evaluate_services(catalog, source, at)
    return {st.service: next(s for s in st.slos if s.slo == "availability") for st in found}


@pytest.fixture(params=["prometheus", "embedded"])
def source(request: pytest.FixtureRequest, prometheus: RunningPrometheus) -> MetricsSource:
    if request.param == "prometheus":
        return PrometheusSource(prometheus.url)
    return EmbeddedSource.from_file(prometheus.history.path)


TYPOS = {
    "a metric name": (
        'http_request_total{{service="{name}", code=~"5.."}}',
        "metric http_request_total has no series: typo?",
    ),
    "a label name": (
        'http_requests_total{{service="{name}", status=~"5.."}}',
        "no series of http_requests_total has a label status: typo?",
    ),
}


@pytest.mark.parametrize("typo", list(TYPOS), ids=list(TYPOS))
def test_a_typo_in_the_errors_is_unknown_naming_the_selector(
    source: MetricsSource, prometheus: RunningPrometheus, tmp_path: Path, typo: str
) -> None:
    selector, problem = TYPOS[typo]
    found = availability(source, services(tmp_path, {"checkout": selector}), prometheus.at)
    checkout = found["checkout"]
    # On the true errors checkout burns at 100x: a typo used to make that "normal".
    assert checkout.severity == "unknown" and checkout.no_data
    assert problem in checkout.reason, checkout.reason
    assert selector.format(name="checkout") in checkout.reason
    assert "in the 30d before 2026-11-01T00:00:00Z" in checkout.reason
    assert checkout.budget.remaining is None


def test_errors_that_never_appeared_are_zero_when_the_metric_exists(
    source: MetricsSource, prometheus: RunningPrometheus, tmp_path: Path
) -> None:
    """checkout never answered 599: its errors are none, so it reads normal, not unknown."""
    catalog = services(
        tmp_path, {"checkout": 'http_requests_total{{service="{name}", code="599"}}'}
    )
    checkout = availability(source, catalog, prometheus.at)["checkout"]
    assert checkout.severity == "normal", checkout.reason
    assert checkout.windows["1h"].errors == 0.0 and checkout.windows["1h"].total


def test_selectors_that_all_match_cost_no_look_at_labels(
    lying_proxy: LyingProxy, prometheus: RunningPrometheus, tmp_path: Path
) -> None:
    catalog = services(tmp_path, {name: ERRORS for name in ("checkout", "payments")})
    availability(PrometheusSource(lying_proxy.url), catalog, prometheus.at)
    paths = {asked.path for asked in lying_proxy.asked}
    assert paths == {"/api/v1/query"}


def test_one_look_per_metric_however_many_services_share_it(
    lying_proxy: LyingProxy, prometheus: RunningPrometheus, tmp_path: Path
) -> None:
    typo = 'http_requests_total{{service="{name}", code="599"}}'
    catalog = services(tmp_path, {name: typo for name in ("checkout", "payments", "search")})
    availability(PrometheusSource(lying_proxy.url), catalog, prometheus.at)
    looks = [asked for asked in lying_proxy.asked if asked.path == "/api/v1/labels"]
    assert [asked.params["match[]"] for asked in looks] == [["http_requests_total"]]


def test_labels_answered_without_a_name_are_not_believed(
    lying_proxy: LyingProxy, prometheus: RunningPrometheus, tmp_path: Path
) -> None:
    def nameless(asked: Asked, answer: Answer) -> Answer:
        if asked.path == "/api/v1/labels":
            answer["data"] = ["code", "service", "status"]
        return answer

    lying_proxy.rewrite = nameless
    catalog = services(tmp_path, {"checkout": TYPOS["a label name"][0]})
    checkout = availability(PrometheusSource(lying_proxy.url), catalog, prometheus.at)["checkout"]
    assert checkout.severity == "unknown"
    assert "labels without __name__" in checkout.reason, checkout.reason


def test_the_gate_cannot_decide_on_a_typo_where_it_used_to_allow(
    cli: Runner, prometheus: RunningPrometheus, tmp_path: Path
) -> None:
    with_errors(tmp_path / "services", "checkout", TYPOS["a metric name"][0])
    env = {"SAFEDEPLOY_PROMETHEUS_URL": prometheus.url}
    result = cli("gate", "checkout", "--at", "2026-11-01T00:00:00Z", env=env)
    assert result.code == 3, result.stdout + result.stderr
    assert "cannot decide on promotion" in result.stdout + result.stderr
    assert "http_request_total has no series: typo?" in result.stdout + result.stderr
