"""One OpenSLO SLO document into catalog SLO entries, for `openslo/v1` and `openslo/v1alpha`.

The two versions say the same things in different places: v1 has `timeWindow` with
duration shorthands (`28d`, `4w`, `1M`), an `indicator` or `indicatorRef` holding a
`ratioMetric` or `thresholdMetric` with `metricSource`s; v1alpha (the version Sloth reads)
has `timeWindows` with a count and a unit, and ratio metrics inside each objective. Each
objective becomes one catalog SLO, named after the SLO (with `-<index>` when there are
several, and always in v1alpha, the way Sloth names them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safedeploy.domain.durations import format_duration
from safedeploy.domain.selectors import Selector
from safedeploy.generators.imports import DEFAULT_PERIOD, Document
from safedeploy.generators.query_shapes import Counter, parse_shape
from safedeploy.generators.sli_mapping import (
    counter_of,
    from_bad_total,
    from_error_ratio,
    from_good_total,
)

MAPPED_KINDS = ("Service", "SLO", "SLI", "DataSource")
DAY = 86_400
PERIOD_DAYS = (1, 90)
# OpenSLO's duration shorthand: minutes, hours, days, weeks, months, quarters, years.
_SHORTHAND = re.compile(r"^([0-9]+)([mhdwMQY])$")
# A rolling month or quarter has no fixed length: 30 and 90 days, said in the output.
_UNIT_DAYS = {"m": 1 / 1440, "h": 1 / 24, "d": 1, "w": 7, "M": 30, "Q": 90, "Y": 365}
_ALPHA_UNIT = {
    "second": 1 / 86_400, "minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7,
    "month": 30, "quarter": 90, "year": 365,
}  # fmt: skip
_APPROXIMATE = ("M", "Q", "month", "quarter")
_ROLLING = "supported: one rolling window (isRolling: true, no calendar)"
LATENCY_OPS = ("lte", "lt")
PROMETHEUS_SOURCES = ("prometheus", "sloth")


@dataclass
class OpenSLOFiles:
    """Every document of the files given, by kind, and what was skipped."""

    services: dict[str, Document] = field(default_factory=dict)
    slos: list[Document] = field(default_factory=list)
    slis: dict[str, Document] = field(default_factory=dict)
    data_sources: dict[str, Document] = field(default_factory=dict)
    skipped: list[Document] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def add(self, doc: Document) -> None:
        if doc.kind == "SLO":
            self.slos.append(doc)
        elif doc.kind == "Service":
            self.services.setdefault(doc.name, doc)
        elif doc.kind == "SLI":
            self.slis[doc.name] = doc
        elif doc.kind == "DataSource":
            self.data_sources[doc.name] = doc
        else:
            self.skipped.append(doc)

    def notes(self) -> list[str]:
        return [
            f"{doc.where}: skipped: only {', '.join(MAPPED_KINDS)} documents map to the catalog"
            for doc in self.skipped
        ]


def slo_entries(
    doc: Document, body: Mapping[str, Any], found: OpenSLOFiles
) -> tuple[list[dict[str, Any]], list[str]]:
    """The catalog SLOs of one SLO document, and notes on what was assumed."""
    alpha = doc.body.get("apiVersion") == "openslo/v1alpha"
    method = body.get("budgetingMethod")
    if method != "Occurrences":
        raise doc.fail(
            "spec.budgetingMethod",
            f"{method!r} cannot be mapped; supported: Occurrences (safedeploy budgets events)",
        )
    period, notes = (alpha_period if alpha else v1_period)(doc, body)
    objectives = body.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        raise doc.fail("spec.objectives", "at least one objective is required")
    entries = []
    for index, objective in enumerate(objectives):
        field = f"spec.objectives[{index}]"
        if not isinstance(objective, Mapping):
            raise doc.fail(field, "expected a mapping")
        if "timeSliceTarget" in objective or "timeSliceWindow" in objective:
            raise doc.fail(field, "time slices cannot be mapped; supported: Occurrences")
        sli = (alpha_sli if alpha else v1_sli)(doc, body, objective, field, found)
        name = f"{doc.name}-{index}" if alpha or len(objectives) > 1 else doc.name
        ratio = target(doc, objective, field, alpha)
        entries.append({"name": name, "objective": ratio, "period": period, "sli": sli})
    return entries, [f"SLO {doc.name}: {note}" for note in notes]


def _period(doc: Document, field: str, count: int, unit: str, days: float) -> tuple[str, list[str]]:
    written = f"{count}{unit}" if len(unit) == 1 else f"{count} {unit}"
    total = count * days
    if not PERIOD_DAYS[0] <= total <= PERIOD_DAYS[1]:
        low, high = PERIOD_DAYS
        raise doc.fail(field, f"{written} cannot be mapped; supported: {low}d to {high}d")
    period = format_duration(round(total * DAY))
    approximate = unit in _APPROXIMATE or unit.lower() in _APPROXIMATE
    return period, [f"{written} read as {period} rolling"] if approximate else []


def _window(doc: Document, body: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    windows = body.get(key)
    if windows is None or windows == []:
        return None
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], Mapping):
        count = len(windows) if isinstance(windows, list) else "no"
        raise doc.fail(f"spec.{key}", f"{count} windows cannot be mapped; {_ROLLING}")
    window = windows[0]
    # The spec: isRolling defaults to false only when a calendar is given.
    if "calendar" in window or window.get("isRolling", True) is not True:
        raise doc.fail(f"spec.{key}[0]", f"calendar windows cannot be mapped; {_ROLLING}")
    return window


def v1_period(doc: Document, body: Mapping[str, Any]) -> tuple[str, list[str]]:
    window = _window(doc, body, "timeWindow")
    if window is None:
        return DEFAULT_PERIOD, [f"no timeWindow: {DEFAULT_PERIOD} rolling, the default"]
    written = str(window.get("duration", ""))
    match = _SHORTHAND.match(written)
    field = "spec.timeWindow[0].duration"
    if match is None:
        raise doc.fail(
            field,
            f"{written!r} is not an OpenSLO duration; supported: a count and m, h, d, w, M, Q "
            f"or Y (28d, 4w, 1M), {PERIOD_DAYS[0]}d to {PERIOD_DAYS[1]}d",
        )
    unit = match.group(2)
    return _period(doc, field, int(match.group(1)), unit, _UNIT_DAYS[unit])


def alpha_period(doc: Document, body: Mapping[str, Any]) -> tuple[str, list[str]]:
    window = _window(doc, body, "timeWindows")
    if window is None:
        return DEFAULT_PERIOD, [f"no timeWindows: {DEFAULT_PERIOD} rolling, the default"]
    count, unit = window.get("count"), str(window.get("unit", ""))
    if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
        raise doc.fail("spec.timeWindows[0].count", "a positive whole count is required")
    days = _ALPHA_UNIT.get(unit.lower())
    if days is None:
        raise doc.fail(
            "spec.timeWindows[0].unit", f"{unit!r} is not a unit; supported: Day, Week, Month"
        )
    return _period(doc, "spec.timeWindows[0]", count, unit, days)


def target(doc: Document, objective: Mapping[str, Any], field: str, alpha: bool) -> float:
    """The objective as a ratio in (0, 1): v1 writes `target` or `targetPercent`."""
    keys = ("target",) if alpha else ("target", "targetPercent")
    key = next((k for k in keys if k in objective), None)
    value = objective.get(key) if key else None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise doc.fail(f"{field}.target", f"a numeric {' or '.join(keys)} is required")
    ratio = value / 100 if key == "targetPercent" else value
    if not 0 < ratio < 1:
        bound = "(0, 100)" if key == "targetPercent" else "(0, 1)"
        raise doc.fail(
            f"{field}.{key}",
            f"{value} is not inside {bound}; supported: a target inside (0, 1), or a "
            "targetPercent inside (0, 100), that leaves an error budget",
        )
    return round(float(ratio), 12)


def query_of(doc: Document, metric: Any, field: str, found: OpenSLOFiles) -> tuple[str, str]:
    """The PromQL of a v1 `metricSource` and its field; the type may come from the
    DataSource document its `metricSourceRef` names."""
    source = metric.get("metricSource") if isinstance(metric, Mapping) else None
    field = f"{field}.metricSource"
    if not isinstance(source, Mapping):
        raise doc.fail(field, "missing; supported: a Prometheus metricSource")
    kind = source.get("type")
    ref = source.get("metricSourceRef")
    data_source = found.data_sources.get(str(ref)) if ref else None
    declared = data_source.body.get("spec", {}).get("type") if data_source else None
    if kind and declared and str(kind).lower() != str(declared).lower():
        raise doc.fail(f"{field}.type", f"{kind!r}, but DataSource {ref} is {declared!r}")
    kind = kind or declared
    if not kind:
        raise doc.fail(
            f"{field}.type",
            f"missing, and metricSourceRef {ref!r} names no DataSource in the files given; "
            "supported: type Prometheus, or the Prometheus DataSource file beside it",
        )
    if str(kind).lower() != "prometheus":
        raise doc.fail(f"{field}.type", f"{kind!r} cannot be mapped; supported: Prometheus")
    body = source.get("spec")
    query = body.get("query", body.get("promql")) if isinstance(body, Mapping) else None
    if not isinstance(query, str):
        raise doc.fail(f"{field}.spec.query", "a Prometheus query is required")
    return query, f"{field}.spec.query"


def counter(doc: Document, query: str, field: str, counter_flag: bool | None) -> Counter:
    try:
        return counter_of(parse_shape(query), counter=counter_flag)
    except ValueError as exc:
        raise doc.fail(field, str(exc)) from None


def _indicator(
    doc: Document, body: Mapping[str, Any], found: OpenSLOFiles
) -> tuple[Document, Mapping[str, Any], str]:
    """The SLI spec an SLO points at, the document holding it, and its field prefix."""
    if "indicatorRef" in body:
        ref = body["indicatorRef"]
        sli = found.slis.get(str(ref))
        if sli is None:
            raise doc.fail(
                "spec.indicatorRef",
                f"no SLI named {ref!r} in the files given; supported: an SLI document in "
                "the files given, or an inline indicator",
            )
        sli_spec = sli.body.get("spec")
        if not isinstance(sli_spec, Mapping):
            raise sli.fail("spec", "expected a mapping")
        return sli, sli_spec, "spec"
    inline = body.get("indicator")
    inline_spec = inline.get("spec") if isinstance(inline, Mapping) else None
    if not isinstance(inline_spec, Mapping):
        raise doc.fail("spec.indicator", "an SLO needs an indicator or an indicatorRef")
    return doc, inline_spec, "spec.indicator.spec"


def v1_sli(
    doc: Document,
    body: Mapping[str, Any],
    objective: Mapping[str, Any],
    field: str,
    found: OpenSLOFiles,
) -> dict[str, Any]:
    holder, indicator, prefix = _indicator(doc, body, found)
    ratio, threshold = indicator.get("ratioMetric"), indicator.get("thresholdMetric")
    if isinstance(ratio, Mapping):
        return v1_ratio(holder, ratio, f"{prefix}.ratioMetric", found)
    if isinstance(threshold, Mapping):
        query, query_field = query_of(holder, threshold, f"{prefix}.thresholdMetric", found)
        return latency_threshold(doc, counter(holder, query, query_field, True), objective, field)
    raise holder.fail(prefix, "supported: a ratioMetric or a thresholdMetric")


def v1_ratio(
    doc: Document, ratio: Mapping[str, Any], field: str, found: OpenSLOFiles
) -> dict[str, Any]:
    flag = ratio.get("counter")
    flag = flag if isinstance(flag, bool) else None
    if "raw" in ratio:
        query, query_field = query_of(doc, ratio["raw"], f"{field}.raw", found)
        if ratio.get("rawType") != "failure":
            raise doc.fail(
                f"{field}.rawType",
                f"{ratio.get('rawType')!r} cannot be mapped; supported: failure (an error ratio)",
            )
        try:
            return from_error_ratio(parse_shape(query))
        except ValueError as exc:
            raise doc.fail(query_field, str(exc)) from None
    if "total" not in ratio:
        raise doc.fail(f"{field}.total", "a ratio needs a total")
    total_query, total_field = query_of(doc, ratio["total"], f"{field}.total", found)
    total = counter(doc, total_query, total_field, flag)
    for part in ("bad", "good"):
        if part in ratio:
            query, query_field = query_of(doc, ratio[part], f"{field}.{part}", found)
            events = counter(doc, query, query_field, flag)
            try:
                if part == "bad":
                    return from_bad_total(events, total)
                return from_good_total(events, total)
            except ValueError as exc:
                raise doc.fail(query_field, str(exc)) from None
    raise doc.fail(field, "a ratio needs good or bad events over a total, or a raw ratio")


def alpha_sli(
    doc: Document,
    body: Mapping[str, Any],
    objective: Mapping[str, Any],
    field: str,
    found: OpenSLOFiles,
) -> dict[str, Any]:
    ratio = objective.get("ratioMetrics")
    if isinstance(ratio, Mapping):
        flag = ratio.get("incremental", ratio.get("counter"))
        flag = flag if isinstance(flag, bool) else None
        parts = {}
        for part in ("good", "total"):
            query, query_field = alpha_query(doc, ratio.get(part), f"{field}.ratioMetrics.{part}")
            parts[part] = counter(doc, query, query_field, flag)
        try:
            return from_good_total(parts["good"], parts["total"])
        except ValueError as exc:
            raise doc.fail(f"{field}.ratioMetrics.good.query", str(exc)) from None
    indicator = body.get("indicator")
    threshold = indicator.get("thresholdMetric") if isinstance(indicator, Mapping) else None
    if isinstance(threshold, Mapping):
        query, query_field = alpha_query(doc, threshold, "spec.indicator.thresholdMetric")
        return latency_threshold(doc, counter(doc, query, query_field, True), objective, field)
    raise doc.fail(
        f"{field}.ratioMetrics",
        "supported: ratioMetrics in the objective, or spec.indicator.thresholdMetric",
    )


def alpha_query(doc: Document, metric: Any, field: str) -> tuple[str, str]:
    if not isinstance(metric, Mapping):
        raise doc.fail(field, "missing; supported: source prometheus, queryType promql")
    source = str(metric.get("source", ""))
    if source.lower() not in PROMETHEUS_SOURCES:
        raise doc.fail(f"{field}.source", f"{source!r} cannot be mapped; supported: prometheus")
    if str(metric.get("queryType", "promql")).lower() != "promql":
        raise doc.fail(
            f"{field}.queryType", f"{metric.get('queryType')!r} cannot be mapped; supported: promql"
        )
    query = metric.get("query")
    if not isinstance(query, str):
        raise doc.fail(f"{field}.query", "a PromQL query is required")
    return query, f"{field}.query"


def latency_threshold(
    doc: Document, metric: Counter, objective: Mapping[str, Any], field: str
) -> dict[str, Any]:
    """A threshold on a histogram: requests at or under `value` are good."""
    op = objective.get("op")
    if op not in LATENCY_OPS:
        raise doc.fail(
            f"{field}.op",
            f"{op!r} cannot be mapped; supported: lte and lt "
            "(good requests are under the threshold, in a histogram bucket)",
        )
    value = objective.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise doc.fail(f"{field}.value", "a positive threshold, a bucket bound, is required")
    selector = metric.selector
    if not selector.metric.endswith("_bucket"):
        raise doc.fail(
            f"{field}.value",
            f"a threshold on {selector.metric} cannot be mapped; supported: a histogram's "
            "_bucket series, whose requests under the bound safedeploy counts",
        )
    base = selector.metric.removesuffix("_bucket")
    rest = tuple(m for m in selector.matchers if m.label != "le")
    return {"histogram": Selector(metric=base, matchers=rest).render(), "threshold": float(value)}
