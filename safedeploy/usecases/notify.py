"""Tell people when reconcile opens or escalates an incident or proposes a rollback.

A notification is a courtesy, not part of the decision: a webhook that is down or
refuses is reported on stderr and recorded in the governance audit stream, and reconcile
carries on with the exit code it would have had anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from safedeploy.adapters.settings import Settings
from safedeploy.adapters.store import StateStore
from safedeploy.domain.decisions import Decision
from safedeploy.domain.proposals import VersionChange
from safedeploy.errors import SafedeployError

Sender = Callable[[str], None]


@dataclass(frozen=True)
class NotifyOutcome:
    sent: bool
    lines: tuple[str, ...]
    error: str | None = None
    # One line each, for stderr: what went wrong with the notification.
    warnings: tuple[str, ...] = ()


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
        if incident is not None and decision.incident_change == "mitigation-failed":
            text = (
                f":rotating_light: {decision.service}: incident {incident.id} escalated: "
                f"{incident.transitions[-1].reason}"
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
    store: StateStore,
    decisions: list[Decision],
    at: datetime,
    settings: Settings,
    *,
    dry_run: bool = False,
    send: Sender | None = None,
    also: list[tuple[str, str]] | None = None,
) -> NotifyOutcome:
    """Post what changed; never raises for a webhook problem. Call outside the store lock.

    A failure is recorded in the governance audit stream and returned as a warning for
    the command to print; it never changes the run's exit code.
    """
    # `also`: (service, line) of other changes worth a page (a rollback merged or closed, a
    # service file found broken).
    events = [*(also or []), *messages(decisions)]
    lines = tuple(text for _, text in events)
    url = settings.notify.webhook_url
    if dry_run or not lines or (url is None and send is None):
        return NotifyOutcome(sent=False, lines=lines)
    if send is None:
        from safedeploy.adapters.notify import WebhookNotifier

        assert url is not None
        send = WebhookNotifier(url).send
    try:
        send("\n".join(lines))
    except SafedeployError as exc:
        warnings = [f"notification not sent: {exc}"]
        services = sorted({service for service, _ in events})
        data = {"error": str(exc), "services": services}
        try:
            with store.lock():
                store.append_audit("governance", "notify-failed", data, at)
        except (SafedeployError, OSError) as failure:
            warnings.append(f"notification failure not recorded in audit/governance.log: {failure}")
        return NotifyOutcome(sent=False, lines=lines, error=str(exc), warnings=tuple(warnings))
    return NotifyOutcome(sent=True, lines=lines)
