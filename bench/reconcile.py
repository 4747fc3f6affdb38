"""One `reconcile` over a large state directory: 1,000 services (2 SLOs each), 100 active
incidents, 1,000,000 audit lines, metrics from the embedded source.

Targets: one run in at most 5 s and 300 MB. Appends read only the tail of each audit
stream, so the history's size must not show in the time. Three runs, each at its own
instant so each does the full work: in-process (wall time), in-process under tracemalloc
(peak Python allocations), and the real `safedeploy` command (wall time and the child's
max RSS). Run: `python bench/reconcile.py [--services N] [--audit-lines N]`.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from safedeploy.adapters.audit import GENESIS, STREAMS, seal
from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.settings import load_settings
from safedeploy.adapters.sources import open_source
from safedeploy.adapters.store import StateStore
from safedeploy.domain.incidents import open_incident
from safedeploy.usecases.context import Context
from safedeploy.usecases.evidence_charts import ChartSubject, charted
from safedeploy.usecases.reconcile import ReconcileResult, reconcile
from safedeploy.usecases.slo_status import evaluate_services
from testing.builders import write_service
from testing.gitrepos import env_with_two_releases
from testing.history import T_END, synthetic_scenarios, write_history

HISTORY = 2 * 3_600
STEP = 60
TARGET_SECONDS = 5.0
TARGET_MB = 300.0


def build_audit(state: Path, lines: int) -> None:
    """A genuine hash chain, spread over the streams, written directly (no fsync per line)."""
    audit = state / "audit"
    audit.mkdir(parents=True, exist_ok=True)
    per_stream = lines // len(STREAMS)
    start = T_END - timedelta(days=60)
    for stream in STREAMS:
        prev = GENESIS
        with open(audit / f"{stream}.log", "wb", buffering=1 << 20) as f:
            for seq in range(1, per_stream + 1):
                data = {"service": f"svc-{seq % 1000:05d}", "severity": "normal", "n": seq}
                line, prev = seal(
                    seq=seq,
                    at=start + timedelta(seconds=seq),
                    stream=stream,
                    event="evaluated",
                    data=data,
                    prev=prev,
                )
                f.write(line)


def build_state(root: Path, services: int, incidents: int, audit_lines: int) -> Path:
    state = root / "state"
    scenarios = synthetic_scenarios(services)
    for scenario in scenarios:
        write_service(state / "services", scenario.service)
    history = write_history(root / "metrics.om", scenarios, duration=HISTORY, step=STEP)
    env = env_with_two_releases(root, [s.service for s in scenarios])
    (state / "safedeploy.toml").write_text(
        f'[prometheus]\nmetrics_file = "{history.path}"\n\n[environment]\nrepo = "{env}"\n'
    )
    store = StateStore(state)
    opened_at = T_END - timedelta(hours=1)
    with store.lock():
        for scenario in scenarios[:incidents]:
            incident = open_incident(
                scenario.service,
                "slow-burn",
                ("availability",),
                opened_at,
                actor="bench",
                reason="seeded for the benchmark",
            )
            store.write_incident(incident)
    build_audit(state, audit_lines)
    return state


def timed(label: str, action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"{label:<44} {elapsed:8.2f} s")
    return elapsed


def in_process(state: Path, at: datetime) -> Callable[[], ReconcileResult]:
    def run() -> ReconcileResult:
        result = reconcile(Context(state), at, [])
        if result.errors:
            raise SystemExit(f"reconcile reported errors: {result.errors[:3]}")
        return result

    return run


# A forked child starts with its parent's resident pages, so the child's max RSS is taken by
# a small launcher process rather than by this one, which holds the whole fixture.
LAUNCHER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(done.stdout)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"maxrss {peak} {done.returncode}")
"""


def command(state: Path, at: datetime) -> tuple[float, float, int]:
    """Wall seconds, max RSS in MB and exit code of the real command."""
    exe = str(Path(sys.executable).with_name("safedeploy"))
    argv = [exe, "--state", str(state), "reconcile", "--at", at.strftime("%Y-%m-%dT%H:%M:%SZ")]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv], capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - started
    lines = done.stdout.splitlines()
    _, peak, code = lines[-1].split()
    summary = [line for line in lines if line.startswith("reconcile ")]
    print(f"  {summary[-1] if summary else '(no summary line)'}")
    return elapsed, int(peak) / 1024, int(code)


def phases(state: Path, at: datetime) -> None:
    """Where a run's time goes before any decision: the catalog, the source, the math."""
    started = time.perf_counter()
    catalog = load_catalog([state / "services"])
    loaded = time.perf_counter()
    source = open_source(load_settings(state), state)
    opened = time.perf_counter()
    statuses = evaluate_services(list(catalog.services), source, at)
    done = time.perf_counter()
    burning = [
        ChartSubject(service, status)
        for service, status in zip(catalog.services, statuses, strict=True)
        if status.severity not in ("normal", "unknown")
    ]
    charted(source, burning)
    drawn = time.perf_counter()
    print(f"{'  load the catalog (services/*.yaml)':<44} {loaded - started:8.2f} s")
    print(f"{'  open the embedded source':<44} {opened - loaded:8.2f} s")
    print(f"{'  evaluate every SLO':<44} {done - opened:8.2f} s")
    label = f"  chart the {len(burning)} burning services"
    print(f"{label:<44} {drawn - done:8.2f} s")


def audit_size(state: Path) -> tuple[int, int]:
    files = list((state / "audit").glob("*.log"))
    lines = 0
    for path in files:
        with path.open("rb") as f:
            lines += sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return lines, sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=1_000)
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--audit-lines", type=int, default=1_000_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="safedeploy-bench-") as tmp:
        built = time.perf_counter()
        state = build_state(Path(tmp), args.services, args.incidents, args.audit_lines)
        lines, size = audit_size(state)
        print(
            f"state: {args.services:,} services, {args.incidents} incidents, {lines:,} audit "
            f"lines ({size / 1e6:.0f} MB), built in {time.perf_counter() - built:.1f} s"
        )

        first = T_END - timedelta(minutes=3)
        result = in_process(state, first)()  # warm imports and the env repo clone
        print(
            f"  {len(result.decisions)} decisions, {len(result.created_incidents)} incidents "
            f"and {len(result.created_proposals)} proposals created, exit {result.exit_code}"
        )
        for reason in sorted({u.split(": ", 1)[1][:100] for u in result.undecided})[:3]:
            print(f"  undecided: {reason}")
        wall = timed("reconcile, in process", in_process(state, T_END - timedelta(minutes=2)))
        phases(state, T_END - timedelta(minutes=2))
        tracemalloc.start()
        in_process(state, T_END - timedelta(minutes=1))()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"{'  peak traced memory':<44} {peak:8.1f} MB")
        cli_wall, cli_rss, code = command(state, T_END)
        print(f"{'reconcile, the safedeploy command':<44} {cli_wall:8.2f} s")
        print(f"{'  max RSS of the command':<44} {cli_rss:8.1f} MB (exit {code})")
        after, _ = audit_size(state)
        print(f"{'audit lines appended over four runs':<44} {after - lines:8,}")
        own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'bench process max RSS':<44} {own_rss:8.1f} MB")
        worst = max(wall, cli_wall)
        verdict = "met" if worst <= TARGET_SECONDS and cli_rss <= TARGET_MB else "MISSED"
        print(f"targets (<= {TARGET_SECONDS:g} s, <= {TARGET_MB:g} MB): {verdict}")


if __name__ == "__main__":
    main()
