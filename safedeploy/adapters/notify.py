"""Chat notifications: a Slack-compatible incoming webhook (`{"text": ...}` over HTTPS).

Mattermost, Rocket.Chat, Google Chat and Slack itself accept this body. One retry covers
a dropped connection or a 5xx; a 4xx means the URL or payload is wrong, and repeating it
would not help.
"""

from __future__ import annotations

from typing import Final

from safedeploy.domain.urls import redact, split_credentials
from safedeploy.errors import SafedeployError

DEFAULT_TIMEOUT: Final = 5.0
ATTEMPTS: Final = 2


class NotifyError(SafedeployError):
    """The webhook could not be reached or refused the message."""


class WebhookNotifier:
    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout

    @property
    def where(self) -> str:
        """The URL without its path and user-info: both are secrets of incoming webhooks."""
        from urllib.parse import urlsplit

        parts = urlsplit(split_credentials(self.url)[0])
        return f"{parts.scheme}://{parts.netloc}"

    def send(self, text: str) -> None:
        import httpx

        problem = ""
        with httpx.Client(timeout=self.timeout) as client:
            for _ in range(ATTEMPTS):
                try:
                    response = client.post(self.url, json={"text": text})
                except httpx.HTTPError as exc:
                    # httpx's message may repeat the URL, user-info and all.
                    detail = f": {redact(str(exc))}" if str(exc) else ""
                    problem = f"{type(exc).__name__}{detail}"
                    continue
                if response.is_success:
                    return
                problem = f"HTTP {response.status_code}"
                if response.status_code < 500:
                    break
        raise NotifyError(f"webhook {self.where}: {problem}")
