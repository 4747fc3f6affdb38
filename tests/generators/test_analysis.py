from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from ruamel.yaml import YAML

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.domain.catalog import Service
from safedeploy.errors import BadInputError
from safedeploy.generators.analysis import (
    CANARY_ARG,
    STABLE_ARG,
    analysis_template,
    generate_analysis_templates,
    render_templates,
    rollout_analysis,
)
from safedeploy.generators.rules import error_ratio_expr
from safedeploy.usecases.context import Context
from testing.builders import service_yaml
from testing.cli import REPO_ROOT
from testing.history import T_END_SECONDS, History
from testing.manifests import ANALYSIS_TEMPLATE_CRD, crd_schema, rollout_schema
from testing.prometheus import RunningPrometheus, backfill, ensure_installed, serve

ADDRESS = "http://prometheus.monitoring.svc:9090"
SELECTOR = re.compile(r"[a-z_:]+\{[^{}]*(?:\{\{[^}]*\}\}[^{}]*)*\}")


def services() -> list[Service]:
    return list(load_catalog([REPO_ROOT / "services"]).services)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return crd_schema(ANALYSIS_TEMPLATE_CRD, "AnalysisTemplate")


def test_every_template_is_valid_against_the_crd(schema: dict[str, Any]) -> None:
    documents = list(YAML(typ="safe").load_all(render_templates(services(), ADDRESS)))
    assert [d["metadata"]["name"] for d in documents] == [
        "checkout-canary-slos",
        "payments-canary-slos",
        "search-canary-slos",
    ]
    for document in documents:
        jsonschema.validate(document, schema)
        assert document["spec"]["args"] == [{"name": CANARY_ARG}, {"name": STABLE_ARG}]


def test_the_schema_check_does_reject_a_broken_template(schema: dict[str, Any]) -> None:
    broken = copy.deepcopy(analysis_template(services()[0], ADDRESS))
    broken["spec"]["metrics"][0]["provider"]["prometheus"]["address"] = 9090
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    del broken["spec"]["metrics"][0]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_the_rollout_wiring_is_valid_against_the_rollout_crd() -> None:
    rollout = YAML(typ="safe").load(
        (REPO_ROOT / "examples/env-repo/apps/checkout/rollout.yaml").read_text()
    )
    rollout["spec"]["strategy"]["canary"]["analysis"] = rollout_analysis(services()[0])
    jsonschema.validate(rollout, rollout_schema())
    rollout["spec"]["strategy"]["canary"]["analysis"]["args"][0]["valueFrom"] = "Latest"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rollout, rollout_schema())


def metrics_of(service: Service) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in analysis_template(service, ADDRESS)["spec"]["metrics"]}


def test_two_metrics_per_slo_with_the_paging_factor_and_the_canary_limit() -> None:
    checkout, payments, _ = services()
    metrics = metrics_of(checkout)
    assert sorted(metrics) == [
        "availability-canary-burn-rate",
        "availability-canary-vs-stable",
        "latency-canary-burn-rate",
        "latency-canary-vs-stable",
    ]
    burn = metrics["availability-canary-burn-rate"]
    assert burn["successCondition"] == "result[0] <= 14.4"
    assert burn["failureCondition"] == "result[0] > 14.4"
    assert "[5m]" in burn["provider"]["prometheus"]["query"]
    assert burn["provider"]["prometheus"]["address"] == ADDRESS
    versus = metrics["availability-canary-vs-stable"]
    assert versus["successCondition"] == "result[0] <= 0.02"
    assert "[10m]" in versus["provider"]["prometheus"]["query"]  # deployment.canary_window
    # 28 days: the same 2% of budget in an hour is a factor of 13.44.
    assert metrics_of(payments)["latency-canary-burn-rate"]["successCondition"] == (
        "result[0] <= 13.44"
    )


def test_every_selector_is_held_to_the_canary_or_the_stable_version() -> None:
    for service in services():
        label = service.spec.deployment.canary_label
        for name, metric in metrics_of(service).items():
            selectors = SELECTOR.findall(metric["provider"]["prometheus"]["query"])
            assert selectors, name
            canary = [s for s in selectors if f'{label}="{{{{args.{CANARY_ARG}}}}}"' in s]
            stable = [s for s in selectors if f'{label}="{{{{args.{STABLE_ARG}}}}}"' in s]
            assert len(canary) + len(stable) == len(selectors), (name, selectors)
            assert bool(stable) == name.endswith("vs-stable")


def test_address_comes_from_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "search.yaml").write_text(
        (REPO_ROOT / "services" / "search.yaml").read_text()
    )
    with pytest.raises(BadInputError, match=r"safedeploy\.toml: prometheus\.url"):
        generate_analysis_templates(Context(tmp_path), [], None)
    (tmp_path / "safedeploy.toml").write_text('[prometheus]\nurl = "http://prom:9090"\n')
    text = generate_analysis_templates(Context(tmp_path), ["search"], None)
    assert "address: http://prom:9090" in text
    assert "address: http://other:9090" in generate_analysis_templates(
        Context(tmp_path), [], "http://other:9090"
    )


# A canary split on a real Prometheus: 500 requests a minute, the last 30 minutes of them
# 20 % to the canary; stable and canary error shares per service, per minute.
@dataclass(frozen=True)
class Split:
    service: str
    stable_rpm: int
    stable_errors: int
    canary_rpm: int
    canary_errors: int


SPLITS = (
    Split("bad", 400, 0, 100, 7),  # 7 % errors: the whole service fails only 1.4 %
    Split("good", 400, 0, 100, 0),
    Split("quiet", 496, 0, 4, 1),  # 20 canary requests in 5 minutes: too few to judge
    Split("first", 0, 0, 500, 0),  # a first release: nothing to compare with
)
HISTORY_MINUTES, CANARY_MINUTES = 120, 30
STABLE, CANARY = "1.0.0", "2.0.0"


def _series(name: str, labels: str, per_minute: int, since: int) -> str:
    lines = []
    for minute in range(HISTORY_MINUTES + 1):
        if minute < since:
            continue
        value = per_minute * (minute - since)
        at = T_END_SECONDS - (HISTORY_MINUTES - minute) * 60
        lines.append(f"{name}{{{labels}}} {value} {at}")
    return "\n".join(lines)


def write_split_history(path: Path) -> None:
    counters, histograms = ["# TYPE http_requests counter"], []
    histograms.append("# TYPE http_request_duration_seconds histogram")
    for split in SPLITS:
        canary_since = HISTORY_MINUTES - CANARY_MINUTES
        for version, rpm, errors, since in (
            (STABLE, split.stable_rpm, split.stable_errors, 0),
            (CANARY, split.canary_rpm, split.canary_errors, canary_since),
        ):
            if rpm == 0:
                continue
            base = f'service="{split.service}",version="{version}"'
            counters.append(
                _series("http_requests_total", f'{base},code="200"', rpm - errors, since)
            )
            if errors:
                counters.append(_series("http_requests_total", f'{base},code="500"', errors, since))
            for le in ("0.3", "+Inf"):  # every request is fast: latency never burns
                histograms.append(
                    _series("http_request_duration_seconds_bucket", f'{base},le="{le}"', rpm, since)
                )
            histograms.append(_series("http_request_duration_seconds_count", base, rpm, since))
    path.write_text("\n".join([*counters, *histograms, "# EOF", ""]), encoding="utf-8")


@pytest.fixture(scope="module")
def split_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    ensure_installed()
    work = tmp_path_factory.mktemp("canary-split")
    history = work / "history.om"
    write_split_history(history)
    backfill(history, work / "data")
    meta = History(history, T_END_SECONDS - HISTORY_MINUTES * 60, T_END_SECONDS, 60, (), {}, 0, 0)
    with serve(work / "data", meta) as running:
        yield running


def split_service(name: str) -> Service:
    loaded = YAML(typ="safe").load(service_yaml(name))
    return Service.model_validate(loaded)


def evaluate(url: str, metric: dict[str, Any], canary: str, stable: str) -> tuple[str, float]:
    """What Argo Rollouts would conclude from one measurement, and the value measured."""
    query = metric["provider"]["prometheus"]["query"]
    query = query.replace(f"{{{{args.{CANARY_ARG}}}}}", canary)
    query = query.replace(f"{{{{args.{STABLE_ARG}}}}}", stable)
    response = httpx.get(f"{url}/api/v1/query", params={"query": query, "time": T_END_SECONDS})
    [sample] = response.json()["data"]["result"]
    value = float(sample["value"][1])

    def holds(condition: str) -> bool:
        match = re.fullmatch(r"result\[0\] (<=|>) ([0-9.]+)", condition)
        assert match is not None, condition
        limit = float(match.group(2))
        return value <= limit if match.group(1) == "<=" else value > limit

    if holds(metric["failureCondition"]):
        return "Failed", value
    return ("Successful" if holds(metric["successCondition"]) else "Inconclusive"), value


@pytest.mark.prometheus
@pytest.mark.parametrize(
    ("service", "burn", "versus"),
    [
        ("bad", "Failed", "Failed"),
        ("good", "Successful", "Successful"),
        ("quiet", "Inconclusive", "Inconclusive"),
        ("first", "Successful", "Successful"),
    ],
)
def test_the_canary_is_judged_on_its_own_traffic(
    split_prometheus: RunningPrometheus, service: str, burn: str, versus: str
) -> None:
    metrics = metrics_of(split_service(service))
    verdicts = {
        name: evaluate(split_prometheus.url, metric, CANARY, STABLE)
        for name, metric in metrics.items()
    }
    assert verdicts["availability-canary-burn-rate"][0] == burn, verdicts
    assert verdicts["availability-canary-vs-stable"][0] == versus, verdicts
    # Latency is fine everywhere: its metrics pass, or cannot judge a quiet canary.
    latency = "Inconclusive" if service == "quiet" else "Successful"
    assert verdicts["latency-canary-burn-rate"][0] == latency, verdicts
    assert verdicts["latency-canary-vs-stable"][0] == latency, verdicts
    if service == "bad":
        # The canary's own burn rate: 7 % errors over a 0.1 % budget.
        assert verdicts["availability-canary-burn-rate"][1] == pytest.approx(70, rel=1e-6)
        assert verdicts["availability-canary-vs-stable"][1] == pytest.approx(0.07, rel=1e-6)
    if service == "quiet":
        assert all(math.isnan(value) for _, value in verdicts.values())


@pytest.mark.prometheus
def test_the_whole_service_would_have_let_the_bad_canary_through(
    split_prometheus: RunningPrometheus,
) -> None:
    """Why the template is canary-scoped: the service-wide 5m burn rate is under 14.4."""
    slo = split_service("bad").spec.slos[0]
    response = httpx.get(
        f"{split_prometheus.url}/api/v1/query",
        params={"query": f"({error_ratio_expr(slo, 300)}) / 0.001", "time": T_END_SECONDS},
    )
    [sample] = response.json()["data"]["result"]
    assert float(sample["value"][1]) == pytest.approx(14.0, rel=1e-6)
    assert float(sample["value"][1]) < 14.4


@pytest.mark.prometheus
@pytest.mark.parametrize("service", ["bad", "good"])
def test_the_template_and_reconcile_judge_the_canary_alike(
    split_prometheus: RunningPrometheus, service: str
) -> None:
    """`<slo>-canary-vs-stable` measures what reconcile's canary verdict compares."""
    from datetime import UTC, datetime

    from safedeploy.adapters.prometheus import PrometheusSource
    from safedeploy.domain.canary import canary_queries, canary_verdict

    model = split_service(service)
    window = model.spec.deployment.canary_window
    queries = canary_queries(model, CANARY, STABLE, 600)
    assert queries is not None
    at = datetime.fromtimestamp(T_END_SECONDS, UTC)
    results = dict(PrometheusSource(split_prometheus.url).increases(list(queries.all()), at))
    verdict = canary_verdict(model, queries, results, model.spec.slos[0].min_events, window)
    assert verdict.canary_error_ratio is not None and verdict.stable_error_ratio is not None
    state, value = evaluate(
        split_prometheus.url, metrics_of(model)["availability-canary-vs-stable"], CANARY, STABLE
    )
    assert value == pytest.approx(verdict.canary_error_ratio - verdict.stable_error_ratio)
    assert (state == "Failed") == (verdict.state == "failing")
