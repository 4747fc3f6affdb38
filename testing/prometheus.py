"""A real Prometheus 2.42 for tests: backfilled from generated history, queried over HTTP.

Loaded as a pytest plugin by tests/conftest.py; the `prometheus` fixture is session-scoped
because backfilling and starting cost a few seconds, and every test only reads.
`python -m testing.prometheus --serve` runs the same thing by hand until interrupted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType

import pytest

from testing.history import (
    DEFAULT_DURATION,
    DEFAULT_SCENARIOS,
    T_END,
    History,
    Intended,
    Scenario,
    synthetic_scenarios,
    write_history,
)

PROMETHEUS = Path("/usr/bin/prometheus")
PROMTOOL = Path("/usr/bin/promtool")
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# Blocks of 72h instead of the default 2h make a 12-day backfill about 15 times faster.
MAX_BLOCK_DURATION = "72h"
_CONFIG = "global:\n  evaluation_interval: 1m\nscrape_configs: []\n"


class PrometheusUnavailableError(RuntimeError):
    """Prometheus (or VictoriaMetrics) could not be installed, filled or started; says
    which and why."""


@dataclass(frozen=True)
class RunningPrometheus:
    """A ready server and the history it holds."""

    url: str
    at: datetime
    history: History
    data_dir: Path
    timings: dict[str, float] = field(default_factory=dict)
    # Which server answers: "prometheus", or "victoriametrics" (testing/victoria.py).
    engine: str = "prometheus"

    @property
    def at_seconds(self) -> int:
        """`at` as Unix seconds, the form `/api/v1/query?time=` takes."""
        return int(self.at.timestamp())

    @property
    def intended(self) -> dict[str, dict[str, Intended]]:
        """Exact per-window counts at `at`, per service."""
        return self.history.intended


def served_requests(url: str) -> int:
    """The API requests the server has answered, by its own `prometheus_http_requests_total`
    on `/metrics` (read directly: the server scrapes nothing, so reading is not counted)."""
    import httpx

    total = 0.0
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("prometheus_http_requests_total{") and 'handler="/api/' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def ensure_installed() -> None:
    """Install Debian's prometheus package when its binaries are missing."""
    if PROMETHEUS.exists() and PROMTOOL.exists():
        return
    if shutil.which("apt-get") is None:
        raise PrometheusUnavailableError(f"{PROMETHEUS} is missing and apt-get is unavailable")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "prometheus"]):
        done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
        if done.returncode != 0:
            raise PrometheusUnavailableError(
                f"{' '.join(command)} failed ({done.returncode}): {tail(done.stderr)}"
            )
    if not PROMETHEUS.exists():
        raise PrometheusUnavailableError(f"installed the prometheus package, yet no {PROMETHEUS}")


def backfill(openmetrics_file: Path, data_dir: Path) -> float:
    """Turn an OpenMetrics file into TSDB blocks under `data_dir`; returns seconds taken."""
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(PROMTOOL),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            f"--max-block-duration={MAX_BLOCK_DURATION}",
            str(openmetrics_file),
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise PrometheusUnavailableError(
            f"promtool backfill of {openmetrics_file} failed: {tail(done.stderr or done.stdout)}"
        )
    return time.perf_counter() - started


@contextmanager
def serve(data_dir: Path, history: History) -> Iterator[RunningPrometheus]:
    """Run Prometheus over `data_dir` until the block exits, then stop it."""
    config = data_dir.parent / "prometheus.yml"
    config.write_text(_CONFIG, encoding="utf-8")
    log_path = data_dir.parent / "prometheus.log"
    started = time.perf_counter()
    port = free_port()
    argv = [
        str(PROMETHEUS),
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=100y",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    with running(argv, log_path, url):
        timings = {"start": time.perf_counter() - started}
        yield RunningPrometheus(url, T_END, history, data_dir, timings)


@contextmanager
def running(
    argv: list[str], log_path: Path, url: str, *, probe: str = "/-/ready"
) -> Iterator[None]:
    """A server process logging to `log_path`, ready at `url` + `probe`, until the block exits."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(url, process, log_path, probe=probe)
            yield
        finally:
            stop(process)


@contextmanager
def prometheus_with_history(
    workdir: Path,
    scenarios: Sequence[Scenario] = DEFAULT_SCENARIOS,
    *,
    duration: int = DEFAULT_DURATION,
) -> Iterator[RunningPrometheus]:
    """Generate history into `workdir`, backfill it and serve it."""
    ensure_installed()
    started = time.perf_counter()
    history = write_history(workdir / "history.om", scenarios, duration=duration)
    generated = time.perf_counter() - started
    backfilled = backfill(history.path, workdir / "data")
    with serve(workdir / "data", history) as running:
        running.timings.update(generate=generated, backfill=backfilled)
        yield running


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    """A real Prometheus holding the default 12-day history, ready to query at T_END."""
    with prometheus_with_history(tmp_path_factory.mktemp("prometheus")) as running:
        yield running


def wait_ready(
    url: str, process: subprocess.Popen[bytes], log_path: Path, *, probe: str = "/-/ready"
) -> None:
    """Until `url` + `probe` answers 200; the server's log tail if it exits first."""
    name = Path(str(process.args[0])).name
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PrometheusUnavailableError(
                f"{name} exited with {process.returncode}: "
                f"{tail(log_path.read_text(errors='replace'))}"
            )
        try:
            with urllib.request.urlopen(f"{url}{probe}", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise PrometheusUnavailableError(f"{name} at {url} not ready after {READY_TIMEOUT:g}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"


def main(argv: Sequence[str] | None = None) -> int:
    """Serve generated history until interrupted, printing the URL first."""
    parser = argparse.ArgumentParser(prog="python -m testing.prometheus")
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--services", type=int, default=0, help="synthetic services instead")
    parser.add_argument("--hours", type=float, default=DEFAULT_DURATION / 3600)
    options = parser.parse_args(argv)
    # Stop cleanly on SIGTERM too, so the server and its temp data never outlive us.
    signal.signal(signal.SIGTERM, _interrupt)
    scenarios = synthetic_scenarios(options.services) if options.services else DEFAULT_SCENARIOS
    with (
        tempfile.TemporaryDirectory(prefix="safedeploy-prometheus-") as workdir,
        prometheus_with_history(
            Path(workdir), scenarios, duration=int(options.hours * 3600)
        ) as running,
    ):
        timings = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in running.timings.items())
        print(f"{running.url} (query at time={running.at_seconds}; {timings})", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
