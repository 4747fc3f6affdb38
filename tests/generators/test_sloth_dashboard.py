"""Sloth's published Grafana dashboards (tests/data/dashboards, see SOURCES.md) read the
series `generate rules` writes: every query of both, run on a real Prometheus holding
backfilled history and the backfilled recordings, returns data, and still does with its
`or on() vector(...)` fallback taken away. The alert panels read ALERTS, which only a rule
evaluation writes; `promtool test rules` runs those queries against the generated alerts."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from ruamel.yaml import YAML

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.domain.catalog import Service
from safedeploy.generators.rules import generate_rules
from safedeploy.usecases.context import Context
from testing.cli import REPO_ROOT
from testing.history import T_END, T_END_SECONDS
from testing.prometheus import PROMTOOL, RunningPrometheus

DASHBOARDS = REPO_ROOT / "tests/data/dashboards/canonical/sloth-k8s-operator/src/grafana_dashboards"
FILES = ("sloth-slo.json", "sloth-overview.json")
SERVICE, SLO = "checkout", "availability"
# What Grafana puts in for the dashboards' variables; the SLI window is tried at each value.
VALUES = {"service": SERVICE, "slo": SLO, "min_burning_rate": "1", "__to:date:M": str(T_END.month)}
FALLBACK = re.compile(r"\s+or\s+on\(\)\s+vector\(\d+\)", re.IGNORECASE)
VARIABLE = re.compile(r"\$\{([^}]+)\}")
RECORDED = re.compile(r"\bslo:|\bsloth_slo_info\b")


def services() -> list[Service]:
    return list(load_catalog([REPO_ROOT / "services"]).services)


def dashboard(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    return loaded


def queries(board: dict[str, Any]) -> list[str]:
    """Every panel target's expression, rows' nested panels included."""
    found: list[str] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            found.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))

    walk(board["panels"])
    return found


def sli_windows(board: dict[str, Any]) -> list[str]:
    variables = board["templating"]["list"]
    window = next((v for v in variables if v["name"] == "sli_window"), None)
    return [o["value"] for o in window["options"]] if window else []


def filled(expr: str, values: dict[str, str]) -> str:
    return VARIABLE.sub(lambda match: values[match.group(1)], expr)


def expansions(expr: str, windows: list[str]) -> list[str]:
    """`expr` with Grafana's variables filled in, once per SLI window it uses."""
    if "sli_window" not in expr:
        return [filled(expr, VALUES)]
    return [filled(expr, {**VALUES, "sli_window": window}) for window in windows]


def instant(url: str, query: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v1/query", params={"query": query, "time": T_END_SECONDS})
    body = response.json()
    assert body["status"] == "success", (query, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


@pytest.fixture
def recorded(recorded_prometheus: RunningPrometheus) -> RunningPrometheus:
    return recorded_prometheus


@pytest.mark.prometheus
def test_every_query_of_sloths_dashboards_returns_data(
    recorded: RunningPrometheus, prometheus: RunningPrometheus
) -> None:
    ran: list[str] = []
    for name in FILES:
        board = dashboard(name)
        for expr in queries(board):
            if "ALERTS" in expr:
                continue
            for query in expansions(expr, sli_windows(board)):
                assert "$" not in query, query
                assert instant(recorded.url, query), query
                # Not merely the fallback Sloth's panels add for a missing series...
                bare = FALLBACK.sub("", query)
                assert instant(recorded.url, bare), query
                # ...and from the recordings: the same history without them has nothing.
                if RECORDED.search(bare):
                    assert not instant(prometheus.url, bare), query
                ran.append(query)
    print(f"\n{len(ran)} dashboard queries returned data from the generated rules")
    # The detail dashboard's 12 queries (its SLI query at each of 8 windows) and the
    # overview's 7: a dashboard edited to lose panels fails here rather than passing emptier.
    assert len(ran) == 12 - 1 + 8 + 7


@pytest.mark.prometheus
def test_burn_rate_panels_show_what_safedeploy_computes(recorded: RunningPrometheus) -> None:
    """The series are the recordings, with the values they should have: checkout burns."""
    [current] = instant(
        recorded.url, f'slo:current_burn_rate:ratio{{sloth_service="{SERVICE}", sloth_slo="{SLO}"}}'
    )
    [ratio] = instant(
        recorded.url, f'slo:sli_error:ratio_rate5m{{sloth_service="{SERVICE}", sloth_slo="{SLO}"}}'
    )
    # Each recorded when its own group ran, up to a minute apart: close, not equal.
    assert float(current["value"][1]) == pytest.approx(float(ratio["value"][1]) / 0.001, rel=0.01)
    assert float(current["value"][1]) > 14.4  # the history's fast burn: the panel is red
    assert "sloth_window" not in current["metric"]
    [info] = instant(
        recorded.url, f'sloth_slo_info{{sloth_service="{SERVICE}", sloth_slo="{SLO}"}}'
    )
    assert info["metric"]["sloth_objective"] == "99.9"


@pytest.mark.prometheus
def test_template_variables_list_the_generated_slos(recorded: RunningPrometheus) -> None:
    """`label_values(slo:objective:ratio, sloth_service)` and the SLOs of one service."""

    def label_values(match: str, label: str) -> set[str]:
        response = httpx.get(
            f"{recorded.url}/api/v1/series",
            params={"match[]": match, "start": T_END_SECONDS - 300, "end": T_END_SECONDS},
        )
        return {series[label] for series in response.json()["data"]}

    assert label_values("slo:objective:ratio", "sloth_service") == {s.name for s in services()}
    slos = label_values(f'slo:objective:ratio{{sloth_service="{SERVICE}"}}', "sloth_slo")
    assert slos == {"availability", "latency"}


@pytest.mark.skipif(not PROMTOOL.exists(), reason="promtool is not installed")
def test_alert_panels_read_the_generated_alerts(tmp_path: Path) -> None:
    """The dashboards' ALERTS queries, as promtool unit tests over a fast burn."""
    alert_queries = [
        filled(expr, VALUES)
        for name in FILES
        for expr in queries(dashboard(name))
        if "ALERTS" in expr
    ]
    assert len(alert_queries) == 4
    pages = [FALLBACK.sub("", q) for q in alert_queries if 'sloth_severity="page"' in q]
    assert len(pages) == 2
    _, written = generate_rules(Context(REPO_ROOT), [SERVICE], tmp_path)
    burn = YAML(typ="safe").load((REPO_ROOT / "tests/data/rules/fast_burn.yaml").read_text())
    series = burn["tests"][0]["input_series"]
    checks = [
        {"expr": q, "eval_time": at, "exp_samples": [{"labels": "{}", "value": value}]}
        for q in pages
        for at, value in (("118m", 0), ("126m", 1))
    ]
    for check in checks:
        if check["exp_samples"][0]["value"] == 0:
            check["expr"] = f"{check['expr']} or on() vector(0)"
    test = {
        "rule_files": [written[0].name],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": checks}],
    }
    with (tmp_path / "dashboard_alerts.yaml").open("w") as handle:
        YAML(typ="safe").dump(test, handle)
    done = subprocess.run(
        [str(PROMTOOL), "test", "rules", "dashboard_alerts.yaml"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
