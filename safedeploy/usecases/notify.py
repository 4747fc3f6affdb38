"""Tell people when reconcile opens or escalates an incident or proposes a rollback.

A notification is a courtesy, not part of the decision: a webhook that is down or
refuses is reported on stderr and recorded in the governance audit stream, and reconcile
carries on with the exit code it would have had anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from safedeploy.adapters.settings import Settings
from safedeploy.domain.decisions import Decision
from safedeploy.domain.proposals import VersionChange
from safedeploy.errors import SafedeployError

if TYPE_CHECKING:
    from safedeploy.usecases.reconcile import ReconcileResult

Sender = Callable[[str], None]


@dataclass(frozen=True)
class NotifyOutcome:
    sent: bool
    lines: tuple[str, ...]
    error: str | None = None


def messages(decisions: list[Decision]) -> list[tuple[str, str]]:
    """(service, line) per event worth a page: incident opened or escalated, rollback proposed."""
    lines: list[tuple[str, str]] = []
    for decision in decisions:
        incident = decision.incident
        if incident is not None and decision.incident_change in ("opened", "escalated"):
            text = (
                f":rotating_light: {decision.service}: incident {incident.id} "
                f"{decision.incident_change} ({incident.severity}): {decision.reason}"
            )
            lines.append((decision.service, text))
        for proposal in decision.new_proposals:
            if proposal.kind != "rollback-rollout":
                continue
            change = proposal.change
            move = (
                f" {change.from_version} -> {change.to_version}"
                if isinstance(change, VersionChange)
                else ""
            )
            text = (
                f":leftwards_arrow_with_hook: {decision.service}: rollback proposed{move} "
                f"({proposal.rule}). Review `safedeploy explain {proposal.id}`, then "
                f"`safedeploy approve {proposal.id} --by <you>`"
            )
            lines.append((decision.service, text))
    return lines


def notify_reconcile(
    state: Path,
    result: ReconcileResult,
    settings: Settings,
    *,
    send: Sender | None = None,
    warn: Callable[[str], None] | None = None,
) -> NotifyOutcome:
    """Post what changed; never raises for a webhook problem. Call outside the store lock."""
    from safedeploy.adapters.terminal import print_error

    events = messages(result.decisions)
    lines = tuple(text for _, text in events)
    url = settings.notify.webhook_url
    if result.dry_run or not lines or (url is None and send is None):
        return NotifyOutcome(sent=False, lines=lines)
    if send is None:
        from safedeploy.adapters.notify import WebhookNotifier

        assert url is not None
        send = WebhookNotifier(url).send
    try:
        send("\n".join(lines))
    except SafedeployError as exc:
        (warn or print_error)(f"notification not sent: {exc}")
        services = sorted({service for service, _ in events})
        _record_failure(state, result, str(exc), services, warn or print_error)
        return NotifyOutcome(sent=False, lines=lines, error=str(exc))
    return NotifyOutcome(sent=True, lines=lines)


def _record_failure(
    state: Path,
    result: ReconcileResult,
    error: str,
    services: list[str],
    warn: Callable[[str], None],
) -> None:
    from safedeploy.adapters.store import StateStore

    store = StateStore(state)
    data = {"error": error, "services": services}
    try:
        with store.lock():
            store.append_audit("governance", "notify-failed", data, result.at)
    except (SafedeployError, OSError) as exc:
        warn(f"notification failure not recorded in audit/governance.log: {exc}")
