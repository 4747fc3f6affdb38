"""`safedeploy report --format html`: the report, plus what a page shows beside it.

The same report as every other format (the summary reconcile leaves, proposals and
incidents re-read), plus each open incident's timeline and each service's evidence
folders with the files in them, so the page can link the README and the charts. Still no
metrics source and no history: a handful of files per service.
"""

from __future__ import annotations

from dataclasses import dataclass

from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.incidents import Transition, is_safe_id
from safedeploy.errors import BadInputError
from safedeploy.usecases.context import Context
from safedeploy.usecases.report import Report, ReportService, report


@dataclass(frozen=True)
class EvidenceFolder:
    folder: str  # relative to the state directory, without a trailing slash
    files: tuple[str, ...]  # README.md first, then the charts; only files that exist


@dataclass(frozen=True)
class ServicePage:
    service: ReportService
    timeline: tuple[Transition, ...]
    evidence: tuple[EvidenceFolder, ...]


@dataclass(frozen=True)
class ReportPage:
    report: Report
    services: tuple[ServicePage, ...]


def report_page(ctx: Context) -> ReportPage:
    found = report(ctx)
    store = ctx.store
    return ReportPage(report=found, services=tuple(_service_page(store, s) for s in found.services))


def _service_page(store: StateStore, service: ReportService) -> ServicePage:
    timeline: tuple[Transition, ...] = ()
    folders: list[str] = []
    if service.incident is not None and is_safe_id(service.incident):
        try:
            incident = store.get_incident(service.incident)
        except BadInputError:  # unreadable: the page shows the summary's word for it
            incident = None
        timeline = incident.transitions if incident is not None else ()
        folders.append(layout.incident_evidence(service.incident))
    for detail in service.proposal_details:
        try:
            proposal = store.get_proposal(detail.id) if is_safe_id(detail.id) else None
        except BadInputError:
            proposal = None
        if proposal is not None and proposal.evidence_dir not in folders:
            folders.append(proposal.evidence_dir)
    evidence = tuple(_evidence(store, f) for f in folders)
    return ServicePage(
        service=service, timeline=timeline, evidence=tuple(e for e in evidence if e.files)
    )


def _evidence(store: StateStore, relative: str) -> EvidenceFolder:
    try:
        directory = store.resolve(relative)
    except BadInputError:
        return EvidenceFolder(relative, ())
    if not directory.is_dir():
        return EvidenceFolder(relative, ())
    charts = sorted(p.name for p in directory.glob(layout.CHARTS) if p.is_file())
    readme = (layout.README_DOC,) if (directory / layout.README_DOC).is_file() else ()
    return EvidenceFolder(relative, (*readme, *charts))
