"""Prometheus recording and alerting rules for every SLO of the catalog.

Names and labels follow Sloth (`slo:sli_error:ratio_rate5m`, `slo:current_burn_rate:ratio`,
`sloth_slo_info`, ...; `sloth_id`, `sloth_service`, `sloth_slo`, `sloth_window`,
`sloth_severity`), so the dashboards and alert routes people run on Sloth's series keep
working, beside safedeploy's own `service`, `slo` and `owner` labels and the labels of the
service and the SLO. Every window is a ratio of increases over that window, the period
included: Sloth averages the 5m ratios over the period, which weighs a quiet night like a
busy day and drifts from the budget that `safedeploy slo status` reports. Alerts are the
multiwindow, multi-burn-rate rows of `burnrate.alert_rows`: fast-burn rows page, slow-burn
rows open a ticket, named and routed as the SLO's `alerting` says.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from safedeploy.domain.burnrate import AlertRow, alert_rows, windows
from safedeploy.domain.catalog import (
    ALERT_LABELS,
    API_VERSION,
    RULE_LABELS,
    SLO,
    AlertRoute,
    Service,
)
from safedeploy.domain.durations import format_duration, parse_duration
from safedeploy.domain.selectors import Matcher, Selector
from safedeploy.domain.sli_queries import le_pattern
from safedeploy.domain.slo import error_budget, short_minimum
from safedeploy.errors import BadInputError
from safedeploy.usecases.context import Context

ERROR_RATIO = "slo:sli_error:ratio_rate"
EVENTS = "slo:sli_events:increase"
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
PERIOD_DAYS = "slo:time_period:days"
CURRENT_BURN_RATE = "slo:current_burn_rate:ratio"
PERIOD_BURN_RATE = "slo:period_burn_rate:ratio"
SLO_INFO = "sloth_slo_info"
WINDOW_LABEL = "sloth_window"
SEVERITY_LABEL = {"fast-burn": "page", "slow-burn": "ticket"}
ALERT_NAME = {"fast-burn": "ErrorBudgetFastBurn", "slow-burn": "ErrorBudgetSlowBurn"}
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# A service label that becomes an alert annotation rather than a label on every series.
RUNBOOK_URL = "runbook_url"

Rule = dict[str, Any]


def error_ratio_record(window: int) -> str:
    return f"{ERROR_RATIO}{format_duration(window)}"


def number(value: float) -> str:
    """The short spelling (6, not 6.0) unless it would change the value PromQL compares."""
    text = f"{value:g}"
    return text if float(text) == value else repr(value)


def events_record(window: int) -> str:
    return f"{EVENTS}{format_duration(window)}"


def events_expr(slo: SLO, window: int) -> str:
    """All events in `window`: what `min_events` is checked against."""
    sli = slo.sli
    span = format_duration(window)
    if sli.total is not None:
        return f"sum(increase({sli.total.render()}[{span}]))"
    if sli.histogram is None:
        raise ValueError(f"SLO {slo.name!r} has neither an availability nor a latency SLI")
    return f"sum(increase({sli.histogram.render(metric=sli.histogram.metric + '_count')}[{span}]))"


def service_labels(service: Service) -> dict[str, str]:
    """The service's labels that can go on a series: Prometheus label names that no
    generated label uses (a Kubernetes-style `app.kubernetes.io/name` cannot)."""
    reserved = RULE_LABELS | ALERT_LABELS | {RUNBOOK_URL}
    return {
        name: value
        for name, value in service.metadata.labels.items()
        if _LABEL_NAME.fullmatch(name) and not name.startswith("__") and name not in reserved
    }


def slo_labels(service: Service, slo: SLO) -> dict[str, str]:
    """Every rule of an SLO: the service's and the SLO's labels, then the keys."""
    return {
        **service_labels(service),
        **slo.labels,
        "service": service.name,
        "slo": slo.name,
        "owner": service.metadata.owner,
        "sloth_id": f"{service.name}-{slo.name}",
        "sloth_service": service.name,
        "sloth_slo": slo.name,
    }


def window_labels(service: Service, slo: SLO, window: int) -> dict[str, str]:
    return {**slo_labels(service, slo), WINDOW_LABEL: format_duration(window)}


def series_selector(service: Service, slo: SLO, metric: str) -> str:
    """A recorded series of one SLO; `owner` is left out so a change of owner keeps history."""
    return Selector(
        metric=metric,
        matchers=(
            Matcher(label="service", op="=", value=service.name),
            Matcher(label="slo", op="=", value=slo.name),
        ),
    ).render()


def error_ratio_expr(slo: SLO, window: int, by: str | None = None) -> str:
    """Bad events over all events in `window`, from the raw counters, per `by` if given.

    Mirrors `domain.slo.window_status`: an error selector that matches nothing counts as
    zero errors, and a latency SLI counts as bad every request above the threshold bucket.
    """
    sli = slo.sli
    span = format_duration(window)
    total_of = f"sum by ({by})" if by else "sum"
    if sli.errors is not None and sli.total is not None:
        errors = f"{total_of}(increase({sli.errors.render()}[{span}]))"
        total = f"{total_of}(increase({sli.total.render()}[{span}]))"
        # Series that never saw an error do not exist: fall back to zero, per group if any.
        none = f"0 * {total}" if by else "vector(0)"
        return f"(\n  {errors}\n  or {none}\n)\n/\n{total}"
    if sli.histogram is None or sli.threshold is None:
        raise ValueError(f"SLO {slo.name!r} has neither an availability nor a latency SLI")
    le = Matcher(label="le", op="=~", value=le_pattern(sli.threshold))
    count_selector = sli.histogram.render(metric=sli.histogram.metric + "_count")
    count = f"{total_of}(increase({count_selector}[{span}]))"
    good = sli.histogram.render(extra=(le,), metric=sli.histogram.metric + "_bucket")
    return f"clamp_min(\n  {count}\n  - {total_of}(increase({good}[{span}])),\n  0\n)\n/\n{count}"


def recording_rules(service: Service, slo: SLO) -> list[Rule]:
    """The events and error ratio of every window, then the burn rates (now: the shortest
    window; over the period) and the budget left over the period.

    The burn rates follow the ratios in the same group, and divide by the budget as a
    number rather than joining `slo:error_budget:ratio`: rules of a group run in order at
    one instant, so they never lag the ratios by an evaluation the way another group would.
    """
    labels = slo_labels(service, slo)
    budget = error_budget(slo.objective)
    shortest, period = windows(slo)[0], parse_duration(slo.period)
    ratios: list[Rule] = []
    for w in windows(slo):
        each = window_labels(service, slo, w)
        ratios.append({"record": events_record(w), "expr": events_expr(slo, w), "labels": each})
        ratios.append(
            {"record": error_ratio_record(w), "expr": error_ratio_expr(slo, w), "labels": each}
        )
    # A burn rate is of the SLO, not of a window: the ratio's sloth_window is dropped.
    current, over_period = (
        f"max without ({WINDOW_LABEL}) ({series_selector(service, slo, error_ratio_record(w))})"
        for w in (shortest, period)
    )
    burn = series_selector(service, slo, PERIOD_BURN_RATE)
    return [
        *ratios,
        {"record": CURRENT_BURN_RATE, "expr": f"{current} / {budget!r}", "labels": labels},
        {"record": PERIOD_BURN_RATE, "expr": f"{over_period} / {budget!r}", "labels": labels},
        {"record": BUDGET_REMAINING, "expr": f"1 - {burn}", "labels": labels},
    ]


def metadata_rules(service: Service, slo: SLO) -> list[Rule]:
    labels = slo_labels(service, slo)
    budget = error_budget(slo.objective)
    days = parse_duration(slo.period) / 86400
    info = {
        **labels,
        "sloth_objective": number(round(slo.objective * 100, 10)),
        "sloth_spec": API_VERSION,
    }
    return [
        {"record": OBJECTIVE, "expr": f"vector({slo.objective!r})", "labels": labels},
        {"record": ERROR_BUDGET, "expr": f"vector({budget!r})", "labels": labels},
        {"record": PERIOD_DAYS, "expr": f"vector({days:g})", "labels": labels},
        {"record": SLO_INFO, "expr": "vector(1)", "labels": info},
    ]


def burn_condition(service: Service, slo: SLO, row: AlertRow) -> str:
    """Both windows of one row above the row's burn rate, as an error ratio, the long one
    with at least `min_events` events and the short one with its share of them
    (`short_minimum`): the engine calls a thinner window unknown, and an unknown window
    neither clears nor breaches a row, so one failed request at night pages nobody."""
    budget = error_budget(slo.objective)
    threshold = f"({number(row.factor)} * {number(budget)})"
    minimums = ((row.long, slo.min_events), (row.short, short_minimum(slo.min_events, row)))
    parts = [
        f"{series_selector(service, slo, error_ratio_record(w))} > {threshold}"
        for w in (row.long, row.short)
    ] + [
        f"{series_selector(service, slo, events_record(w))} >= {minimum}" for w, minimum in minimums
    ]
    # Each window's series has its own sloth_window: without it they match one another.
    kept = [f"max without ({WINDOW_LABEL}) ({part})" for part in parts]
    return "(\n  " + "\n  and\n  ".join(kept) + "\n)"


def alert_annotations(
    service: Service, slo: SLO, severity: str, rows: list[AlertRow]
) -> dict[str, str]:
    """What on-call reads, then the service's runbook and the SLO's own annotations."""
    windows_text = ", ".join(f"{r.label} over {r.factor:g}x" for r in rows)
    annotations = {
        "summary": f"{service.name} {slo.name}: error budget {severity}",
        "description": f"The {slo.name} SLO ({slo.objective * 100:g}% over {slo.period}) of "
        f"{service.name} burns its error budget too fast: {windows_text}.",
        "runbook": f"Run `safedeploy slo status --service {service.name}` for the burn rate per "
        "window; if a release is rolling out, `safedeploy reconcile` proposes a rollback "
        "for the owner to approve.",
    }
    runbook_url = service.metadata.labels.get(RUNBOOK_URL)
    if runbook_url:
        annotations[RUNBOOK_URL] = runbook_url
    return {**annotations, **slo.alerting.annotations, **route(slo, severity).annotations}


def route(slo: SLO, severity: str) -> AlertRoute:
    return slo.alerting.page if severity == "fast-burn" else slo.alerting.ticket


def alerting_rules(service: Service, slo: SLO) -> list[Rule]:
    rules: list[Rule] = []
    for severity in ("fast-burn", "slow-burn"):
        rows = [row for row in alert_rows(slo) if row.severity == severity]
        if not rows or route(slo, severity).disable:
            continue
        level = SEVERITY_LABEL[severity]
        labels = {
            **slo_labels(service, slo),
            "severity": level,
            **slo.alerting.labels,
            **route(slo, severity).labels,
            "sloth_severity": level,
        }
        rules.append(
            {
                "alert": slo.alerting.name or ALERT_NAME[severity],
                "expr": "\nor\n".join(burn_condition(service, slo, row) for row in rows),
                "labels": labels,
                "annotations": alert_annotations(service, slo, severity, rows),
            }
        )
    return rules


def rule_groups(service: Service) -> list[dict[str, Any]]:
    """Three groups per service: ratios, metadata over them, alerts over them."""
    name = f"safedeploy-{service.name}"
    return [
        {
            "name": f"{name}-sli-recordings",
            "rules": [r for slo in service.spec.slos for r in recording_rules(service, slo)],
        },
        {
            "name": f"{name}-meta-recordings",
            "rules": [r for slo in service.spec.slos for r in metadata_rules(service, slo)],
        },
        {
            "name": f"{name}-alerts",
            "rules": [r for slo in service.spec.slos for r in alerting_rules(service, slo)],
        },
    ]


def prometheus_rule(service: Service) -> dict[str, Any]:
    """The groups of one service as a prometheus-operator `PrometheusRule` object."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"safedeploy-{service.name}",
            "labels": {
                "app.kubernetes.io/managed-by": "safedeploy",
                "safedeploy.dev/service": service.name,
            },
        },
        "spec": {"groups": rule_groups(service)},
    }


# Output format -> the file suffix `--out` writes, one file per service.
FORMATS = {"prometheus": ".rules.yaml", "prometheus-operator": ".prometheusrule.yaml"}


def render_rules(services: list[Service], output: str = "prometheus") -> str:
    """One Prometheus rule file, or one PrometheusRule document per service; expressions
    spelled as readable blocks."""
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import LiteralScalarString

    def literal(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: literal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [literal(v) for v in value]
        if isinstance(value, str) and "\n" in value:
            return LiteralScalarString(value + "\n")
        return value

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    buffer.write(
        "# Generated by `safedeploy generate rules` from services/*.yaml; edit those instead.\n"
    )
    if output == "prometheus-operator":
        yaml.dump_all([literal(prometheus_rule(s)) for s in services], buffer)
    else:
        yaml.dump(literal({"groups": [g for s in services for g in rule_groups(s)]}), buffer)
    return buffer.getvalue()


def generate_rules(
    ctx: Context, names: list[str], out: Path | None, output: str = "prometheus"
) -> tuple[str, list[Path]]:
    """`safedeploy generate rules`: the rule text, and the files written (one per service)."""
    from safedeploy.adapters.store import atomic_write_bytes
    from safedeploy.domain.catalog import select

    if output not in FORMATS:
        raise BadInputError(f"--format: {output!r} is not one of {', '.join(FORMATS)}")
    services = select(ctx.catalog, names)
    if out is None:
        return render_rules(services, output), []
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for service in services:
        path = out / f"{service.name}{FORMATS[output]}"
        atomic_write_bytes(path, render_rules([service], output).encode("utf-8"))
        written.append(path)
    return "", written
