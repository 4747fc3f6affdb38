from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.domain.catalog import Service
from safedeploy.generators.dashboard import (
    PANEL_TITLES,
    dashboard,
    generate_dashboard,
    release_decision_expr,
)
from safedeploy.usecases.context import Context
from testing.cli import REPO_ROOT

PROMTOOL = Path("/usr/bin/promtool")
needs_promtool = pytest.mark.skipif(not PROMTOOL.exists(), reason="promtool is not installed")


def services() -> list[Service]:
    return list(load_catalog([REPO_ROOT / "services"]).services)


def targets(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for panel in board["panels"] for t in panel["targets"]]


def test_panels_and_variables() -> None:
    board = dashboard(services())
    assert 36 <= board["schemaVersion"] <= 41
    assert sorted(p["title"] for p in board["panels"]) == sorted(PANEL_TITLES)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["service"]["type"] == "query"
    assert variables["service"]["datasource"]["uid"] == "${datasource}"
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


def test_every_target_uses_the_datasource_variable() -> None:
    board = dashboard(services())
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    for target in targets(board):
        assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert "$service" in target["expr"]


def test_one_canary_query_per_slo_grouped_by_the_canary_label() -> None:
    board = dashboard(services())
    canary = next(p for p in board["panels"] if p["title"] == "Canary vs stable error ratio")
    assert len(canary["targets"]) == 6
    assert all("sum by (version)" in t["expr"] for t in canary["targets"])
    assert len({t["refId"] for t in canary["targets"]}) == 6


def test_rollout_panels_read_argo_rollouts_metrics() -> None:
    exprs = " ".join(t["expr"] for t in targets(dashboard(services())))
    for metric in (
        "rollout_info{",
        "rollout_info_replicas_updated",
        "rollout_info_replicas_desired",
    ):
        assert metric in exprs


@needs_promtool
def test_every_query_parses(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule: a real PromQL parser, not a regex."""
    rules = [
        {"record": f"dashboard:query{i}", "expr": t["expr"].replace("$service", "checkout")}
        for i, t in enumerate(targets(dashboard(services())))
    ]
    variable = next(
        v for v in dashboard(services())["templating"]["list"] if v["name"] == "service"
    )
    rules.append({"record": "dashboard:variable", "expr": "slo:objective:ratio"})
    assert variable["definition"] == "label_values(slo:objective:ratio, service)"
    file = tmp_path / "queries.yaml"
    with file.open("w") as handle:
        YAML(typ="safe").dump({"groups": [{"name": "dashboard", "rules": rules}]}, handle)
    done = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(file)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


@needs_promtool
def test_a_broken_query_does_not_parse(tmp_path: Path) -> None:
    file = tmp_path / "queries.yaml"
    file.write_text("groups:\n  - name: x\n    rules:\n      - record: a:b\n        expr: sum(\n")
    done = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(file)], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0


@needs_promtool
@pytest.mark.parametrize(
    ("remaining", "ratio_1h", "decision"),
    [
        (0.5, 0.001, 1),  # half the budget left, burn rate 1: GREEN
        (0.5, 0.003, 0),  # burn rate 3 over the policy maximum of 2: RED
        (0.05, 0.001, 0),  # 5% left, under the 10% safety margin: RED
        (-0.2, 0.0, 0),  # exhausted: RED
    ],
)
def test_release_decision(tmp_path: Path, remaining: float, ratio_1h: float, decision: int) -> None:
    checkout = services()[0]
    labels = 'service="checkout", slo="availability", owner="team-payments"'
    (tmp_path / "none.yaml").write_text("groups: []\n")
    test = {
        "rule_files": ["none.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": f"slo:period_error_budget_remaining:ratio{{{labels}}}",
                        "values": f"{remaining}x10",
                    },
                    {"series": f"slo:error_budget:ratio{{{labels}}}", "values": "0.001x10"},
                    {
                        "series": f"slo:sli_error:ratio_rate1h{{{labels}}}",
                        "values": f"{ratio_1h}x10",
                    },
                    {"series": f"slo:sli_error:ratio_rate6h{{{labels}}}", "values": "0x10"},
                ],
                "promql_expr_test": [
                    {
                        "expr": release_decision_expr(checkout),
                        "eval_time": "5m",
                        "exp_samples": [{"labels": "{}", "value": decision}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(json.dumps(test))
    done = subprocess.run(
        [str(PROMTOOL), "test", "rules", "test.yaml"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_written_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "grafana" / "safedeploy.json"
    text = generate_dashboard(Context(REPO_ROOT), out)
    assert json.loads(out.read_text()) == json.loads(text)
