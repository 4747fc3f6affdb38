"""OpenSLO (`openslo/v1` and `openslo/v1alpha`) into `services/<name>.yaml`.

What maps: SLOs on an `Occurrences` budget over one rolling window (none given: 30 days,
said in the output), one catalog SLO per objective, whose indicator is a Prometheus ratio
of counters (good or bad over total, a histogram bucket over its count, or a raw error
ratio) or a threshold on a histogram's buckets. Service documents give owners through
their labels; SLI documents are followed from `indicatorRef`, DataSource documents from
`metricSourceRef` (one of type Prometheus makes a metric source Prometheus). Documents of
other kinds (alert policies, conditions, notification targets) are skipped with a note.
What OpenSLO has no word for (who approves, where the service is deployed, how it rolls
back) comes from the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from safedeploy.domain.catalog import Service
from safedeploy.errors import BadInputError
from safedeploy.generators import openslo_specs
from safedeploy.generators.imports import (
    Deployment,
    Document,
    Imported,
    Labels,
    People,
    build_service,
    check_people,
    people_from,
    read_objects,
    write_services,
)
from safedeploy.generators.openslo_specs import OpenSLOFiles

V1 = "openslo/v1"
V1ALPHA = "openslo/v1alpha"
VERSIONS = (V1, V1ALPHA)


def document_of(file: str, number: int, obj: Any) -> Document:
    """One OpenSLO object, checked for the fields every kind has."""
    where = f"{file}: document {number}"
    if not isinstance(obj, Mapping):
        raise BadInputError(f"{where}: expected an OpenSLO object (apiVersion, kind, metadata)")
    kind, metadata = obj.get("kind"), obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if isinstance(kind, str) and isinstance(name, str):
        where = f"{where} ({kind} {name})"
    version = obj.get("apiVersion")
    if version not in VERSIONS:
        hint = " (a Sloth spec: use `safedeploy import sloth`)" if "version" in obj else ""
        raise BadInputError(
            f"{where}: apiVersion: {version!r} is not supported; "
            f"supported: {' and '.join(VERSIONS)}{hint}"
        )
    if not isinstance(kind, str) or not kind:
        raise BadInputError(f"{where}: kind: missing; every OpenSLO object has a kind")
    if not isinstance(name, str) or not name:
        raise BadInputError(f"{where} ({kind}): metadata.name: every {kind} needs a name")
    return Document(file, number, kind, name, obj)


def read_files(files: list[Path]) -> OpenSLOFiles:
    found = OpenSLOFiles(files=[str(f) for f in files])
    for file in files:
        for number, obj in enumerate(read_objects(file), start=1):
            found.add(document_of(str(file), number, obj))
    return found


def spec(doc: Document) -> Mapping[str, Any]:
    body = doc.body.get("spec")
    if not isinstance(body, Mapping):
        raise doc.fail("spec", "expected a mapping")
    return body


def labels_of(doc: Document) -> list[Labels]:
    metadata = doc.body.get("metadata") or {}
    return [
        (f"metadata.{section}", f" of {doc.kind} {doc.name}", metadata.get(section) or {})
        for section in ("labels", "annotations")
        if isinstance(metadata.get(section) or {}, Mapping)
    ]


def service_for(
    name: str, slos: list[Document], found: OpenSLOFiles, people: People, deployment: Deployment
) -> tuple[Service, list[str]]:
    entries: list[dict[str, Any]] = []
    slo_notes: list[str] = []
    for slo in slos:
        mapped, notes = openslo_specs.slo_entries(slo, spec(slo), found)
        entries.extend(mapped)
        slo_notes.extend(notes)
    # Who owns and approves once the SLOs map: a file nobody can import says why first.
    service_doc = found.services.get(name)
    sources = [*(labels_of(service_doc) if service_doc else [])]
    for slo in slos:
        sources.extend(labels_of(slo))
    owner, approvers, notes = people_from(sources, people)
    origin = service_doc or slos[0]
    check_people(name, owner, approvers, origin, "metadata.labels")
    metadata = {"owner": owner, "approvers": list(approvers)}
    service = build_service(name, metadata, entries, deployment, origin)
    return service, [f"{name}: {note}" for note in [*notes, *slo_notes]]


def services_from(
    found: OpenSLOFiles, people: People, deployment: Deployment
) -> tuple[list[Service], list[str]]:
    """Every service named by an SLO, validated; the first problem raises BadInputError."""
    if not found.slos:
        present = [*found.services.values(), *found.slis.values(), *found.data_sources.values()]
        what = ", ".join(f"{d.kind} {d.name}" for d in [*present, *found.skipped])
        raise BadInputError(
            f"{', '.join(found.files)}: no SLO document to import (found {what}); "
            "an import needs at least one SLO"
        )
    by_service: dict[str, list[Document]] = {}
    for slo in found.slos:
        name = spec(slo).get("service")
        if not isinstance(name, str) or not name:
            raise slo.fail("spec.service", "every SLO must name its service")
        by_service.setdefault(name, []).append(slo)
    services, notes = [], found.notes()
    for name, slos in by_service.items():
        service, service_notes = service_for(name, slos, found, people, deployment)
        services.append(service)
        notes.extend(service_notes)
    return services, notes


def import_openslo(
    files: list[Path], out: Path, deployment: Deployment, people: People | None = None
) -> Imported:
    """`safedeploy import openslo`: write `out/<service>.yaml` for every service, or nothing."""
    found = read_files(files)
    services, notes = services_from(found, people or People(), deployment)
    names = ", ".join(f.name for f in files)
    header = f"Imported from OpenSLO ({names}) by `safedeploy import openslo`."
    return Imported(written=write_services(services, out, header), notes=list(dict.fromkeys(notes)))
