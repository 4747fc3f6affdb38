"""A Grafana dashboard over the recorded SLO series and the Argo Rollouts controller metrics.

Budget and burn-rate panels read the series `generate rules` records, so one set of panels
serves every service through the `service` variable. Canary-versus-stable and the release
decision depend on each service's own selectors and policy: they hold one query per service,
each kept only while that service is selected (`and on(service)` with the variable).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safedeploy.domain.burnrate import alert_rows
from safedeploy.domain.catalog import Service
from safedeploy.domain.durations import format_duration
from safedeploy.domain.selectors import escape_label_value
from safedeploy.generators.rules import (
    BUDGET_REMAINING,
    ERROR_BUDGET,
    OBJECTIVE,
    error_ratio_expr,
)
from safedeploy.usecases.context import Context

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
CANARY_WINDOW = 300
SELECTED = 'service="$service"'
WINDOW_PATTERN = "slo:sli_error:ratio_rate(.+)"
PANEL_TITLES = (
    "Error budget remaining",
    "Burn rate per window",
    "Canary vs stable error ratio",
    "Release decision",
    "Rollout progress",
    "Rollout phase",
)


def only_when_selected(expr: str, service: str) -> str:
    """`expr` while `service` is the selected one, nothing otherwise."""
    name = escape_label_value(service)
    return (
        f'label_replace(\n{expr}\n, "service", "{name}", "", "")\n'
        f'and on(service) label_replace(vector(1), "service", "$service", "", "")'
    )


def release_decision_expr(service: Service) -> str:
    """1 (GREEN) or 0 (RED) from the recorded series, by the rules of `domain.policy`:
    budget left, at or over the safety margin, and every long-window burn rate at or under
    the policy maximum. Freeze windows live in the state directory, not in Prometheus."""
    policy = service.spec.policy
    name = escape_label_value(service.name)
    remaining = f'min({BUDGET_REMAINING}{{service="{name}"}})'
    long_windows = sorted({row.long for slo in service.spec.slos for row in alert_rows(slo)})
    names = "|".join(format_duration(w) for w in long_windows)
    # The window becomes a label before dividing: without it the ratios of one SLO would
    # share a label set once the division drops their names, which Prometheus refuses.
    burn = (
        f'max(\n  label_replace({{__name__=~"slo:sli_error:ratio_rate({names})", '
        f'service="{name}"}}, "window", "$1", "__name__", "{WINDOW_PATTERN}")\n'
        f'  / on(service, slo) group_left {ERROR_BUDGET}{{service="{name}"}}\n)'
    )
    margin = max(policy.budget_safety_margin, 0.0)
    return (
        f"({remaining} > bool 0)\n* ({remaining} >= bool {margin:g})\n"
        f"* ({burn} <= bool {policy.max_burn_rate:g})"
    )


def _target(expr: str, legend: str, ref: str) -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}


def _ref(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"Q{index}"


def _panel(
    title: str,
    kind: str,
    targets: list[dict[str, Any]],
    grid: tuple[int, int, int, int],
    **extra: Any,
) -> dict[str, Any]:
    x, y, w, h = grid
    return {
        "title": title,
        "type": kind,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": targets,
        **extra,
    }


def _percent_thresholds(red_below: float) -> dict[str, Any]:
    return {
        "mode": "absolute",
        "steps": [{"color": "red", "value": None}, {"color": "green", "value": red_below}],
    }


def panels(services: list[Service]) -> list[dict[str, Any]]:
    burn = (
        f'label_replace({{__name__=~"slo:sli_error:ratio_rate.+", {SELECTED}}}, '
        f'"window", "$1", "__name__", "{WINDOW_PATTERN}")\n'
        f"/ on(service, slo) group_left {ERROR_BUDGET}{{{SELECTED}}}"
    )
    canary = [
        _target(
            only_when_selected(
                error_ratio_expr(slo, CANARY_WINDOW, by=s.spec.deployment.canary_label), s.name
            ),
            f"{slo.name} {{{{{s.spec.deployment.canary_label}}}}}",
            _ref(i),
        )
        for i, (s, slo) in enumerate((s, slo) for s in services for slo in s.spec.slos)
    ]
    decisions = [
        _target(only_when_selected(release_decision_expr(s), s.name), "decision", _ref(i))
        for i, s in enumerate(services)
    ]
    rollout = 'name="$service"'
    return [
        _panel(
            PANEL_TITLES[0],
            "stat",
            [_target(f"{BUDGET_REMAINING}{{{SELECTED}}}", "{{slo}}", "A")],
            (0, 0, 8, 6),
            fieldConfig={
                "defaults": {"unit": "percentunit", "thresholds": _percent_thresholds(0.0)}
            },
            description="1 - error ratio over the SLO period / error budget.",
        ),
        _panel(
            PANEL_TITLES[3],
            "stat",
            decisions,
            (8, 0, 8, 6),
            description="GREEN when budget is left, over the safety margin, and every "
            "long-window burn rate is at or under the policy maximum. Release freezes are "
            "not in Prometheus: `safedeploy gate` has the final word.",
            fieldConfig={
                "defaults": {
                    "mappings": [
                        {
                            "type": "value",
                            "options": {
                                "1": {"text": "GREEN", "color": "green"},
                                "0": {"text": "RED", "color": "red"},
                            },
                        }
                    ]
                }
            },
        ),
        _panel(
            PANEL_TITLES[5],
            "stat",
            [_target(f"rollout_info{{{rollout}}}", "{{phase}}", "A")],
            (16, 0, 8, 6),
            options={"textMode": "name", "reduceOptions": {"calcs": ["lastNotNull"]}},
            description="Argo Rollouts controller metric; the Rollout is named like the service.",
        ),
        _panel(
            PANEL_TITLES[1],
            "timeseries",
            [_target(burn, "{{slo}} {{window}}", "A")],
            (0, 6, 12, 8),
            description="Error ratio per recorded window over the error budget; "
            "1 spends the budget exactly over the period.",
        ),
        _panel(
            PANEL_TITLES[2],
            "timeseries",
            canary,
            (12, 6, 12, 8),
            fieldConfig={"defaults": {"unit": "percentunit"}},
            description=f"Error ratio over {format_duration(CANARY_WINDOW)} per value of "
            "the service's canary label.",
        ),
        _panel(
            PANEL_TITLES[4],
            "timeseries",
            [
                _target(
                    f"rollout_info_replicas_updated{{{rollout}}}\n"
                    f"/ rollout_info_replicas_desired{{{rollout}}}",
                    "{{namespace}}/{{name}} updated",
                    "A",
                )
            ],
            (0, 14, 24, 6),
            fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1}},
        ),
    ]


def dashboard(services: list[Service]) -> dict[str, Any]:
    for index, panel in enumerate(p := panels(services)):
        panel["id"] = index + 1
    return {
        "uid": "safedeploy-slos",
        "title": "safedeploy: SLOs and releases",
        "tags": ["safedeploy", "slo"],
        "schemaVersion": SCHEMA_VERSION,
        "editable": True,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                },
                {
                    "name": "service",
                    "label": "Service",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": {"query": f"label_values({OBJECTIVE}, service)", "refId": "service"},
                    "definition": f"label_values({OBJECTIVE}, service)",
                    "refresh": 1,
                    "sort": 1,
                },
            ]
        },
        "panels": p,
    }


def render_dashboard(services: list[Service]) -> str:
    return json.dumps(dashboard(services), indent=2) + "\n"


def generate_dashboard(ctx: Context, out: Path | None) -> str:
    """`safedeploy generate dashboard`: the JSON, also written to `out` when given."""
    from safedeploy.adapters.store import atomic_write_bytes
    from safedeploy.domain.catalog import select

    text = render_dashboard(select(ctx.catalog, []))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, text.encode("utf-8"))
    return text
