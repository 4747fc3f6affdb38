"""The VictoriaMetrics fixture: it holds the generated history, and it is gone afterwards."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from testing.history import DEFAULT_SCENARIOS
from testing.victoria import victoria_with_history

pytestmark = pytest.mark.prometheus


def test_it_serves_the_history_and_stops_when_done(tmp_path: Path) -> None:
    [checkout] = [s for s in DEFAULT_SCENARIOS if s.service == "checkout"]
    with victoria_with_history(tmp_path, [checkout], duration=3 * 3600) as running:
        assert running.engine == "victoriametrics"
        body = httpx.get(
            f"{running.url}/api/v1/query",
            params={
                "query": 'sum(increase(http_requests_total{service="checkout"}[1h]))',
                "time": str(running.at_seconds),
            },
        ).json()
        [answer] = body["data"]["result"]
        # Imported whole: the window's exact count, as the generator meant it.
        assert float(answer["value"][1]) == running.intended["checkout"]["1h"].total
        address = urlsplit(running.url)
    assert address.hostname == "127.0.0.1" and address.port is not None
    with pytest.raises(OSError), socket.create_connection((address.hostname, address.port), 1):
        pass
