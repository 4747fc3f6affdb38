from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.domain.catalog import Service
from safedeploy.generators.rules import error_ratio_expr, generate_rules, render_rules
from testing.cli import REPO_ROOT

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


def test_alerts_carry_routing_labels_and_a_runbook() -> None:
    document = YAML(typ="safe").load(render_rules(catalog_services()))
    alerts = [r for g in document["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) == 3 * 2 * 2  # services x SLOs x (page, ticket)
    for alert in alerts:
        assert set(alert["labels"]) == {"service", "slo", "owner", "severity"}
        assert (
            alert["labels"]["severity"]
            == {
                "ErrorBudgetFastBurn": "page",
                "ErrorBudgetSlowBurn": "ticket",
            }[alert["alert"]]
        )
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
    _, written = generate_rules(REPO_ROOT, [], tmp_path)
    assert sorted(p.name for p in written) == [
        "checkout.rules.yaml",
        "payments.rules.yaml",
        "search.rules.yaml",
    ]
    done = promtool("check", "rules", *map(str, written), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS: 44 rules found") == 3


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
    ["fast_burn", "short_spike", "slow_burn", "period_ratio", "low_traffic"],
)
def test_promtool_unit_tests(case: str, tmp_path: Path) -> None:
    _, written = generate_rules(REPO_ROOT, ["checkout"], tmp_path)
    with_annotations(UNIT_TESTS / f"{case}.yaml", written[0], tmp_path / f"{case}.yaml")
    done = promtool("test", "rules", f"{case}.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@needs_promtool
def test_promtool_unit_tests_can_fail(tmp_path: Path) -> None:
    """Expecting silence while the fast burn pages must fail: the harness compares alerts."""
    _, written = generate_rules(REPO_ROOT, ["checkout"], tmp_path)
    source = (UNIT_TESTS / "fast_burn.yaml").read_text()
    flipped = source.replace("eval_time: 118m", "eval_time: 126m", 1)
    (tmp_path / "in.yaml").write_text(flipped)
    with_annotations(tmp_path / "in.yaml", written[0], tmp_path / "flipped.yaml")
    done = promtool("test", "rules", "flipped.yaml", cwd=tmp_path)
    assert done.returncode != 0
    assert "ErrorBudgetFastBurn" in done.stdout + done.stderr
