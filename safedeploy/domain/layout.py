"""Where everything lives in a state directory: the one place that names its parts.

Every path the store, the state repository, the use cases and the renderers use is built
here, relative to the state directory's root and with `/` separators, so a folder renamed
once is renamed everywhere and no reader can drift from the writer.
"""

from __future__ import annotations

from typing import Final

CONFIG: Final = "safedeploy.toml"
SERVICES: Final = "services"
POLICIES: Final = "policies"
INCIDENTS: Final = "incidents"
PROPOSALS: Final = "action-proposals"
EVIDENCE: Final = "evidence"
AUDIT: Final = "audit"
CONTROL: Final = "control-plane/state"
SERVICE_CONTROL: Final = f"{CONTROL}/services"
SUMMARY: Final = f"{CONTROL}/summary.json"
LAST_RUN: Final = f"{CONTROL}/last-reconcile.json"
BACKFILLED: Final = f"{CONTROL}/backfilled.json"
LOCK: Final = f"{CONTROL}/.lock"
# `reconcile --shard I/N` writes its summary and last-run record under
# `shards/<I>-of-<N>/`, so no two shards write one file (domain/shards.py).
SHARDS: Final = f"{CONTROL}/shards"

# What `safedeploy init` creates.
STATE_DIRS: Final = (SERVICES, INCIDENTS, PROPOSALS, EVIDENCE, AUDIT, CONTROL)
# What a state directory is recognised by: at least one of these. Not all of them, since
# Git keeps no empty folder and a fresh clone of a young state repository lacks some.
MARKERS: Final = (CONFIG, *STATE_DIRS)
# The folders safedeploy writes; the state repository commits only these.
MANAGED: Final = (INCIDENTS, PROPOSALS, EVIDENCE, AUDIT, CONTROL)
# Never committed, never a decision.
NEVER: Final = (LOCK,)
# The environment repositories' clones, unless environment.cache names another folder.
DEFAULT_CACHE: Final = ".safedeploy-cache"
# What `safedeploy init` writes into `.gitignore`, and what the lock adds to
# `.git/info/exclude`: the clone cache, the lock, and a write's temporary file.
GITIGNORE: Final = ".gitignore"
IGNORED: Final = (f"/{DEFAULT_CACHE}/", f"/{LOCK}", ".*.tmp")

# Evidence folder documents, in the order a reviewer reads them.
DECISION_DOC: Final = "decision.json"
SLO_DOC: Final = "slo.json"
BUDGET_DOC: Final = "budget.json"
PROPOSAL_DOC: Final = "proposal.json"
APPROVAL_DOC: Final = "approval.json"
RESOLUTION_DOC: Final = "resolution.json"
README_DOC: Final = "README.md"
RECONCILE_DOCS: Final = (DECISION_DOC, SLO_DOC, BUDGET_DOC, PROPOSAL_DOC)
# The charts beside them, `chart-<what>.svg`, which README.md shows inline.
CHARTS: Final = "chart-*.svg"
CANARY_CHART: Final = "chart-canary.svg"


def burn_chart(slo: str) -> str:
    """Every window pair of one SLO against its burn-rate threshold."""
    return f"chart-{slo}-burn-rates.svg"


def budget_chart(slo: str) -> str:
    return f"chart-{slo}-budget.svg"


def incident_file(incident_id: str) -> str:
    return f"{INCIDENTS}/{incident_id}.json"


def proposal_file(proposal_id: str) -> str:
    return f"{PROPOSALS}/{proposal_id}.json"


def control_file(service: str) -> str:
    """`control-plane/state/services/<name>.json`: freeze end, normal streak, severity."""
    return f"{SERVICE_CONTROL}/{service}.json"


def audit_file(stream: str) -> str:
    return f"{AUDIT}/{stream}.log"


def service_files(name: str) -> tuple[str, str]:
    """Where a service's definition may be: `.yaml` first, then `.yml`."""
    return f"{SERVICES}/{name}.yaml", f"{SERVICES}/{name}.yml"


def incident_evidence(incident_id: str) -> str:
    return f"{EVIDENCE}/incident-{incident_id}"


def release_evidence(release: str) -> str:
    """A canary promotion has no incident; its evidence is about the release."""
    return f"{EVIDENCE}/release-{release}"


def shard_summary(label: str) -> str:
    return f"{SHARDS}/{label}/summary.json"


def shard_last_run(label: str) -> str:
    return f"{SHARDS}/{label}/last-reconcile.json"


# Rewritten at every evaluation: they ride along with a decision commit but never make one.
TELEMETRY: Final = frozenset(
    {audit_file("metrics"), audit_file("budget"), SUMMARY, LAST_RUN, BACKFILLED}
)


def is_telemetry(relative: str) -> bool:
    """One of TELEMETRY, or a shard's summary or last-run record."""
    if relative in TELEMETRY:
        return True
    label = relative.removeprefix(f"{SHARDS}/").partition("/")[0]
    return relative.startswith(f"{SHARDS}/") and relative in (
        shard_summary(label),
        shard_last_run(label),
    )
