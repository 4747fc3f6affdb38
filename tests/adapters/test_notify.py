"""Webhook notifications against a real local HTTP server; failures never break reconcile."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from safedeploy.adapters.notify import NotifyError, WebhookNotifier
from safedeploy.adapters.settings import NotifySettings, Settings
from safedeploy.domain.control import ServiceControl
from safedeploy.domain.decisions import Decision, IncidentChange
from safedeploy.domain.incidents import open_incident
from safedeploy.domain.policy import PolicyVerdict
from safedeploy.domain.proposals import PauseChange, VersionChange, new_proposal
from safedeploy.usecases.notify import notify_reconcile
from safedeploy.usecases.reconcile import ReconcileResult

AT = datetime(2026, 11, 1, tzinfo=UTC)
SECRET_PATH = "/services/T000/B000/s3cr3t"


@dataclass
class Webhook:
    url: str
    statuses: list[int] = field(default_factory=list)  # answers, in order; then 200
    delay: float = 0.0
    bodies: list[Any] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out leaves a broken pipe behind; that is the point


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hook.bodies.append(json.loads(raw))
            hook.content_types.append(self.headers.get("Content-Type", ""))
            time.sleep(hook.delay)
            status = hook.statuses.pop(0) if hook.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = QuietServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


def unreachable_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}{SECRET_PATH}"


# --- adapter -----------------------------------------------------------------------------


def test_posts_slack_compatible_json(webhook: Webhook) -> None:
    WebhookNotifier(webhook.url).send("hello *team*")
    assert webhook.bodies == [{"text": "hello *team*"}]
    assert webhook.content_types == ["application/json"]


def test_one_retry_after_a_server_error(webhook: Webhook) -> None:
    webhook.statuses = [503]
    WebhookNotifier(webhook.url).send("again")
    assert webhook.bodies == [{"text": "again"}, {"text": "again"}]


def test_two_server_errors_fail_without_naming_the_secret_path(webhook: Webhook) -> None:
    webhook.statuses = [500, 500, 500]
    with pytest.raises(NotifyError) as caught:
        WebhookNotifier(webhook.url).send("x")
    assert len(webhook.bodies) == 2
    assert "HTTP 500" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_a_client_error_is_not_repeated(webhook: Webhook) -> None:
    webhook.statuses = [404]
    with pytest.raises(NotifyError, match="HTTP 404"):
        WebhookNotifier(webhook.url).send("x")
    assert len(webhook.bodies) == 1


def test_a_slow_webhook_times_out(webhook: Webhook) -> None:
    webhook.delay = 0.5
    started = time.monotonic()
    with pytest.raises(NotifyError, match="Timeout"):
        WebhookNotifier(webhook.url, timeout=0.1).send("x")
    assert time.monotonic() - started < 2


def test_unreachable_webhook_fails() -> None:
    with pytest.raises(NotifyError, match="ConnectError"):
        WebhookNotifier(unreachable_url(), timeout=1).send("x")


# --- after reconcile ---------------------------------------------------------------------


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


def result(*decisions: Decision, dry_run: bool = False) -> ReconcileResult:
    return ReconcileResult(at=AT, dry_run=dry_run, decisions=list(decisions))


def governance(state: Path) -> list[dict[str, Any]]:
    path = state / "audit" / "governance.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_opened_escalated_and_rollback_are_posted_in_one_message(
    tmp_path: Path, webhook: Webhook
) -> None:
    done = result(
        decision("checkout", "opened", rollback=True),
        decision("search", "escalated"),
        decision("payments", "updated"),
        decision("inventory", None),
    )

    outcome = notify_reconcile(tmp_path, done, settings(webhook.url))

    assert outcome.sent
    assert webhook.bodies == [
        {
            "text": "\n".join(
                [
                    ":rotating_light: checkout: incident checkout-20261101t0000z opened "
                    "(fast-burn): availability: 1h/5m burn rate 99.95/99.76 over 14.4",
                    ":leftwards_arrow_with_hook: checkout: rollback proposed 1.5.0 -> 1.4.2 "
                    "(fast-burn 1h/5m over 14.4 (availability)). Review `safedeploy explain "
                    "checkout-20261101t0000z-rollback-rollout`, then `safedeploy approve "
                    "checkout-20261101t0000z-rollback-rollout --by <you>`",
                    ":rotating_light: search: incident search-20261101t0000z escalated "
                    "(fast-burn): availability: 1h/5m burn rate 99.95/99.76 over 14.4",
                ]
            )
        }
    ]
    assert governance(tmp_path) == []


@pytest.mark.parametrize("failing", ["500", "unreachable"])
def test_a_failing_webhook_is_logged_and_recorded_never_raised(
    tmp_path: Path, webhook: Webhook, failing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    webhook.statuses = [500, 500]
    url = webhook.url if failing == "500" else unreachable_url()

    outcome = notify_reconcile(tmp_path, result(decision("checkout", "opened")), settings(url))

    assert not outcome.sent and outcome.error is not None
    err = capsys.readouterr().err
    assert err.startswith("notification not sent: webhook http://127.0.0.1:")
    assert err.count("\n") == 1
    [line] = governance(tmp_path)
    assert line["event"] == "notify-failed"
    assert line["at"] == "2026-11-01T00:00:00Z"
    assert line["data"] == {"error": outcome.error, "services": ["checkout"]}
    assert "s3cr3t" not in json.dumps(line)


def test_nothing_is_sent_without_news_a_url_or_on_a_dry_run(
    tmp_path: Path, webhook: Webhook
) -> None:
    quiet = result(decision("checkout", "updated"), decision("search", "resolved"))
    assert not notify_reconcile(tmp_path, quiet, settings(webhook.url)).sent
    news = decision("checkout", "opened")
    assert not notify_reconcile(tmp_path, result(news), settings(None)).sent
    assert not notify_reconcile(tmp_path, result(news, dry_run=True), settings(webhook.url)).sent
    assert webhook.bodies == []
