"""Sloth SLO specs (`version: prometheus/v1`, and `PrometheusServiceLevel` resources of
`sloth.slok.dev/v1`) into `services/<name>.yaml`.

What maps: every SLO whose SLI is `events` (an error query and a total query) or `raw` (an
error-ratio query) built from counters, in the shapes `query_shapes` accepts; its labels,
and its `alerting` (alert name, labels, annotations, page and ticket routes, disabled
alerts) as the SLO's `labels` and `alerting`, so the generated rules carry them as Sloth's
would. The service's labels become its metadata labels (and its `owner` label its owner).
Sloth specs have no period: SLOs get Sloth's default, 30 days, said in the output. SLI
plugins are Sloth's own code and are refused; SLO plugins are skipped with a note, as are
documents of other Sloth kinds (`AlertWindows`). Both spellings of a field (`error_query`
and `errorQuery`) are accepted in both formats; an unknown field is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safedeploy.domain.catalog import Service
from safedeploy.errors import BadInputError
from safedeploy.generators.imports import (
    DEFAULT_PERIOD,
    Deployment,
    Document,
    Imported,
    People,
    build_service,
    check_people,
    people_from,
    read_objects,
    text_map,
    write_services,
)
from safedeploy.generators.query_shapes import Counter, Ratio, parse_shape
from safedeploy.generators.sli_mapping import counter_of, from_bad_total, from_error_ratio

PROMETHEUS_V1 = "prometheus/v1"
K8S_API = "sloth.slok.dev/v1"
K8S_KIND = "PrometheusServiceLevel"
SUPPORTED = f"version {PROMETHEUS_V1} specs and {K8S_API} {K8S_KIND} resources"
SPEC_KEYS = ("version", "service", "labels", "slos", "slo_plugins", "description")
SLO_KEYS = ("name", "description", "objective", "labels", "sli", "alerting", "plugins")
SLI_KEYS = ("events", "raw", "plugin")
ALERTING_KEYS = ("name", "labels", "annotations", "page_alert", "ticket_alert")
ROUTE_KEYS = ("disable", "labels", "annotations")


@dataclass
class SlothSpec:
    """One service level: the document it came from and its spec, in either format."""

    doc: Document
    spec: Mapping[str, Any]
    prefix: str  # where the spec's fields are in the document: "" or "spec."


@dataclass
class SlothFiles:
    specs: list[SlothSpec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped_kinds: list[str] = field(default_factory=list)


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def get(mapping: Mapping[str, Any], key: str) -> Any:
    """A field in Sloth's spelling or the Kubernetes resource's (`page_alert`, `pageAlert`)."""
    return mapping.get(key, mapping.get(camel(key)))


def check_keys(doc: Document, mapping: Any, keys: tuple[str, ...], field: str) -> None:
    if not isinstance(mapping, Mapping):
        raise doc.fail(field, "expected a mapping")
    known = {*keys, *(camel(k) for k in keys)}
    for key in mapping:
        if key not in known:
            raise doc.fail(
                f"{field}.{key}" if field else str(key),
                f"unknown field; supported: {', '.join(keys)}",
            )


def sloth_spec(file: str, number: int, obj: Any) -> SlothSpec | tuple[str, str]:
    """The service level of one document, or the kind and a note saying why it was skipped."""
    where = f"{file}: document {number}"
    if not isinstance(obj, Mapping):
        raise BadInputError(f"{where}: expected a Sloth spec; supported: {SUPPORTED}")
    api, kind = obj.get("apiVersion"), obj.get("kind")
    if obj.get("version") == PROMETHEUS_V1:
        doc = Document(file, number, PROMETHEUS_V1, str(obj.get("service")), obj)
        return SlothSpec(doc, obj, "")
    if api == K8S_API and kind == K8S_KIND:
        metadata = obj.get("metadata") or {}
        name = str(metadata.get("name")) if isinstance(metadata, Mapping) else "None"
        body = obj.get("spec")
        doc = Document(file, number, K8S_KIND, name, obj)
        if not isinstance(body, Mapping):
            raise doc.fail("spec", "expected a mapping")
        return SlothSpec(doc, body, "spec.")
    if api == K8S_API:
        return str(kind), f"{where} ({kind}): skipped: it holds no SLO; supported: {SUPPORTED}"
    if str(api).startswith("openslo/"):
        raise BadInputError(f"{where}: apiVersion: {api!r} is OpenSLO: use `import openslo`")
    found = f"version {obj['version']!r}" if "version" in obj else f"apiVersion {api!r}"
    raise BadInputError(f"{where}: {found} is not supported; supported: {SUPPORTED}")


def read_files(files: list[Path]) -> SlothFiles:
    found = SlothFiles()
    for file in files:
        for number, obj in enumerate(read_objects(file), start=1):
            spec = sloth_spec(str(file), number, obj)
            if isinstance(spec, tuple):
                found.skipped_kinds.append(spec[0])
                found.notes.append(spec[1])
            else:
                found.specs.append(spec)
    if not found.specs:
        kinds = ", ".join(dict.fromkeys(found.skipped_kinds))
        raise BadInputError(
            f"{', '.join(map(str, files))}: no Sloth service level to import (found {kinds}); "
            f"supported: {SUPPORTED}"
        )
    return found


def _counter(doc: Document, query: Any, field: str) -> Counter:
    if not isinstance(query, str) or not query.strip():
        raise doc.fail(field, "a PromQL query is required")
    try:
        return counter_of(parse_shape(query), counter=None)
    except ValueError as exc:
        raise doc.fail(field, str(exc)) from None


def events_sli(doc: Document, events: Mapping[str, Any], field: str) -> dict[str, Any]:
    check_keys(doc, events, ("error_query", "total_query"), field)
    total = _counter(doc, get(events, "total_query"), f"{field}.total_query")
    error_field = f"{field}.error_query"
    query = get(events, "error_query")
    if not isinstance(query, str) or not query.strip():
        raise doc.fail(error_field, "a PromQL query is required")
    try:
        bad = parse_shape(query)
        if isinstance(bad, Ratio):
            raise ValueError("the error query counts events; a ratio is raw.error_ratio_query")
        if isinstance(bad, Counter):
            bad = counter_of(bad, counter=None)
        return from_bad_total(bad, total)
    except ValueError as exc:
        raise doc.fail(error_field, str(exc)) from None


def sli_of(doc: Document, sli: Any, field: str) -> dict[str, Any]:
    check_keys(doc, sli, SLI_KEYS, field)
    if len(sli) > 1:
        raise doc.fail(field, f"{', '.join(sli)} together; supported: one of events, raw")
    if isinstance(sli.get("events"), Mapping):
        return events_sli(doc, sli["events"], f"{field}.events")
    raw = sli.get("raw")
    if isinstance(raw, Mapping):
        check_keys(doc, raw, ("error_ratio_query",), f"{field}.raw")
        query = get(raw, "error_ratio_query")
        try:
            return from_error_ratio(parse_shape(str(query or "")))
        except ValueError as exc:
            raise doc.fail(f"{field}.raw.error_ratio_query", str(exc)) from None
    if "plugin" in sli:
        raise doc.fail(
            f"{field}.plugin",
            "SLI plugins are Sloth's own code and cannot be mapped; supported: events, raw",
        )
    raise doc.fail(field, "supported: events (error_query and total_query) or raw")


def route_of(doc: Document, route: Any, field: str) -> dict[str, Any]:
    if route is None:
        return {}
    check_keys(doc, route, ROUTE_KEYS, field)
    return {
        "disable": route.get("disable") is True,
        "labels": text_map(doc, route.get("labels"), f"{field}.labels"),
        "annotations": text_map(doc, route.get("annotations"), f"{field}.annotations"),
    }


def alerting_of(doc: Document, alerting: Any, field: str) -> dict[str, Any]:
    if alerting is None:
        return {}
    check_keys(doc, alerting, ALERTING_KEYS, field)
    result: dict[str, Any] = {
        "labels": text_map(doc, alerting.get("labels"), f"{field}.labels"),
        "annotations": text_map(doc, alerting.get("annotations"), f"{field}.annotations"),
        "page": route_of(doc, get(alerting, "page_alert"), f"{field}.page_alert"),
        "ticket": route_of(doc, get(alerting, "ticket_alert"), f"{field}.ticket_alert"),
    }
    if "name" in alerting:
        result["name"] = alerting["name"]
    return result


def slo_entry(spec: SlothSpec, slo: Any, index: int) -> tuple[dict[str, Any], list[str]]:
    doc, field = spec.doc, f"{spec.prefix}slos[{index}]"
    check_keys(doc, slo, SLO_KEYS, field)
    name = slo.get("name")
    if not isinstance(name, str) or not name:
        raise doc.fail(f"{field}.name", "every SLO needs a name")
    objective = slo.get("objective")
    if not isinstance(objective, int | float) or isinstance(objective, bool):
        raise doc.fail(f"{field}.objective", "a percentage such as 99.9 is required")
    if not 0 < objective < 100:
        raise doc.fail(
            f"{field}.objective",
            f"{objective} is not inside (0, 100); supported: a percentage that leaves an "
            "error budget, such as 99.9",
        )
    entry = {
        "name": name,
        "objective": round(objective / 100, 12),
        "period": DEFAULT_PERIOD,
        "sli": sli_of(doc, slo.get("sli"), f"{field}.sli"),
        "labels": text_map(doc, slo.get("labels"), f"{field}.labels"),
        "alerting": alerting_of(doc, slo.get("alerting"), f"{field}.alerting"),
    }
    notes = [
        f"SLO {name}: plugin {plugin.get('id')} skipped: Sloth plugins are Sloth's code"
        for plugin in _plugins(slo.get("plugins"))
    ]
    return entry, notes


def _plugins(plugins: Any) -> list[Mapping[str, Any]]:
    chain = plugins.get("chain") if isinstance(plugins, Mapping) else None
    return [p for p in chain if isinstance(p, Mapping)] if isinstance(chain, list) else []


def service_for(
    name: str, specs: list[SlothSpec], people: People, deployment: Deployment
) -> tuple[Service, list[str]]:
    first = specs[0]
    labels = text_map(first.doc, first.spec.get("labels"), f"{first.prefix}labels")
    entries: list[dict[str, Any]] = []
    notes = [f"no SLO period in Sloth specs: {DEFAULT_PERIOD} rolling, Sloth's default"]
    for spec in specs:
        check_keys(spec.doc, spec.spec, SPEC_KEYS, spec.prefix.rstrip("."))
        if text_map(spec.doc, spec.spec.get("labels"), "labels") != labels:
            raise spec.doc.fail(
                f"{spec.prefix}labels",
                f"differ from those of service {name} "
                f"in {first.doc.where}; supported: one set of labels per service",
            )
        notes.extend(
            f"plugin {p.get('id')} skipped: Sloth plugins are Sloth's code"
            for p in _plugins(get(spec.spec, "slo_plugins"))
        )
        slos = spec.spec.get("slos")
        if not isinstance(slos, list) or not slos:
            raise spec.doc.fail(f"{spec.prefix}slos", "at least one SLO is required")
        for index, slo in enumerate(slos):
            entry, slo_notes = slo_entry(spec, slo, index)
            entries.append(entry)
            notes.extend(slo_notes)
    # Who owns and approves once the SLOs map: a file nobody can import says why first.
    owner, approvers, people_notes = people_from([(f"{first.prefix}labels", "", labels)], people)
    check_people(name, owner, approvers, first.doc, f"{first.prefix}labels")
    metadata = {"owner": owner, "approvers": list(approvers), "labels": labels}
    service = build_service(name, metadata, entries, deployment, first.doc)
    return service, [f"{name}: {note}" for note in [*people_notes, *notes]]


def import_sloth(
    files: list[Path], out: Path, deployment: Deployment, people: People | None = None
) -> Imported:
    """`safedeploy import sloth`: write `out/<service>.yaml` for every service, or nothing."""
    found = read_files(files)
    by_service: dict[str, list[SlothSpec]] = {}
    for spec in found.specs:
        name = spec.spec.get("service")
        if not isinstance(name, str) or not name:
            raise spec.doc.fail(f"{spec.prefix}service", "every Sloth spec names its service")
        by_service.setdefault(name, []).append(spec)
    services, notes = [], list(found.notes)
    for name, specs in by_service.items():
        service, service_notes = service_for(name, specs, people or People(), deployment)
        services.append(service)
        notes.extend(service_notes)
    names = ", ".join(f.name for f in files)
    header = f"Imported from Sloth ({names}) by `safedeploy import sloth`."
    return Imported(written=write_services(services, out, header), notes=list(dict.fromkeys(notes)))
