"""A proxy in front of the real Prometheus that forwards every request and rewrites answers.

A real Prometheus never answers `sum by (service)` with two series for one service, with an
extra label, for a service nobody asked about, or stamped 35 minutes before the asked
instant; proxies, caches and federation layers in front of one can. The proxy forwards the
request unchanged and hands the decoded answer to `rewrite` (when set) together with the
request, so a test lies about exactly the queries it chooses; `trickle` sends every answer
a byte at a time. Loaded as a pytest plugin (`lying_proxy` depends on `prometheus`).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from copy import deepcopy
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from testing.prometheus import RunningPrometheus

Answer = dict[str, Any]


@dataclass(frozen=True)
class Asked:
    """One forwarded request: its path and its parameters (query string and form)."""

    path: str
    params: dict[str, list[str]]

    @property
    def promql(self) -> str:
        return self.params.get("query", [""])[0]


Rewrite = Callable[[Asked, Answer], Answer]


@dataclass
class LyingProxy:
    url: str
    upstream: str
    rewrite: Rewrite | None = None
    trickle: float = 0.0  # seconds between the bytes of every answer
    asked: list[Asked] = field(default_factory=list)


@contextmanager
def lying_proxy_to(upstream: str) -> Iterator[LyingProxy]:
    """A proxy to `upstream` on a free port of 127.0.0.1, stopped when the block ends."""
    stopping = threading.Event()
    proxy = LyingProxy("", upstream.rstrip("/"))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._forward(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self._forward(self.rfile.read(length))

        def _forward(self, body: bytes | None) -> None:
            parts = urlsplit(self.path)
            params = parse_qs(parts.query)
            for key, values in parse_qs((body or b"").decode()).items():
                params.setdefault(key, []).extend(values)
            asked = Asked(parts.path, params)
            proxy.asked.append(asked)
            status, content = _upstream(proxy.upstream + self.path, body, self.headers)
            if proxy.rewrite is not None and status == 200:
                content = json.dumps(proxy.rewrite(asked, json.loads(content))).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            # A client giving up on a trickled answer is the point, not an error.
            with suppress(BrokenPipeError, ConnectionResetError):
                self._send(content)

        def _send(self, content: bytes) -> None:
            if not proxy.trickle:
                self.wfile.write(content)
                return
            for byte in content:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if stopping.wait(proxy.trickle):
                    return

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def _upstream(url: str, body: bytes | None, headers: Any) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        request.add_header("Content-Type", headers.get("Content-Type", "text/plain"))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def lying_proxy(prometheus: RunningPrometheus) -> Iterator[LyingProxy]:
    """A proxy to the session's real Prometheus that tells the truth until told otherwise."""
    with lying_proxy_to(prometheus.url) as proxy:
        yield proxy


# Lies, each for the queries `when` picks (by default every query).


def _picked(when: Callable[[Asked], bool] | None) -> Callable[[Asked], bool]:
    return when or (lambda _asked: True)


def _result(answer: Answer) -> list[dict[str, Any]]:
    """The series of a query's answer; none for the label and series APIs' lists."""
    data = answer.get("data")
    result = data.get("result") if isinstance(data, dict) else None
    return result if isinstance(result, list) else []


def duplicated(when: Callable[[Asked], bool] | None = None) -> Rewrite:
    """Every series twice."""

    def rewrite(asked: Asked, answer: Answer) -> Answer:
        if _picked(when)(asked):
            answer["data"]["result"] = [c for s in _result(answer) for c in (s, deepcopy(s))]
        return answer

    return rewrite


def split_by(label: str, when: Callable[[Asked], bool] | None = None) -> Rewrite:
    """Every series as two halves told apart by an extra `label` (`a` and `b`)."""

    def rewrite(asked: Asked, answer: Answer) -> Answer:
        if not _picked(when)(asked):
            return answer
        halves = []
        for series in _result(answer):
            for part in ("a", "b"):
                half = deepcopy(series)
                half["metric"][label] = part
                stamp, value = half["value"]
                half["value"] = [stamp, repr(float(value) / 2)]
                halves.append(half)
        answer["data"]["result"] = halves
        return answer

    return rewrite


def relabelled(
    label: str, old: str, new: str, when: Callable[[Asked], bool] | None = None
) -> Rewrite:
    """`label="old"` series filed under `label="new"`."""

    def rewrite(asked: Asked, answer: Answer) -> Answer:
        if _picked(when)(asked):
            for series in _result(answer):
                if series["metric"].get(label) == old:
                    series["metric"][label] = new
        return answer

    return rewrite


def restamped(seconds: float, when: Callable[[Asked], bool] | None = None) -> Rewrite:
    """Every sample's stamp moved by `seconds` (negative: into the past)."""

    def rewrite(asked: Asked, answer: Answer) -> Answer:
        if _picked(when)(asked):
            for series in _result(answer):
                if "value" in series:
                    series["value"][0] += seconds
                for point in series.get("values", []):
                    point[0] += seconds
        return answer

    return rewrite


def revalued(value: Callable[[float], str], when: Callable[[Asked], bool] | None = None) -> Rewrite:
    """Every sample's value replaced by `value(old)` (a string, as the API spells numbers)."""

    def rewrite(asked: Asked, answer: Answer) -> Answer:
        if _picked(when)(asked):
            for series in _result(answer):
                if "value" in series:
                    series["value"][1] = value(float(series["value"][1]))
                for point in series.get("values", []):
                    point[1] = value(float(point[1]))
        return answer

    return rewrite


def emptied(when: Callable[[Asked], bool] | None = None) -> Rewrite:
    """No series at all: what the API answers for a selector that matches nothing."""

    def rewrite(asked: Asked, answer: Answer) -> Answer:
        if _picked(when)(asked):
            if isinstance(answer.get("data"), dict):
                answer["data"]["result"] = []
            else:
                answer["data"] = []
        return answer

    return rewrite


def retyped(result_type: str, when: Callable[[Asked], bool] | None = None) -> Rewrite:
    """The answer's `resultType` replaced (a vector answered as a matrix or a scalar)."""

    def rewrite(asked: Asked, answer: Answer) -> Answer:
        data = answer.get("data")
        if _picked(when)(asked) and isinstance(data, dict):
            data["resultType"] = result_type
        return answer

    return rewrite
