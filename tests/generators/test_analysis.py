from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from ruamel.yaml import YAML

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.prometheus import PrometheusSource
from safedeploy.domain.catalog import Service
from safedeploy.errors import BadInputError
from safedeploy.generators.analysis import (
    analysis_template,
    burn_rate_query,
    generate_analysis_templates,
    render_templates,
)
from safedeploy.usecases.slo_status import evaluate_services
from testing.cli import REPO_ROOT
from testing.manifests import ANALYSIS_TEMPLATE_CRD, crd_schema
from testing.prometheus import RunningPrometheus

ADDRESS = "http://prometheus.monitoring.svc:9090"


def services() -> list[Service]:
    return list(load_catalog([REPO_ROOT / "services"]).services)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return crd_schema(ANALYSIS_TEMPLATE_CRD, "AnalysisTemplate")


def test_every_template_is_valid_against_the_crd(schema: dict[str, Any]) -> None:
    documents = list(YAML(typ="safe").load_all(render_templates(services(), ADDRESS)))
    assert [d["metadata"]["name"] for d in documents] == [
        "checkout-slo-burn-rate",
        "payments-slo-burn-rate",
        "search-slo-burn-rate",
    ]
    for document in documents:
        jsonschema.validate(document, schema)


def test_the_schema_check_does_reject_a_broken_template(schema: dict[str, Any]) -> None:
    broken = copy.deepcopy(analysis_template(services()[0], ADDRESS))
    broken["spec"]["metrics"][0]["provider"]["prometheus"]["address"] = 9090
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    del broken["spec"]["metrics"][0]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_success_condition_is_the_fast_burn_row_over_its_short_window() -> None:
    checkout, payments, _ = services()
    metric = analysis_template(checkout, ADDRESS)["spec"]["metrics"][0]
    assert metric["successCondition"] == "result[0] <= 14.4"
    assert metric["failureCondition"] == "result[0] > 14.4"
    assert "[5m]" in metric["provider"]["prometheus"]["query"]
    assert metric["provider"]["prometheus"]["address"] == ADDRESS
    # 28 days: the same 2% of budget in an hour is a factor of 13.44.
    payments_metric = analysis_template(payments, ADDRESS)["spec"]["metrics"][0]
    assert payments_metric["successCondition"] == "result[0] <= 13.44"


def test_address_comes_from_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "search.yaml").write_text(
        (REPO_ROOT / "services" / "search.yaml").read_text()
    )
    with pytest.raises(BadInputError, match=r"safedeploy\.toml: prometheus\.url"):
        generate_analysis_templates(tmp_path, [], None)
    (tmp_path / "safedeploy.toml").write_text('[prometheus]\nurl = "http://prom:9090"\n')
    text = generate_analysis_templates(tmp_path, ["search"], None)
    assert "address: http://prom:9090" in text
    assert "address: http://other:9090" in generate_analysis_templates(
        tmp_path, [], "http://other:9090"
    )


@pytest.mark.prometheus
def test_the_query_answers_the_engine_burn_rate(prometheus: RunningPrometheus) -> None:
    """What Argo Rollouts would compare against the factor is the engine's 5m burn rate."""
    catalog = services()
    statuses = evaluate_services(catalog, PrometheusSource(prometheus.url), prometheus.at)
    checked = 0
    for service, status in zip(catalog, statuses, strict=True):
        for slo, slo_status in zip(service.spec.slos, status.slos, strict=True):
            expected = slo_status.windows["5m"].burn_rate
            response = httpx.get(
                f"{prometheus.url}/api/v1/query",
                params={"query": burn_rate_query(slo, 300), "time": prometheus.at_seconds},
            )
            result = response.json()["data"]["result"]
            assert expected is not None
            assert float(result[0]["value"][1]) == pytest.approx(expected, rel=1e-9)
            checked += 1
    assert checked == 6
