"""OpenSLO v1 (`apiVersion: openslo/v1`) into `services/<name>.yaml`.

What maps: kinds Service, SLI and SLO; a `ratioMetric` of counters (bad + total, or good +
total when good is total with one more matcher, or a histogram bucket over its count) or a
`thresholdMetric` on a histogram; `budgetingMethod: Occurrences`; one rolling `timeWindow`;
one objective. Everything else is refused with the file and the field, before anything is
written: a half-imported catalog would judge releases against SLOs nobody wrote.

OpenSLO has no owner field: the owner comes from `metadata.labels.owner` (or annotations)
of the Service, else of the SLO. What OpenSLO has no word for (where the service is
deployed, how it rolls back) comes from the command line.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from safedeploy.domain.catalog import API_VERSION, Service
from safedeploy.domain.durations import format_duration, parse_duration
from safedeploy.domain.selectors import Matcher, Operator, Selector, parse_selector
from safedeploy.errors import BadInputError

OPENSLO = "openslo/v1"
KINDS = ("Service", "SLI", "SLO")
_TARGET_OPTIONS = {
    "kind": "--target-kind",
    "path": "--target-path",
    "container": "--container",
    "image": "--image",
}
_NEGATED: dict[Operator, Operator] = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}


@dataclass(frozen=True)
class Document:
    """One OpenSLO object and the file it came from, for error messages."""

    file: str
    kind: str
    name: str
    body: dict[str, Any]

    def fail(self, field: str, message: str) -> BadInputError:
        return BadInputError(f"{self.file}: {self.kind} {self.name}: {field}: {message}")


@dataclass(frozen=True)
class Deployment:
    """What OpenSLO does not describe, from the command line.

    `{name}` (or `<name>`) in the target path stands for the service.
    """

    target_kind: str = "rollout"
    target_path: str = "apps/{name}/rollout.yaml"
    container: str | None = None
    image: str | None = None


def parse_documents(file: str, text: str) -> list[Document]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        loaded = [d for d in YAML(typ="safe").load_all(text) if d is not None]
    except YAMLError as exc:
        raise BadInputError(f"{file}: (yaml): {' '.join(str(exc).split())[:200]}") from None
    objects: list[Any] = []
    for item in loaded:
        objects.extend(item if isinstance(item, list) else [item])
    documents = []
    for index, obj in enumerate(objects):
        where = f"{file}: document {index + 1}"
        if not isinstance(obj, dict):
            raise BadInputError(f"{where}: expected an OpenSLO object")
        if obj.get("apiVersion") != OPENSLO:
            raise BadInputError(f"{where}: apiVersion: {obj.get('apiVersion')!r} is not {OPENSLO}")
        kind, metadata = obj.get("kind"), obj.get("metadata")
        if kind not in KINDS:
            raise BadInputError(f"{where}: kind: {kind!r} cannot be mapped (only {KINDS})")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not name:
            raise BadInputError(f"{where}: metadata.name: every {kind} needs a name")
        documents.append(Document(file, str(kind), name, obj))
    return documents


def _spec(doc: Document, body: dict[str, Any] | None = None) -> dict[str, Any]:
    spec = (body or doc.body).get("spec")
    if not isinstance(spec, dict):
        raise doc.fail("spec", "expected a mapping")
    return spec


def _selector(doc: Document, field: str, metric: Any) -> Selector:
    """A plain series selector from a Prometheus `metricSource`."""
    source = metric.get("metricSource") if isinstance(metric, dict) else None
    if not isinstance(source, dict):
        raise doc.fail(f"{field}.metricSource", "missing")
    kind = str(source.get("type", ""))
    if kind.lower() != "prometheus":
        raise doc.fail(f"{field}.metricSource.type", f"{kind!r} is not Prometheus")
    spec = source.get("spec")
    query = spec.get("query", spec.get("promql")) if isinstance(spec, dict) else None
    if not isinstance(query, str):
        raise doc.fail(f"{field}.metricSource.spec.query", "a Prometheus query is required")
    try:
        return parse_selector(query)
    except ValueError as exc:
        raise doc.fail(
            f"{field}.metricSource.spec.query",
            f"only a series selector can be mapped, safedeploy builds the PromQL ({exc})",
        ) from None


def _errors_from_good(good: Selector, total: Selector) -> Selector | None:
    """Bad events as a selector when good is total plus one matcher: that matcher negated."""
    extra = [m for m in good.matchers if m not in total.matchers]
    if (
        good.metric != total.metric
        or len(extra) != 1
        or len(good.matchers) != len(total.matchers) + 1
    ):
        return None
    flipped = Matcher(label=extra[0].label, op=_NEGATED[extra[0].op], value=extra[0].value)
    return Selector(metric=total.metric, matchers=(*total.matchers, flipped))


def _latency_from_good(good: Selector, total: Selector) -> dict[str, Any] | None:
    """`x_bucket{..., le="0.3"}` over `x_count{...}`: the histogram `x` under 0.3."""
    if not (good.metric.endswith("_bucket") and total.metric.endswith("_count")):
        return None
    base = good.metric.removesuffix("_bucket")
    le = [m for m in good.matchers if m.label == "le" and m.op == "="]
    rest = tuple(m for m in good.matchers if m.label != "le")
    if (
        base != total.metric.removesuffix("_count")
        or len(le) != 1
        or set(rest) != set(total.matchers)
    ):
        return None
    try:
        threshold = float(le[0].value)
    except ValueError:
        return None
    return {"histogram": Selector(metric=base, matchers=rest).render(), "threshold": threshold}


def ratio_sli(doc: Document, ratio: dict[str, Any], field: str) -> dict[str, Any]:
    if ratio.get("counter") is not True:
        raise doc.fail(f"{field}.counter", "only counters (counter: true) can be mapped")
    if "total" not in ratio:
        raise doc.fail(f"{field}.total", "a ratio needs a total")
    total = _selector(doc, f"{field}.total", ratio["total"])
    if "bad" in ratio:
        bad = _selector(doc, f"{field}.bad", ratio["bad"])
        return {"errors": bad.render(), "total": total.render()}
    if "good" not in ratio:
        raise doc.fail(field, "a ratio needs good or bad events (raw ratios cannot be mapped)")
    good = _selector(doc, f"{field}.good", ratio["good"])
    latency = _latency_from_good(good, total)
    if latency is not None:
        return latency
    errors = _errors_from_good(good, total)
    if errors is None:
        raise doc.fail(
            f"{field}.good",
            "good must be the total's selector with one more matcher (or a histogram "
            "bucket over its _count), so that bad events are a selector too",
        )
    return {"errors": errors.render(), "total": total.render()}


def threshold_sli(
    doc: Document, metric: dict[str, Any], objective: dict[str, Any], field: str
) -> dict[str, Any]:
    """A threshold on a latency histogram: requests at or under `value` are good."""
    selector = _selector(doc, field, metric)
    if objective.get("op") != "lte":
        raise doc.fail(
            "spec.objectives[0].op",
            f"{objective.get('op')!r} cannot be mapped: a histogram bucket counts lte",
        )
    value = objective.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise doc.fail("spec.objectives[0].value", "a positive threshold in seconds is required")
    base = Selector(
        metric=selector.metric.removesuffix("_bucket"),
        matchers=tuple(m for m in selector.matchers if m.label != "le"),
    )
    return {"histogram": base.render(), "threshold": float(value)}


def _indicator(slo: Document, slis: dict[str, Document]) -> tuple[Document, dict[str, Any]]:
    spec = _spec(slo)
    if "indicatorRef" in spec:
        ref = spec["indicatorRef"]
        if ref not in slis:
            raise slo.fail("spec.indicatorRef", f"no SLI named {ref!r} in the files given")
        return slis[ref], _spec(slis[ref])
    inline = spec.get("indicator")
    if not isinstance(inline, dict):
        raise slo.fail("spec.indicator", "an SLO needs an indicator or an indicatorRef")
    return slo, _spec(slo, inline)


def _period(slo: Document) -> str:
    spec = _spec(slo)
    method = spec.get("budgetingMethod")
    if method != "Occurrences":
        raise slo.fail(
            "spec.budgetingMethod",
            f"{method!r} cannot be mapped: safedeploy budgets by Occurrences",
        )
    windows = spec.get("timeWindow")
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
        raise slo.fail("spec.timeWindow", "exactly one time window is required")
    window = windows[0]
    if window.get("isRolling") is not True or "calendar" in window:
        raise slo.fail("spec.timeWindow[0]", "calendar windows cannot be mapped; use isRolling")
    try:
        return format_duration(parse_duration(str(window.get("duration", ""))))
    except ValueError as exc:
        raise slo.fail("spec.timeWindow[0].duration", str(exc)) from None


def _objective(slo: Document) -> dict[str, Any]:
    objectives = _spec(slo).get("objectives")
    if not isinstance(objectives, list) or len(objectives) != 1:
        raise slo.fail("spec.objectives", "exactly one objective can be mapped per SLO")
    objective = objectives[0]
    if not isinstance(objective, dict):
        raise slo.fail("spec.objectives[0]", "expected a mapping")
    if "timeSliceTarget" in objective or "timeSliceWindow" in objective:
        raise slo.fail("spec.objectives[0]", "time slices cannot be mapped")
    return objective


def slo_entry(slo: Document, slis: dict[str, Document]) -> dict[str, Any]:
    period = _period(slo)
    objective = _objective(slo)
    target = objective.get("target", objective.get("targetPercent"))
    if not isinstance(target, int | float) or isinstance(target, bool):
        raise slo.fail("spec.objectives[0].target", "a numeric target is required")
    owner_doc, indicator = _indicator(slo, slis)
    if isinstance(indicator.get("ratioMetric"), dict):
        sli = ratio_sli(owner_doc, indicator["ratioMetric"], "spec.ratioMetric")
    elif isinstance(indicator.get("thresholdMetric"), dict):
        sli = threshold_sli(
            owner_doc, indicator["thresholdMetric"], objective, "spec.thresholdMetric"
        )
    else:
        raise owner_doc.fail("spec", "only ratioMetric and thresholdMetric can be mapped")
    return {"name": slo.name, "objective": target, "period": period, "sli": sli}


def _owner(*documents: Document | None) -> str | None:
    for doc in documents:
        if doc is None:
            continue
        metadata = doc.body.get("metadata") or {}
        for section in ("labels", "annotations"):
            value = (metadata.get(section) or {}).get("owner")
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            if isinstance(value, str) and value:
                return value
    return None


def services_from(documents: list[Document], deployment: Deployment) -> list[Service]:
    """Every Service named by an SLO, validated; the first problem raises BadInputError."""
    services = {d.name: d for d in documents if d.kind == "Service"}
    slis = {d.name: d for d in documents if d.kind == "SLI"}
    slos_by_service: dict[str, list[Document]] = {}
    for slo in (d for d in documents if d.kind == "SLO"):
        service = _spec(slo).get("service")
        if not isinstance(service, str) or not service:
            raise slo.fail("spec.service", "every SLO must name its service")
        slos_by_service.setdefault(service, []).append(slo)
    if not slos_by_service:
        raise BadInputError(f"{documents[0].file if documents else '(input)'}: no SLO to import")
    result = []
    for name, slos in slos_by_service.items():
        service_doc = services.get(name)
        owner = _owner(service_doc, *slos)
        if owner is None:
            where = service_doc or slos[0]
            raise where.fail("metadata.labels.owner", "every service needs an owner")
        result.append(
            _service(name, owner, [slo_entry(s, slis) for s in slos], deployment, slos[0])
        )
    return result


def _service(
    name: str, owner: str, slos: list[dict[str, Any]], deployment: Deployment, origin: Document
) -> Service:
    target: dict[str, Any] = {
        "kind": deployment.target_kind,
        "path": deployment.target_path.replace("{name}", name).replace("<name>", name),
    }
    if deployment.container:
        target["container"] = deployment.container
    if deployment.image:
        target["image"] = deployment.image
    data = {
        "apiVersion": API_VERSION,
        "kind": "Service",
        "metadata": {"name": name, "owner": owner},
        "spec": {
            "target": target,
            "deployment": {"strategy": "canary"},
            "rollback": {"strategy": "revert-image"},
            "slos": slos,
        },
    }
    try:
        return Service.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = tuple(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc[:2] == ("spec", "target"):
            # The target comes from the command line, not from the file: name the option.
            option = _TARGET_OPTIONS.get(loc[2] if len(loc) > 2 else "image", "--image")
            raise BadInputError(f"{option}: {message}") from None
        raise origin.fail(f"(imported as) {'.'.join(loc)}", message) from None


def render_service(service: Service, sources: list[str]) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    buffer.write(
        f"# Imported from OpenSLO ({', '.join(sources)}) by `safedeploy import openslo`.\n"
    )
    data = service.model_dump(mode="json", exclude_defaults=True)
    yaml.dump(data, buffer)
    return buffer.getvalue()


def import_openslo(files: list[Path], out: Path, deployment: Deployment) -> list[Path]:
    """`safedeploy import openslo`: write `out/<service>.yaml` for every service, or nothing."""
    from safedeploy.adapters.store import atomic_write_bytes

    documents: list[Document] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInputError(f"{file}: (file): cannot read: {exc}") from None
        documents.extend(parse_documents(str(file), text))
    services = services_from(documents, deployment)
    targets = {out / f"{s.name}.yaml": s for s in services}
    existing = [p for p in targets if p.exists()]
    if existing:
        raise BadInputError(f"{existing[0]}: already exists; import never overwrites a service")
    out.mkdir(parents=True, exist_ok=True)
    sources = [f.name for f in files]
    for path, service in targets.items():
        atomic_write_bytes(path, render_service(service, sources).encode("utf-8"))
    return list(targets)
