"""`safedeploy reconcile`: evaluate, decide, and write durable, reviewable state.

Idempotent by construction: every file is written only when its bytes change and audit
lines are appended only for changes (and once per evaluated instant for metrics and
budget), so cron can run this every minute and a rerun at the same instant changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from safedeploy.adapters.evidence_files import write_documents
from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.backfill import Backfilled, Mode, run_mode
from safedeploy.domain.canary import CanaryVerdict
from safedeploy.domain.catalog import BrokenService, Service, select
from safedeploy.domain.control import ServiceControl
from safedeploy.domain.decisions import Decision, decide, needs_versions, without_refused
from safedeploy.domain.evidence import documents, evidence_folders, json_text, resolution
from safedeploy.domain.instants import format_instant
from safedeploy.domain.proposals import release_id
from safedeploy.domain.severity import BURNING, ROLLBACK_ON
from safedeploy.domain.shards import WHOLE, Shard, shard_view
from safedeploy.domain.slo import ServiceStatus
from safedeploy.domain.state_commits import reconcile_message
from safedeploy.domain.state_index import StateIndex
from safedeploy.domain.summary import (
    ServiceSummary,
    Summary,
    broken_summary,
    merged,
    service_summary,
)
from safedeploy.errors import EXIT_BAD_INPUT, EXIT_CANNOT_DECIDE, EXIT_OK, BadInputError
from safedeploy.usecases.context import Context
from safedeploy.usecases.evidence_charts import evidence_charts
from safedeploy.usecases.mitigation import Recorded, record_landings, watch_approved
from safedeploy.usecases.records import record_incident, record_proposal, roll_forward

if TYPE_CHECKING:
    from safedeploy.usecases.notify import NotifyOutcome
    from safedeploy.usecases.state_history import StateCommit


@dataclass
class ReconcileResult:
    at: datetime
    mode: Mode = "live"
    # Why the run is not the live one that was asked for (an instant in the past).
    note: str | None = None
    decisions: list[Decision] = field(default_factory=list)
    created_incidents: list[str] = field(default_factory=list)
    created_proposals: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    state_commit: StateCommit | None = None
    notify: NotifyOutcome | None = None
    # What became of approved changes: merged, or closed unmerged (usecases/mitigation.py).
    landed: list[str] = field(default_factory=list)
    # (service, line) for each service file found broken since the last run.
    newly_broken: list[tuple[str, str]] = field(default_factory=list)
    # The services whose evaluation a backfill recorded (none already recorded).
    backfilled: list[str] = field(default_factory=list)

    @property
    def dry_run(self) -> bool:
        return self.mode == "dry-run"

    @property
    def exit_code(self) -> int:
        if self.errors:
            return EXIT_BAD_INPUT
        return EXIT_CANNOT_DECIDE if self.undecided else EXIT_OK

    def add(self, decision: Decision, status: ServiceStatus) -> None:
        self.decisions.append(decision)
        # Any SLO unknown for lack of data, whatever another SLO of the service burns.
        blind = [s for s in status.slos if s.severity == "unknown" and s.no_data]
        if blind:
            reasons = "; ".join(f"{s.slo}: {s.reason}" for s in blind)
            self.undecided.append(f"{decision.service}: {reasons}")
        if decision.undecided is not None:
            self.undecided.append(f"{decision.service}: {decision.undecided}")
        for refused in decision.refused:  # a change the environment repo's file refuses
            line = f"{decision.service}: {refused.kind} not proposed: {refused.reason}"
            (self.undecided if refused.undecided else self.errors).append(line)
        if decision.incident_change == "opened" and decision.incident is not None:
            self.created_incidents.append(decision.incident.id)
        self.created_proposals += [p.id for p in decision.new_proposals]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": format_instant(self.at),
            "dry_run": self.dry_run,
            "backfill": self.mode == "backfill",
            "note": self.note,
            "services": [
                {
                    "service": d.service,
                    "severity": d.severity,
                    "reason": d.reason,
                    "incident": d.incident.id if d.incident else None,
                    "incident_state": d.incident.state if d.incident else None,
                    "proposals": [p.id for p in d.proposals],
                    "freeze_until": _instant(d.control.freeze_until),
                    "decision": d.verdict.decision,
                    "notes": list(d.notes),
                }
                for d in self.decisions
            ],
            "created": {"incidents": self.created_incidents, "proposals": self.created_proposals},
            "landed": self.landed,
            "errors": self.errors,
            "undecided": self.undecided,
            "state_commit": self.state_commit.sha if self.state_commit else None,
        }


def _instant(value: datetime | None) -> str | None:
    return format_instant(value) if value is not None else None


def reconcile(
    ctx: Context,
    at: datetime,
    names: list[str],
    *,
    dry_run: bool = False,
    backfill: bool = False,
    progress: Callable[[str], None] | None = None,
    commit: bool = True,
    push: bool = False,
    shard: Shard = WHOLE,
) -> ReconcileResult:
    """One run at `at`. Before the last run's instant it is a dry run, or with `backfill`
    records only what that instant measured (`domain/backfill.py`). A `shard` decides
    only its own services and writes only their state (`domain/shards.py`)."""
    from safedeploy.usecases.canaries import judge_canaries
    from safedeploy.usecases.notify import notify_reconcile
    from safedeploy.usecases.slo_status import evaluate_services
    from safedeploy.usecases.state_history import check_anchored, record_run

    store = ctx.store
    if backfill and not shard.whole:
        # backfilled.json is one file for every service: shards would write it each.
        raise BadInputError("--backfill: run a backfill without --shard")
    last = shard_view(store.get_summary(), shard)
    mode, note = run_mode(last.at if last else None, at, dry_run=dry_run, backfill=backfill)
    services = [s for s in select(ctx.catalog, names, partial=True) if shard.owns(s.name)]
    broken = tuple(b for b in ctx.catalog.broken_among(names) if shard.owns(b.name))
    # Prometheus and the environment repo are read before the lock is taken: a slow source
    # or remote must not hold other runs.
    statuses = evaluate_services(services, ctx.source, at)
    canaries = judge_canaries(services, ctx.source, ctx.versions, at)
    _read_target_files(ctx, services, statuses)
    watch = watch_approved(ctx, services)
    result = ReconcileResult(at=at, mode=mode, note=note, undecided=list(watch.undecided))
    landed: list[Recorded] = []
    # A dry run only reads, and must not leave even the lock file behind.
    with nullcontext() if result.dry_run else store.lock():
        if not result.dry_run:
            check_anchored(ctx)
            roll_forward(store)
        if mode == "live":
            # Before the incidents are read: a merge mitigates what this run decides on.
            landed = record_landings(store, watch, at)
        result.landed = [f"{r.service}: {r.text}" for r in landed] + list(watch.notes)
        previous = shard_view(store.get_summary(), shard) or Summary()
        fresh = _unloaded(result, previous, broken, at)
        fresh += _decide_all(
            ctx,
            result,
            previous=previous,
            services=services,
            statuses=statuses,
            canaries=canaries,
            progress=progress,
            shard=shard,
        )
        if mode == "live":
            catalog = shard.among(ctx.catalog.names)
            store.write_summary(merged(previous, fresh, catalog, at), shard)
            last_run = layout.LAST_RUN if shard.whole else layout.shard_last_run(shard.label)
            store.write_text(last_run, _last_run(result))
            ctx.parsed.save()
        elif mode == "backfill":
            _record_backfill(store, result, statuses)
    if mode != "live":
        return result
    # Outside the lock: a failed webhook is recorded under the lock by notify itself.
    result.notify = notify_reconcile(
        store,
        result.decisions,
        at,
        ctx.settings,
        also=[*((r.service, r.notice) for r in landed), *result.newly_broken],
    )
    # Outside the lock as well: the charts read a range of history from the source.
    charts = evidence_charts(ctx.source, services, statuses, result.decisions, canaries)
    with store.lock():
        for relative, svg in sorted(charts.items()):
            store.write_text(relative, svg)
        result.state_commit = record_run(
            ctx, reconcile_message(at, result.decisions), commit=commit, push=push
        )
    return result


def _decide_all(
    ctx: Context,
    result: ReconcileResult,
    *,
    previous: Summary,
    services: list[Service],
    statuses: list[ServiceStatus],
    canaries: dict[str, CanaryVerdict],
    progress: Callable[[str], None] | None,
    shard: Shard,
) -> list[ServiceSummary]:
    """Decide every service whose state files load, and in a live run write what changed."""
    store = ctx.store
    incidents = store.load_incidents()
    proposals = store.load_proposals()
    # A service owning a state file that failed to load is skipped, not guessed at;
    # one line per broken file says why it is invalid and which service it holds back.
    broken: set[str] = set()
    selected = {s.name for s in services}
    for error in (*incidents.errors, *proposals.errors):
        owner = _owner(ctx.catalog.names, error.relative)
        if owner is not None and not shard.owns(owner):
            continue  # the shard that decides its service reports it
        owner = owner if owner in selected else None
        if owner is not None:
            broken.add(owner)
        result.errors.append(f"{owner}: not reconciled: {error}" if owner else str(error))
    evaluated = {s.service: s.at for s in previous.services}
    index = StateIndex.of(incidents.items, proposals.items)
    fresh: list[ServiceSummary] = []
    with store.audit_batch():
        for service, status in zip(services, statuses, strict=True):
            if progress is not None:
                progress(service.name)
            if service.name in broken:
                continue
            decision = _decide_one(
                ctx,
                service,
                status,
                index=index,
                canary=canaries.get(service.name),
            )
            result.add(decision, status)
            fresh.append(service_summary(service, decision, status))
            if result.mode == "live":
                at = evaluated.get(service.name)
                _apply(store, decision, status, evaluated=at == result.at)
    return fresh


def _record_backfill(
    store: StateStore, result: ReconcileResult, statuses: list[ServiceStatus]
) -> None:
    """What the past instant measured, in the metrics and budget streams, once per service
    and instant; the decisions themselves are only printed."""
    done = store.read_model(layout.BACKFILLED, Backfilled) or Backfilled()
    by_name = {s.service: s for s in statuses}
    with store.audit_batch():
        for decision in result.decisions:
            if done.has(decision.service, result.at):
                continue
            _audit_evaluation(store, decision, by_name[decision.service], backfill=True)
            done = done.adding(decision.service, result.at)
            result.backfilled.append(decision.service)
        store.write_model_if_changed(layout.BACKFILLED, done)


def _unloaded(
    result: ReconcileResult, previous: Summary, broken: tuple[BrokenService, ...], at: datetime
) -> list[ServiceSummary]:
    """Each broken service file: an error per violation (the run exits 2), its summary
    entry kept and marked stale, and a notice the first run that finds it broken."""
    before = {s.service: s for s in previous.services}
    entries: list[ServiceSummary] = []
    for service in broken:
        result.errors += [f"{service.name}: not reconciled: {v}" for v in service.violations]
        entry = broken_summary(before.get(service.name), service, at)
        old = before.get(service.name)
        if old is None or old.error != entry.error:
            result.newly_broken.append(
                (service.name, f":warning: {service.name}: not reconciled: {entry.error}")
            )
        entries.append(entry)
    return entries


def _read_target_files(
    ctx: Context, services: list[Service], statuses: list[ServiceStatus]
) -> None:
    """Read, before the lock, the target files any proposal of this run could need.

    Whether one is needed depends on the incident's proposals, known for sure only under
    the lock. A service that burns fast enough for a rollback has its versions read now
    unless its incident has its rollback proposal already (a target's history costs a few
    git processes, and a steady run would pay them for every burning service); its repo is
    fetched all the same, as is every other burning one's whose target takes a pause (a
    pause is checked against the file as it is), so no environment repository is fetched
    while the state lock is held, only read should the lock show another incident.
    """
    proposed = _rolled_back(ctx.store)
    for service, status in zip(services, statuses, strict=True):
        if status.severity in ROLLBACK_ON and service.name not in proposed:
            ctx.versions.versions(service)
        elif status.severity in ROLLBACK_ON or (
            status.severity in BURNING and service.spec.target.pausable
        ):
            ctx.versions.fetch(service)


def _rolled_back(store: StateStore) -> set[str]:
    """The services whose active incident has a rollback proposal, as the state is now."""
    index = StateIndex.of(store.load_incidents().items, store.load_proposals().items)
    return {
        name
        for name in index.incidents
        if any(
            p.kind == "rollback-rollout" for p in index.for_incident(index.active_incident(name))
        )
    }


def _decide_one(
    ctx: Context,
    service: Service,
    status: ServiceStatus,
    *,
    index: StateIndex,
    canary: CanaryVerdict | None,
) -> Decision:
    incident = index.active_incident(service.name)
    mine = index.for_incident(incident)
    release = release_id(service.name, canary.canary_version) if canary else None
    of_release = index.for_release(release)
    control = ctx.store.get_control(service.name) or ServiceControl(service=service.name)
    wanted = needs_versions(status, mine) or canary is not None
    found = ctx.versions.versions(service) if wanted else None
    decision = decide(
        service,
        status,
        incident=incident,
        proposals=mine,
        control=control,
        versions=found,
        at=status.at,
        extra_rules=ctx.policies.rules_for(service, status, control.freeze_until, status.at),
        canary=canary,
        release_proposals=of_release,
        record=index.record(service.name),
    )
    return without_refused(decision, ctx.versions.refusals(service, decision.new_proposals))


def _owner(names: frozenset[str], relative: str) -> str | None:
    """The service whose incident or proposal file this is: ids start with its name."""
    stem = relative.rsplit("/", 1)[-1].removesuffix(".json")
    owners = [name for name in names if stem.startswith(f"{name}-")]
    # "shop" and "shop-api" both prefix "shop-api-2026...": the longest name owns it.
    return max(owners, key=len, default=None)


def _apply(
    store: StateStore, decision: Decision, status: ServiceStatus, *, evaluated: bool
) -> None:
    """`evaluated`: this instant was already recorded for the service (a rerun)."""
    at = decision.at
    previous = store.get_control(decision.service)
    if not evaluated:
        _audit_evaluation(store, decision, status)
    incident = decision.incident
    if incident is not None and decision.incident_change is not None:
        record_incident(store, incident, decision.incident_change, at)
    for proposal in decision.new_proposals:
        record_proposal(store, proposal, "proposed", at)
    for evidence_dir in evidence_folders(decision):
        write_documents(store, evidence_dir, documents(decision, status))
    ended = resolution(incident) if incident is not None else None
    if incident is not None and ended is not None:
        evidence_dir = layout.incident_evidence(incident.id)
        write_documents(store, evidence_dir, {layout.RESOLUTION_DOC: ended})
    if previous != decision.control:
        # The audit line first, as for incidents: a run killed in between repeats the line
        # on the next run instead of leaving a freeze that no line explains.
        if previous is not None and previous.freeze_until != decision.control.freeze_until:
            store.append_audit(
                "governance",
                "freeze",
                {
                    "service": decision.service,
                    "freeze_until": _instant(decision.control.freeze_until),
                    "reason": decision.reason,
                },
                at,
            )
        store.write_control(decision.control)


def _audit_evaluation(
    store: StateStore, decision: Decision, status: ServiceStatus, *, backfill: bool = False
) -> None:
    # A backfilled line says so: it was written after lines of later instants.
    marked = {"backfill": True} if backfill else {}
    store.append_audit(
        "metrics",
        "evaluated",
        {
            **marked,
            "service": decision.service,
            "severity": decision.severity,
            "slos": [
                {
                    "slo": s.slo,
                    "severity": s.severity,
                    "burn_rates": {w: v.burn_rate for w, v in s.windows.items()},
                }
                for s in status.slos
            ],
        },
        decision.at,
    )
    store.append_audit(
        "budget",
        "budget",
        {
            **marked,
            "service": decision.service,
            "decision": decision.verdict.decision,
            "freeze_until": _instant(decision.control.freeze_until),
            "slos": [
                {"slo": s.slo, "consumed": s.budget.consumed, "remaining": s.budget.remaining}
                for s in status.slos
            ],
        },
        decision.at,
    )


def _last_run(result: ReconcileResult) -> str:
    summary = {
        "schema_version": 1,
        "at": format_instant(result.at),
        "services": {d.service: d.severity for d in result.decisions},
        "exit_code": result.exit_code,
    }
    return json_text(summary)
