"""A real headless Chromium (Debian's `chromium`) driven over the DevTools protocol.

`visit(url)` opens a page in a fresh tab, waits for it to load, and returns what a person
and the console would see: a PNG screenshot, the rendered text, the DOM, every console
message and uncaught exception, and every request the page made. Loaded as a pytest
plugin by tests/conftest.py; the `browser` fixture is session-scoped (Chromium takes a
second or two to start) and each visit gets its own tab.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)
LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
START_TIMEOUT = 30.0
LOAD_TIMEOUT = 30.0


class BrowserUnavailableError(RuntimeError):
    """Chromium is missing, or did not start; says which and why."""


@dataclass
class Visit:
    """What loading one page showed."""

    url: str
    screenshot: bytes  # PNG
    text: str  # document.body.innerText (an SVG's text content)
    dom: str  # document.documentElement.outerHTML
    console: list[dict[str, Any]] = field(default_factory=list)  # every console call
    exceptions: list[str] = field(default_factory=list)  # uncaught, with their text
    log_errors: list[str] = field(default_factory=list)  # browser log entries at "error"
    requests: list[str] = field(default_factory=list)  # every URL the page asked for

    @property
    def errors(self) -> list[str]:
        """Console errors and warnings, exceptions and error log entries: all should be none."""
        found = [
            f"console.{c['type']}: {' '.join(_argument(a) for a in c['args'])}"
            for c in self.console
            if c["type"] in ("error", "assert", "warning")
        ]
        return [*found, *self.exceptions, *self.log_errors]


def _argument(value: dict[str, Any]) -> str:
    return str(value.get("value", value.get("description", "")))


class Browser:
    """One Chromium process and a DevTools client on its browser endpoint."""

    def __init__(self, endpoint: str) -> None:
        import websocket

        # Chromium refuses DevTools clients that send an Origin it was not told to allow.
        self._socket = websocket.create_connection(
            endpoint, timeout=LOAD_TIMEOUT, suppress_origin=True
        )
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def close(self) -> None:
        self._socket.close()

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer, keeping the events that arrive meanwhile."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        while True:
            reply = json.loads(self._socket.recv())
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserUnavailableError(f"{method} failed: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = LOAD_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not any(
            e.get("method") == method and e.get("sessionId") == session for e in self._events
        ):
            if time.monotonic() > deadline:
                raise BrowserUnavailableError(f"no {method} within {timeout:g}s")
            self._events.append(json.loads(self._socket.recv()))

    def visit(self, url: str, *, width: int = 1280, height: int = 1600) -> Visit:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable", session)
            self.call(
                "Emulation.setDeviceMetricsOverride",
                session,
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            self._events.clear()
            self.call("Page.navigate", session, url=url)
            self.wait_for("Page.loadEventFired", session)
            # An SVG document has no body: its text then.
            text = self._evaluate(
                session,
                "document.body ? document.body.innerText : document.documentElement.textContent",
            )
            dom = self._evaluate(session, "document.documentElement.outerHTML")
            shot = self.call("Page.captureScreenshot", session, format="png")["data"]
            return self._visit(url, session, base64.b64decode(shot), text, dom)
        finally:
            self.call("Target.closeTarget", targetId=target)

    def _evaluate(self, session: str, expression: str) -> str:
        result = self.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
        return str(result["result"]["value"])

    def _visit(self, url: str, session: str, shot: bytes, text: str, dom: str) -> Visit:
        visit = Visit(url=url, screenshot=shot, text=text, dom=dom)
        for event in (e for e in self._events if e.get("sessionId") == session):
            params = event.get("params", {})
            method = event.get("method")
            if method == "Runtime.consoleAPICalled":
                visit.console.append(params)
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                visit.exceptions.append(
                    str(details.get("exception", details).get("description", details.get("text")))
                )
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                visit.log_errors.append(f"{params['entry']['source']}: {params['entry']['text']}")
            elif method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
        return visit


@contextmanager
def launch() -> Iterator[Browser]:
    """Start Chromium with a throwaway profile, connect, and stop it when the block exits."""
    if not CHROMIUM.exists():
        raise BrowserUnavailableError(f"{CHROMIUM} is missing (apt-get install chromium)")
    profile = Path(tempfile.mkdtemp(prefix="safedeploy-chromium-"))
    process = subprocess.Popen(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # Its own process group: the renderers go with it when it is stopped.
        start_new_session=True,
    )
    try:
        browser = Browser(_endpoint(process))
        try:
            yield browser
        finally:
            browser.close()
    finally:
        _stop(process)
        shutil.rmtree(profile, ignore_errors=True)


def _endpoint(process: subprocess.Popen[str]) -> str:
    """The DevTools URL Chromium prints on stderr; the rest of stderr is drained unread."""
    found: list[str] = []
    ready = threading.Event()
    seen: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            match = LISTENING.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
            elif not found:
                seen.append(line.strip())
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(START_TIMEOUT) or not found:
        raise BrowserUnavailableError(
            f"chromium printed no DevTools endpoint: {' | '.join(seen[-5:]) or 'no output'}"
        )
    return found[0]


def _stop(process: subprocess.Popen[str]) -> None:
    """Chromium, then whatever of its own process group outlived it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with launch() as running:
        yield running
