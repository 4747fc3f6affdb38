"""Argo Rollouts `AnalysisTemplate`s that judge a canary on its own traffic.

A canary at 20 % of the traffic failing 7 % of its requests makes the whole service fail
1.4 %: a 14x burn rate for 99.9 %, under the 14.4 that pages, so an analysis of the whole
service lets it through. The template therefore takes the canary's and the stable
version's values of the service's canary label (`deployment.canary_label`) as arguments,
pins every selector to them, and holds, per SLO:

- `<slo>-canary-burn-rate`: the canary's own burn rate over the short window of the
  fastest alert row at or under that row's factor, the rule that pages;
- `<slo>-canary-vs-stable`: the canary's error ratio over `deployment.canary_window` at
  most `policy.canary_max_error_ratio` above the stable version's, reconcile's canary
  rule. With no stable traffic to compare with (a first release) the difference is 0 and
  the burn rate alone judges.

A canary with fewer than `min_events` events in a window answers NaN, which matches
neither condition, so Argo marks the measurement inconclusive instead of passing it: a
canary that serves nothing proves nothing.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

from safedeploy.domain.burnrate import AlertRow, alert_rows
from safedeploy.domain.catalog import SLO, Service
from safedeploy.domain.durations import format_duration, parse_duration
from safedeploy.domain.layout import CONFIG
from safedeploy.domain.selectors import Matcher, Selector
from safedeploy.domain.slo import error_budget
from safedeploy.domain.urls import split_credentials
from safedeploy.errors import BadInputError
from safedeploy.generators.rules import error_ratio_expr, events_expr, number
from safedeploy.usecases.context import Context

API_VERSION = "argoproj.io/v1alpha1"
CANARY_ARG, STABLE_ARG = "canary-version", "stable-version"
NO_DATA = "vector(NaN)"


def gating_row(slo: SLO) -> AlertRow:
    """The fast-burn row with the shortest short window: the quickest reliable verdict.

    A catalog that overrides the table with slow-burn rows only still gets a gate, from
    its shortest row, rather than a canary that nothing watches.
    """
    rows = alert_rows(slo)
    fast = [r for r in rows if r.severity == "fast-burn"] or list(rows)
    return min(fast, key=lambda r: (r.short, -r.factor))


def argument(name: str) -> str:
    return "{{args.%s}}" % name  # noqa: UP031 - Argo's template syntax is all braces


def pinned(slo: SLO, label: str, value: str) -> SLO:
    """`slo` with every selector of its SLI held to `label="value"`."""

    def pin(selector: Selector | None) -> Selector | None:
        if selector is None:
            return None
        kept = tuple(m for m in selector.matchers if m.label != label)
        return Selector(
            metric=selector.metric, matchers=(*kept, Matcher(label=label, op="=", value=value))
        )

    sli = slo.sli.model_copy(
        update={name: pin(getattr(slo.sli, name)) for name in ("errors", "total", "histogram")}
    )
    return slo.model_copy(update={"sli": sli})


def _indent(expr: str) -> str:
    return textwrap.indent(expr, "  ")


def guarded_ratio(slo: SLO, window: int) -> str:
    """The error ratio over `window`, only where the window holds `min_events` events;
    in brackets, since `and` binds looser than the arithmetic around it."""
    ratio = f"(\n{_indent(error_ratio_expr(slo, window))}\n)"
    enough = f"(\n{_indent(events_expr(slo, window))} >= {slo.min_events}\n)"
    return f"(\n{_indent(ratio)}\n  and on()\n{_indent(enough)}\n)"


def burn_rate_query(slo: SLO, window: int) -> str:
    """The canary's burn rate over `window`, NaN with too few events."""
    budget = error_budget(slo.objective)
    return f"{guarded_ratio(slo, window)}\n/ {budget!r}\nor on() {NO_DATA}"


def versus_stable_query(canary: SLO, stable: SLO, window: int) -> str:
    """Canary error ratio minus stable's; the canary's own when stable has no traffic."""
    mine, theirs = guarded_ratio(canary, window), guarded_ratio(stable, window)
    return f"{mine}\n- (\n{_indent(theirs)}\n  or on()\n{_indent(mine)}\n)\nor on() {NO_DATA}"


def _metric(name: str, limit: float, query: str, address: str) -> dict[str, Any]:
    return {
        "name": name,
        "interval": "1m",
        # One breach aborts: the limit already allows for noise over the window.
        "failureLimit": 0,
        "successCondition": f"result[0] <= {number(limit)}",
        "failureCondition": f"result[0] > {number(limit)}",
        "provider": {"prometheus": {"address": address, "query": query}},
    }


def analysis_metrics(service: Service, slo: SLO, address: str) -> list[dict[str, Any]]:
    label = service.spec.deployment.canary_label
    canary = pinned(slo, label, argument(CANARY_ARG))
    stable = pinned(slo, label, argument(STABLE_ARG))
    row = gating_row(slo)
    window = parse_duration(service.spec.deployment.canary_window)
    limit = service.spec.policy.canary_max_error_ratio
    burn = burn_rate_query(canary, row.short)
    versus = versus_stable_query(canary, stable, window)
    return [
        _metric(f"{slo.name}-canary-burn-rate", row.factor, burn, address),
        _metric(f"{slo.name}-canary-vs-stable", limit, versus, address),
    ]


def template_name(service: Service) -> str:
    return f"{service.name}-canary-slos"


def rule_text(service: Service) -> str:
    deployment, policy = service.spec.deployment, service.spec.policy
    rules = [
        f"{slo.name}: canary burn rate over {format_duration(gating_row(slo).short)} "
        f"<= {gating_row(slo).factor:g}"
        for slo in service.spec.slos
    ]
    return (
        f"{'; '.join(rules)}; every SLO: canary error ratio over {deployment.canary_window} "
        f"at most {policy.canary_max_error_ratio:g} above stable's"
    )


def analysis_template(service: Service, address: str) -> dict[str, Any]:
    label = service.spec.deployment.canary_label
    return {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        "metadata": {
            "name": template_name(service),
            "labels": {
                "app.kubernetes.io/managed-by": "safedeploy",
                "safedeploy.dev/service": service.name,
            },
            "annotations": {
                "safedeploy.dev/rule": rule_text(service),
                "safedeploy.dev/args": f"{CANARY_ARG} and {STABLE_ARG}: the {label} label of "
                "the canary's and of the stable version's series",
            },
        },
        "spec": {
            "args": [{"name": CANARY_ARG}, {"name": STABLE_ARG}],
            "metrics": [
                m for slo in service.spec.slos for m in analysis_metrics(service, slo, address)
            ],
        },
    }


def rollout_analysis(service: Service) -> dict[str, Any]:
    """The Rollout's `strategy.canary.analysis` for a canary label that holds the pod
    template hash; with a version label, pass the versions as `value`s instead."""
    return {
        "templates": [{"templateName": template_name(service)}],
        "args": [
            {"name": CANARY_ARG, "valueFrom": {"podTemplateHashValue": "Latest"}},
            {"name": STABLE_ARG, "valueFrom": {"podTemplateHashValue": "Stable"}},
        ],
    }


def render_templates(services: list[Service], address: str) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import LiteralScalarString

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    buffer.write("# Generated by `safedeploy generate analysis-template` from services/*.yaml.\n")
    for index, service in enumerate(services):
        document = analysis_template(service, address)
        for metric in document["spec"]["metrics"]:
            query = metric["provider"]["prometheus"]["query"]
            metric["provider"]["prometheus"]["query"] = LiteralScalarString(query + "\n")
        if index:
            buffer.write("---\n")
        usage = io.StringIO()
        yaml.dump({"analysis": rollout_analysis(service)}, usage)
        label = service.spec.deployment.canary_label
        buffer.write(
            f"# {service.name}: the Rollout passes the {label} label of the canary's and the "
            "stable series, e.g.\n# with a pod template hash label:\n"
            + textwrap.indent(usage.getvalue(), "#   ")
        )
        yaml.dump(document, buffer)
    return buffer.getvalue()


def generate_analysis_templates(ctx: Context, names: list[str], address: str | None) -> str:
    """`safedeploy generate analysis-template`: YAML documents, one per service."""
    from safedeploy.domain.catalog import select

    services = select(ctx.catalog, names)
    url = address or ctx.settings.prometheus.url
    if not url:
        raise BadInputError(
            f"{ctx.state / CONFIG}: prometheus.url: not set, and the AnalysisTemplate needs "
            "the address Argo Rollouts queries (set it or pass --address)"
        )
    # A manifest is committed to the environment repo: never with the credentials.
    return render_templates(services, split_credentials(url)[0])
