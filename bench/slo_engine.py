"""SLO evaluation of 1,000 services x 2 SLOs against a real Prometheus, and slo-generator 2.6
on the same server for a few of them.

Run: `python bench/slo_engine.py [--services N] [--days D] [--step S]`. Generates a synthetic
history, backfills it into Prometheus 2.42 (testing.prometheus), then prints the HTTP
requests of one evaluation for 10, 100 and N services, the wall time of the N-service
evaluation and its peak memory. slo-generator's Prometheus backend always queries at the
wall-clock time, so the history ends a little after now and both tools are asked at the
same instant. slo-generator is installed in its own virtualenv under the temp directory
(it needs setuptools<81: it still imports pkg_resources); if that fails the reason is
printed and the rest still runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.prometheus import PrometheusSource
from safedeploy.domain.catalog import Service
from safedeploy.domain.slo import ServiceStatus
from safedeploy.usecases.slo_status import evaluate_services

if TYPE_CHECKING:
    from testing.prometheus import RunningPrometheus

# testing/ (the Prometheus fixture and the history generator) sits beside safedeploy/.
REPO_ROOT = Path(__file__).resolve().parent.parent
DAY = 86_400

TARGET_SECONDS = 3.0
SLO_GENERATOR = "slo-generator[prometheus]==2.6.*"
BENCH_VENV = Path(tempfile.gettempdir()) / "safedeploy-bench-venv"
# slo-generator's error budget policy: the long windows of the workbook table.
STEPS = (("1h", 3_600, 14.4), ("6h", 21_600, 6.0), ("1d", DAY, 3.0), ("3d", 3 * DAY, 1.0))
COMPARED = 6
REPEATS = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/slo_engine.py")
    parser.add_argument("--services", type=int, default=1_000)
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--step", type=int, default=120, help="seconds between samples")
    options = parser.parse_args(argv)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from testing.prometheus import ensure_installed

    ensure_installed()
    with tempfile.TemporaryDirectory(prefix="safedeploy-bench-") as workdir:
        with_prometheus(Path(workdir), options.services, options.days, options.step)
    return 0


def with_prometheus(workdir: Path, count: int, days: float, step: int) -> None:
    from testing.history import synthetic_scenarios, write_history
    from testing.prometheus import backfill, serve

    scenarios = synthetic_scenarios(count)
    # A few minutes past now: samples after the query instant are simply not read.
    end = (int(time.time()) // step + 5) * step
    started = time.perf_counter()
    history = write_history(
        workdir / "history.om", scenarios, end=end, duration=int(days * DAY), step=step
    )
    generated = time.perf_counter() - started
    backfilled = backfill(history.path, workdir / "data")
    history.path.unlink()
    print(
        f"history: {count} services, {history.series} series, {history.samples:,} samples over "
        f"{days:g} days every {step}s; generated in {generated:.1f}s, backfilled in "
        f"{backfilled:.1f}s"
    )
    services = catalog(workdir / "state", [s.service for s in scenarios])
    with serve(workdir / "data", history) as running:
        at = datetime.fromtimestamp(time.time(), UTC)
        ours = measure(running, services, at)
        compare_with_slo_generator(running, services, ours, at)


def catalog(state: Path, names: list[str]) -> list[Service]:
    from testing.builders import write_service

    for name in names:
        write_service(state / "services", name)
    started = time.perf_counter()
    services = list(load_catalog([state / "services"]).services)
    print(f"catalog: {len(services)} service files loaded in {time.perf_counter() - started:.2f}s")
    return services


def measure(
    running: RunningPrometheus, services: list[Service], at: datetime
) -> dict[str, ServiceStatus]:
    for size in (n for n in (10, 100) if n < len(services)):
        source = PrometheusSource(running.url, timeout=30)
        started = time.perf_counter()
        evaluate_services(services[:size], source, at)
        print(
            f"safedeploy: {size:>5} services x 2 SLOs: {source.requests_made} HTTP requests, "
            f"{time.perf_counter() - started:.2f}s"
        )
    walls = []
    for _ in range(REPEATS):
        source = PrometheusSource(running.url, timeout=30)
        started = time.perf_counter()
        statuses = evaluate_services(services, source, at)
        walls.append(time.perf_counter() - started)
    best, median = min(walls), statistics.median(walls)
    verdict = "within" if median <= TARGET_SECONDS else "OVER"
    print(
        f"safedeploy: {len(services):>5} services x 2 SLOs: {source.requests_made} HTTP requests, "
        f"{median:.2f}s wall (median of {REPEATS}, best {best:.2f}s; {verdict} the "
        f"{TARGET_SECONDS:g}s target)"
    )
    # A second, traced pass: tracemalloc slows allocation-heavy code, so it is not timed.
    tracemalloc.start()
    evaluate_services(services, PrometheusSource(running.url, timeout=30), at)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"safedeploy: peak Python allocations {peak / 2**20:.1f} MiB; process max RSS {rss:.0f} MiB"
    )
    severities: dict[str, int] = {}
    for status in statuses:
        severities[status.severity] = severities.get(status.severity, 0) + 1
    print(f"safedeploy: severities {dict(sorted(severities.items()))}")
    return {status.service: status for status in statuses}


def compare_with_slo_generator(
    running: RunningPrometheus,
    services: list[Service],
    ours: dict[str, ServiceStatus],
    at: datetime,
) -> None:
    python = slo_generator_python()
    if python is None:
        return
    chosen = pick(services, ours)
    runner = Path(tempfile.gettempdir()) / "safedeploy-bench-slo-generator.py"
    runner.write_text(RUNNER, encoding="utf-8")
    payload = json.dumps({"url": running.url, "services": chosen, "steps": STEPS})
    started = time.perf_counter()
    done = subprocess.run(
        [str(python), str(runner)],
        input=payload,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PROMETHEUS_URL": running.url},
    )
    if done.returncode != 0:
        print(f"slo-generator: failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return
    answer = json.loads(done.stdout)
    total = time.perf_counter() - started
    print(
        f"\nslo-generator 2.6: {len(chosen)} services x 2 SLOs x {len(STEPS)} windows: "
        f"{answer['requests']} HTTP requests, {answer['seconds']:.2f}s of compute() "
        f"({total:.2f}s with interpreter start); it cannot batch services, so 1,000 services "
        f"would make about {answer['requests'] * 1_000 // len(chosen):,} requests and take "
        f"about {answer['seconds'] * 1_000 / len(chosen):.0f}s"
    )
    print(
        f"{'service':<11} {'slo':<12} {'window':>6} {'ours sli':>10} {'theirs sli':>10} "
        f"{'ours burn':>9} {'theirs':>7} {'ours sev':>10} {'their alert':>11}"
    )
    for row in answer["rows"]:
        status = next(s for s in ours[row["service"]].slos if s.slo == row["slo"])
        window = status.windows[row["window"]]
        ours_sli = "-" if window.sli is None else f"{window.sli:.6f}"
        ours_burn = "-" if window.burn_rate is None else f"{window.burn_rate:.1f}"
        theirs_sli = "-" if row["sli"] is None else f"{row['sli']:.6f}"
        print(
            f"{row['service']:<11} {row['slo']:<12} {row['window']:>6} {ours_sli:>10} "
            f"{theirs_sli:>10} {ours_burn:>9} {row['burn_rate']!s:>7} {status.severity:>10} "
            f"{row['alert']!s:>11}"
        )
    print(f"(both asked at {at.isoformat(timespec='seconds')}, slo-generator at its own clock)")


def pick(services: list[Service], ours: dict[str, ServiceStatus]) -> list[str]:
    """One service of each severity we found, then healthy ones up to COMPARED."""
    chosen: list[str] = []
    for severity in ("fast-burn", "slow-burn", "exhausted", "unknown"):
        chosen += [s.name for s in services if ours[s.name].severity == severity][:1]
    healthy = [s.name for s in services if ours[s.name].severity == "normal"]
    return chosen + healthy[: max(COMPARED - len(chosen), 0)]


def slo_generator_python() -> Path | None:
    python = BENCH_VENV / "bin" / "python"
    if python.exists():
        return python
    steps = (
        [sys.executable, "-m", "venv", str(BENCH_VENV)],
        [str(python), "-m", "pip", "install", "-q", "setuptools<81", SLO_GENERATOR],
    )
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"slo-generator: cannot install ({' '.join(command)}): {done.stderr[-500:]}")
            return None
    return python


RUNNER = textwrap.dedent(
    '''
    """Runs slo-generator's compute() for each service and prints what it reports."""
    import json
    import logging
    import sys
    import time

    import requests
    from slo_generator.compute import compute

    logging.disable(logging.CRITICAL)
    job = json.load(sys.stdin)
    sent = 0
    original = requests.get


    def counted(*args, **kwargs):
        global sent
        sent += 1
        return original(*args, **kwargs)


    requests.get = counted
    steps = [
        {"name": name, "window": seconds, "burn_rate_threshold": factor, "alert": True,
         "message_alert": "page", "message_ok": "ok"}
        for name, seconds, factor in job["steps"]
    ]
    config = {
        "backends": {"prometheus": {"url": job["url"]}},
        "error_budget_policies": {"default": {"steps": steps}},
    }


    def slo(service, name, goal, method, indicator):
        return {
            "apiVersion": "sre.google.com/v2",
            "kind": "ServiceLevelObjective",
            "metadata": {"name": f"{service}-{name}", "labels": {"service": service}},
            "spec": {
                "description": name, "backend": "prometheus", "method": method,
                "goal": goal, "service_level_indicator": indicator, "exporters": [],
            },
        }


    rows = []
    started = time.perf_counter()
    for service in job["services"]:
        configs = {
            "availability": slo(service, "availability", 0.999, "good_bad_ratio", {
                "filter_good": f'http_requests_total{{service="{service}",code!~"5.."}}',
                "filter_valid": f'http_requests_total{{service="{service}"}}',
            }),
            "latency": slo(service, "latency", 0.99, "distribution_cut", {
                "expression": f'http_request_duration_seconds_bucket{{service="{service}"}}',
                "threshold_bucket": "0.3",
            }),
        }
        for name, slo_config in configs.items():
            for report in compute(slo_config, config):
                rows.append({
                    "service": service, "slo": name,
                    "window": report.get("error_budget_policy_step_name"),
                    "sli": report.get("sli_measurement"),
                    "burn_rate": report.get("error_budget_burn_rate"),
                    "alert": report.get("alert"),
                })
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": rows, "requests": sent, "seconds": seconds}))
    '''
)


if __name__ == "__main__":
    sys.exit(main())
