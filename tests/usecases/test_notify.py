"""Notifying reconcile's news: one message, failures recorded and never raised."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from safedeploy.adapters.settings import NotifySettings, Settings
from safedeploy.adapters.store import StateStore
from safedeploy.domain.control import ServiceControl
from safedeploy.domain.decisions import Decision, IncidentChange
from safedeploy.domain.incidents import open_incident
from safedeploy.domain.policy import PolicyVerdict
from safedeploy.domain.proposals import PauseChange, VersionChange, new_proposal
from safedeploy.usecases.notify import NotifyOutcome, notify_reconcile
from testing.webhook import Webhook, unreachable_url

AT = datetime(2026, 11, 1, tzinfo=UTC)


def decision(service: str, change: IncidentChange | None, *, rollback: bool = False) -> Decision:
    incident = open_incident(
        service, "fast-burn", ("availability",), AT, actor="reconcile", reason="burning"
    )
    new = []
    if rollback:
        target = VersionChange(
            path=f"apps/{service}/rollout.yaml",
            kind="rollout",
            from_version="1.5.0",
            to_version="1.4.2",
        )
        new.append(
            new_proposal(
                "rollback-rollout",
                service,
                incident.id,
                target,
                rule="fast-burn 1h/5m over 14.4 (availability)",
                reason="r",
                at=AT,
            )
        )
    new.append(
        new_proposal(
            "block-promotion", service, incident.id, PauseChange(), rule="r", reason="r", at=AT
        )
    )
    return Decision(
        service=service,
        at=AT,
        severity="fast-burn",
        reason="availability: 1h/5m burn rate 99.95/99.76 over 14.4",
        incident=incident,
        incident_change=change,
        proposals=tuple(new),
        new_proposals=tuple(new),
        verdict=PolicyVerdict(service=service, at=AT, decision="RED", reason="x", rules=()),
        control=ServiceControl(service=service),
        notes=(),
    )


def settings(url: str | None) -> Settings:
    return Settings(notify=NotifySettings(webhook_url=url))


def notify(
    state: Path, decisions: list[Decision], url: str | None, *, dry_run: bool = False
) -> NotifyOutcome:
    return notify_reconcile(StateStore(state), decisions, AT, settings(url), dry_run=dry_run)


def governance(state: Path) -> list[dict[str, Any]]:
    path = state / "audit" / "governance.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_opened_escalated_and_rollback_are_posted_in_one_message(
    tmp_path: Path, webhook: Webhook
) -> None:
    done = [
        decision("checkout", "opened", rollback=True),
        decision("search", "escalated"),
        decision("payments", "updated"),
        decision("inventory", None),
    ]

    outcome = notify(tmp_path, done, webhook.url)

    assert outcome.sent
    assert webhook.bodies == [
        {
            "text": "\n".join(
                [
                    ":rotating_light: checkout: incident checkout-20261101t000000z opened "
                    "(fast-burn): availability: 1h/5m burn rate 99.95/99.76 over 14.4",
                    ":leftwards_arrow_with_hook: checkout: rollback proposed 1.5.0 -> 1.4.2 "
                    "(fast-burn 1h/5m over 14.4 (availability)). Review `safedeploy explain "
                    "checkout-20261101t000000z-rollback-rollout`, then `safedeploy approve "
                    "checkout-20261101t000000z-rollback-rollout --by <you>`",
                    ":rotating_light: search: incident search-20261101t000000z escalated "
                    "(fast-burn): availability: 1h/5m burn rate 99.95/99.76 over 14.4",
                ]
            )
        }
    ]
    assert governance(tmp_path) == []


@pytest.mark.parametrize("failing", ["500", "unreachable"])
def test_a_failing_webhook_is_logged_and_recorded_never_raised(
    tmp_path: Path, webhook: Webhook, failing: str
) -> None:
    webhook.statuses = [500, 500]
    url = webhook.url if failing == "500" else unreachable_url()

    outcome = notify(tmp_path, [decision("checkout", "opened")], url)

    assert not outcome.sent and outcome.error is not None
    # One line for the command to print on stderr.
    [warning] = outcome.warnings
    assert warning.startswith("notification not sent: webhook http://127.0.0.1:")
    assert "\n" not in warning and "s3cr3t" not in warning
    [line] = governance(tmp_path)
    assert line["event"] == "notify-failed"
    assert line["at"] == "2026-11-01T00:00:00Z"
    assert line["data"] == {"error": outcome.error, "services": ["checkout"]}
    assert "s3cr3t" not in json.dumps(line)


def test_nothing_is_sent_without_news_a_url_or_on_a_dry_run(
    tmp_path: Path, webhook: Webhook
) -> None:
    quiet = [decision("checkout", "updated"), decision("search", "resolved")]
    assert not notify(tmp_path, quiet, webhook.url).sent
    news = [decision("checkout", "opened")]
    assert not notify(tmp_path, news, None).sent
    assert not notify(tmp_path, news, webhook.url, dry_run=True).sent
    assert webhook.bodies == []
