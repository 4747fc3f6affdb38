"""A real VictoriaMetrics for tests: the same generated history as testing/prometheus.py,
imported over HTTP and queried through the Prometheus query API it shares.

Loaded as a pytest plugin by tests/conftest.py; the `victoria` fixture is session-scoped
(importing twelve days of history takes a few seconds) and every test only reads. It
answers with the same `RunningPrometheus` record as the `prometheus` fixture, so a test can
run against either.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from testing.history import (
    DEFAULT_DURATION,
    DEFAULT_SCENARIOS,
    T_END,
    History,
    Scenario,
    write_history,
)
from testing.prometheus import (
    PrometheusUnavailableError,
    RunningPrometheus,
    free_port,
    running,
)

VICTORIA = Path("/usr/bin/victoria-metrics")
IMPORT_CHUNK = 1 << 20


class VictoriaUnavailableError(PrometheusUnavailableError):
    """VictoriaMetrics is missing, would not start, or refused the history."""


@contextmanager
def serve(data_dir: Path) -> Iterator[str]:
    """Run VictoriaMetrics over `data_dir` on 127.0.0.1 until the block exits; its URL."""
    if not VICTORIA.exists():
        raise VictoriaUnavailableError(f"{VICTORIA} is missing (Debian package victoria-metrics)")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir.parent / "victoria-metrics.log"
    argv = [
        str(VICTORIA),
        f"-storageDataPath={data_dir}",
        f"-httpListenAddr=127.0.0.1:{port}",
        # The history is from 2026: keep it whatever the machine's clock says.
        "-retentionPeriod=100y",
        # Answer at exactly the instant asked, from data imported a moment ago.
        "-search.latencyOffset=0s",
        "-search.disableCache",
        "-loggerLevel=ERROR",
    ]
    url = f"http://127.0.0.1:{port}"
    with running(argv, log_path, url, probe="/health"):
        yield url


def import_history(url: str, history: History) -> float:
    """POST the OpenMetrics history to /api/v1/import/prometheus; returns seconds taken.

    The Prometheus text format takes milliseconds where OpenMetrics has seconds, and has
    no `# EOF`: each sample line gets its timestamp times 1000, comments are left out.
    """
    started = time.perf_counter()
    request = urllib.request.Request(
        f"{url}/api/v1/import/prometheus",
        data=_prometheus_text(history.path),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()
        # Imported rows become searchable after a flush (every second by default).
        with urllib.request.urlopen(f"{url}/internal/force_flush", timeout=30) as response:
            response.read()
    except urllib.error.URLError as exc:
        raise VictoriaUnavailableError(f"import into {url} failed: {exc}") from exc
    return time.perf_counter() - started


def _prometheus_text(path: Path) -> Iterator[bytes]:
    chunk: list[bytes] = []
    size = 0
    with path.open("rb") as source:
        for line in source:
            if line.startswith(b"#"):
                continue
            sample, _, seconds = line.rstrip(b"\n").rpartition(b" ")
            out = b"%s %d\n" % (sample, int(seconds) * 1000)
            chunk.append(out)
            size += len(out)
            if size >= IMPORT_CHUNK:
                yield b"".join(chunk)
                chunk, size = [], 0
    if chunk:
        yield b"".join(chunk)


@contextmanager
def victoria_with_history(
    workdir: Path,
    scenarios: Sequence[Scenario] = DEFAULT_SCENARIOS,
    *,
    duration: int = DEFAULT_DURATION,
) -> Iterator[RunningPrometheus]:
    """Generate history into `workdir`, serve it from a fresh VictoriaMetrics."""
    started = time.perf_counter()
    history = write_history(workdir / "history.om", scenarios, duration=duration)
    generated = time.perf_counter() - started
    with serve(workdir / "data") as url:
        imported = import_history(url, history)
        timings = {"generate": generated, "import": imported}
        yield RunningPrometheus(url, T_END, history, workdir / "data", timings, "victoriametrics")


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    """A real VictoriaMetrics holding the default 12-day history, ready to query at T_END."""
    with victoria_with_history(tmp_path_factory.mktemp("victoria")) as running:
        yield running
