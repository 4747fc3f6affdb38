"""The webhook notifier against a real local HTTP server: retries, timeouts, secrets."""

from __future__ import annotations

import time

import pytest

from safedeploy.adapters.notify import NotifyError, WebhookNotifier
from testing.webhook import Webhook, unreachable_url


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
