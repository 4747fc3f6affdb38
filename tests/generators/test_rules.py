from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.domain.catalog import Service
from safedeploy.errors import BadInputError
from safedeploy.generators.rules import error_ratio_expr, generate_rules, render_rules
from safedeploy.usecases.context import Context
from testing.cli import REPO_ROOT
from testing.manifests import PROMETHEUS_RULE_CRD, crd_schema

PROMTOOL = Path("/usr/bin/promtool")
UNIT_TESTS = REPO_ROOT / "tests" / "data" / "rules"
needs_promtool = pytest.mark.skipif(not PROMTOOL.exists(), reason="promtool is not installed")


def catalog_services() -> list[Service]:
    return list(load_catalog([REPO_ROOT / "services"]).services)


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_every_window_and_the_period_is_recorded_with_sloth_names() -> None:
    document = YAML(typ="safe").load(render_rules(catalog_services()))
    records = {
        (r["labels"]["service"], r["labels"]["slo"], r["record"])
        for g in document["groups"]
        for r in g["rules"]
        if "record" in r
    }
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"):
        assert ("checkout", "availability", f"slo:sli_error:ratio_rate{window}") in records
    # payments runs on 28 days: its period ratio is 28d, with no 30d series.
    assert ("payments", "latency", "slo:sli_error:ratio_rate28d") in records
    assert ("payments", "latency", "slo:sli_error:ratio_rate30d") not in records
    for meta in ("slo:objective:ratio", "slo:error_budget:ratio"):
        assert ("search", "availability", meta) in records


def test_the_period_ratio_is_a_ratio_of_increases() -> None:
    checkout = catalog_services()[0]
    expr = error_ratio_expr(checkout.spec.slos[0], 30 * 86400)
    assert 'sum(increase(http_requests_total{service="checkout", code=~"5.."}[30d]))' in expr
    assert 'sum(increase(http_requests_total{service="checkout"}[30d]))' in expr
    assert "_over_time" not in expr


SLOTH_KEYS = {"sloth_id", "sloth_service", "sloth_slo"}


def test_alerts_carry_routing_labels_and_a_runbook() -> None:
    document = YAML(typ="safe").load(render_rules(catalog_services()))
    alerts = [r for g in document["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) == 3 * 2 * 2  # services x SLOs x (page, ticket)
    for alert in alerts:
        keys = {"service", "slo", "owner", "severity", "sloth_severity", *SLOTH_KEYS}
        assert set(alert["labels"]) == keys
        level = {"ErrorBudgetFastBurn": "page", "ErrorBudgetSlowBurn": "ticket"}[alert["alert"]]
        assert alert["labels"]["severity"] == alert["labels"]["sloth_severity"] == level
        assert "safedeploy slo status" in alert["annotations"]["runbook"]
    payments_page = next(
        a
        for a in alerts
        if a["labels"]["service"] == "payments" and a["labels"]["severity"] == "page"
    )
    # Factors scale with the 28-day period: 2% of the budget in 1h is 13.44x.
    assert "(13.44 * 0.001)" in payments_page["expr"]


@needs_promtool
def test_promtool_accepts_the_rules_of_the_example_catalog(tmp_path: Path) -> None:
    _, written = generate_rules(Context(REPO_ROOT), [], tmp_path)
    assert sorted(p.name for p in written) == [
        "checkout.rules.yaml",
        "payments.rules.yaml",
        "search.rules.yaml",
    ]
    done = promtool("check", "rules", *map(str, written), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS: 50 rules found") == 3


def with_annotations(test_file: Path, rules_file: Path, out: Path) -> None:
    """The unit test with every expected alert's annotations taken from the generated
    rule: promtool compares annotations too, and their wording is not what is under test."""
    yaml = YAML(typ="safe")
    rules: dict[str, Any] = yaml.load(rules_file.read_text())
    annotations = {
        (r["alert"], r["labels"]["slo"]): r["annotations"]
        for g in rules["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    document: dict[str, Any] = yaml.load(test_file.read_text())
    for case in document["tests"]:
        for check in case.get("alert_rule_test", []):
            for expected in check["exp_alerts"]:
                key = (check["alertname"], expected["exp_labels"]["slo"])
                expected["exp_annotations"] = annotations[key]
    with out.open("w") as handle:
        yaml.dump(document, handle)


@needs_promtool
@pytest.mark.parametrize(
    "case",
    [
        "fast_burn",
        # A day and more of one-minute steps each: promtool takes seconds on them.
        pytest.param("short_spike", marks=pytest.mark.soak),
        pytest.param("slow_burn", marks=pytest.mark.soak),
        "period_ratio",
        "low_traffic",
    ],
)
def test_promtool_unit_tests(case: str, tmp_path: Path) -> None:
    _, written = generate_rules(Context(REPO_ROOT), ["checkout"], tmp_path)
    with_annotations(UNIT_TESTS / f"{case}.yaml", written[0], tmp_path / f"{case}.yaml")
    done = promtool("test", "rules", f"{case}.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@needs_promtool
def test_promtool_unit_tests_can_fail(tmp_path: Path) -> None:
    """Expecting silence while the fast burn pages must fail: the harness compares alerts."""
    _, written = generate_rules(Context(REPO_ROOT), ["checkout"], tmp_path)
    source = (UNIT_TESTS / "fast_burn.yaml").read_text()
    flipped = source.replace("eval_time: 118m", "eval_time: 126m", 1)
    (tmp_path / "in.yaml").write_text(flipped)
    with_annotations(tmp_path / "in.yaml", written[0], tmp_path / "flipped.yaml")
    done = promtool("test", "rules", "flipped.yaml", cwd=tmp_path)
    assert done.returncode != 0
    assert "ErrorBudgetFastBurn" in done.stdout + done.stderr


def rules_of(service: Service) -> list[dict[str, Any]]:
    document = YAML(typ="safe").load(render_rules([service]))
    return [r for g in document["groups"] for r in g["rules"]]


def test_every_rule_carries_sloths_labels_and_every_window_its_own() -> None:
    checkout = catalog_services()[0]
    rules = rules_of(checkout)
    for rule in rules:
        labels = rule["labels"]
        assert labels["sloth_id"] == f"checkout-{labels['slo']}"
        assert labels["sloth_service"] == "checkout"
        assert labels["sloth_slo"] == labels["slo"]
        record = rule.get("record", "")
        if record.startswith(("slo:sli_error:ratio_rate", "slo:sli_events:increase")):
            assert record.endswith(labels["sloth_window"])
        else:
            assert "sloth_window" not in labels
    records = {r["record"] for r in rules if "record" in r}
    assert {
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "sloth_slo_info",
    } <= records
    info = next(
        r
        for r in rules
        if r.get("record") == "sloth_slo_info" and r["labels"]["slo"] == "availability"
    )
    assert info["labels"]["sloth_objective"] == "99.9"
    assert info["expr"] == "vector(1)"


def labelled_checkout() -> Service:
    data = YAML(typ="safe").load((REPO_ROOT / "services" / "checkout.yaml").read_text())
    data["metadata"]["labels"] = {
        "tier": "1",
        "app.kubernetes.io/part-of": "shop",
        "runbook_url": "https://runbooks/checkout",
    }
    data["spec"]["slos"][0]["labels"] = {"category": "availability"}
    data["spec"]["slos"][0]["alerting"] = {
        "name": "CheckoutHighErrorRate",
        "labels": {"team": "payments"},
        "annotations": {"summary": "Checkout fails"},
        "page": {"labels": {"severity": "critical", "routing_key": "payments"}},
        "ticket": {"disable": True},
    }
    return Service.model_validate(data)


def test_service_and_slo_labels_reach_every_rule_and_alerting_is_honoured() -> None:
    rules = rules_of(labelled_checkout())
    availability = [r for r in rules if r["labels"]["slo"] == "availability"]
    latency = [r for r in rules if r["labels"]["slo"] == "latency"]
    for rule in rules:
        assert rule["labels"]["tier"] == "1"
        # Not a Prometheus label name, and an annotation rather than a label.
        assert "app.kubernetes.io/part-of" not in rule["labels"]
        assert "runbook_url" not in rule["labels"]
    assert all(r["labels"]["category"] == "availability" for r in availability)
    assert all("category" not in r["labels"] for r in latency)
    alerts = [r for r in availability if "alert" in r]
    assert [a["alert"] for a in alerts] == ["CheckoutHighErrorRate"]  # the ticket is disabled
    [page] = alerts
    assert page["labels"]["severity"] == "critical"
    assert page["labels"]["sloth_severity"] == "page"
    assert page["labels"]["routing_key"] == "payments"
    assert page["labels"]["team"] == "payments"
    assert page["annotations"]["summary"] == "Checkout fails"
    assert page["annotations"]["runbook_url"] == "https://runbooks/checkout"
    latency_alerts = sorted(r["alert"] for r in latency if "alert" in r)
    assert latency_alerts == ["ErrorBudgetFastBurn", "ErrorBudgetSlowBurn"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda slo: slo.update(labels={"sloth_slo": "x"}), "set by safedeploy"),
        (lambda slo: slo.update(labels={"bad-name": "x"}), "not a Prometheus label name"),
        (lambda slo: slo.update(alerting={"name": "High Error Rate"}), "not an alert name"),
        (lambda slo: slo.update(alerting={"page": {"labels": {"sloth_severity": "x"}}}),
         "set by safedeploy"),
    ],
)  # fmt: skip
def test_labels_that_would_break_the_rules_are_refused(
    edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = YAML(typ="safe").load((REPO_ROOT / "services" / "checkout.yaml").read_text())
    edit(data["spec"]["slos"][0])
    with pytest.raises(ValidationError, match=message):
        Service.model_validate(data)


def test_prometheus_operator_format_is_a_valid_prometheus_rule(tmp_path: Path) -> None:
    text, _ = generate_rules(Context(REPO_ROOT), [], None, "prometheus-operator")
    documents = list(YAML(typ="safe").load_all(text))
    assert [d["metadata"]["name"] for d in documents] == [
        "safedeploy-checkout",
        "safedeploy-payments",
        "safedeploy-search",
    ]
    schema = crd_schema(PROMETHEUS_RULE_CRD, "PrometheusRule")
    for document in documents:
        assert document["apiVersion"] == "monitoring.coreos.com/v1"
        jsonschema.validate(document, schema)
    # The same groups as the plain rule file.
    plain = YAML(typ="safe").load(render_rules(catalog_services()))["groups"]
    assert [g for d in documents for g in d["spec"]["groups"]] == plain
    broken = copy.deepcopy(documents[0])
    broken["spec"]["groups"][0]["rules"][0]["expr"] = ["not", "a", "string"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    _, written = generate_rules(Context(REPO_ROOT), ["search"], tmp_path, "prometheus-operator")
    assert [p.name for p in written] == ["search.prometheusrule.yaml"]


def test_an_unknown_format_names_the_option() -> None:
    with pytest.raises(BadInputError, match=r"^--format: 'thanos' is not one of prometheus"):
        generate_rules(Context(REPO_ROOT), [], None, "thanos")
