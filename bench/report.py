"""`safedeploy report` at scale: 1,000 services, 10,000 incidents, 1,000,000 audit lines.

The report reads summary.json and only the incident and proposal files it names, so its
cost must follow the number of services, not the history. Times the real command (a
subprocess, interpreter start included) and the use case in-process; target <= 1 s.
Run: `python bench/report.py [--services N] [--incidents N] [--audit-lines N]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from safedeploy.adapters.audit import GENESIS, seal
from safedeploy.adapters.store import atomic_write_bytes
from safedeploy.cli.report_views import report_json
from safedeploy.domain.incidents import open_incident
from safedeploy.domain.layout import SUMMARY
from safedeploy.domain.proposals import PauseChange, new_proposal
from safedeploy.domain.summary import ServiceSummary, SLOSummary, Summary
from safedeploy.usecases.context import Context
from safedeploy.usecases.report import report

T0 = datetime(2026, 11, 1, tzinfo=UTC)
TARGET = 1.0
RUNS = 5
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")


def build(state: Path, services: int, incidents: int, audit_lines: int) -> None:
    names = [f"svc-{i:04d}" for i in range(services)]
    per_service = max(1, incidents // services)
    (state / "incidents").mkdir(parents=True)
    (state / "action-proposals").mkdir()
    entries: list[ServiceSummary] = []
    for index, name in enumerate(names):
        # Closed history: incidents a day apart; every tenth service has one still open.
        for n in range(per_service):
            opened = T0 - timedelta(days=per_service - n)
            incident = open_incident(
                name, "slow-burn", ("availability",), opened, actor="bench", reason="r"
            )
            path = state / "incidents" / f"{incident.id}.json"
            path.write_text(incident.model_dump_json(indent=2))
        entries.append(_entry(state, name, burning=index % 10 == 0))
    summary = Summary(at=T0, services=tuple(entries))
    atomic_write_bytes(state / SUMMARY, summary.model_dump_json(indent=2).encode())
    _audit(state / "audit" / "metrics.log", audit_lines)


def _entry(state: Path, name: str, *, burning: bool) -> ServiceSummary:
    incident_id = proposals = None
    if burning:
        incident = open_incident(name, "fast-burn", ("availability",), T0, actor="b", reason="r")
        block = new_proposal(
            "block-promotion", name, incident.id, PauseChange(), rule="r", reason="r", at=T0
        )
        (state / "incidents" / f"{incident.id}.json").write_text(incident.model_dump_json())
        (state / "action-proposals" / f"{block.id}.json").write_text(block.model_dump_json())
        incident_id, proposals = incident.id, (block.id,)
    slos = tuple(
        SLOSummary(
            slo=slo,
            objective=0.999,
            period="30d",
            severity="fast-burn" if burning else "normal",
            reason="r",
            budget_remaining=0.42,
            burn_rates={w: 1.5 for w in WINDOWS},
        )
        for slo in ("availability", "latency")
    )
    return ServiceSummary(
        service=name,
        owner=f"team-{name}",
        at=T0,
        severity="fast-burn" if burning else "normal",
        reason="r",
        decision="RED" if burning else "GREEN",
        decision_reason="max-burn-rate: availability: 1h burn rate 15.00, limit 2",
        budget_remaining=0.42,
        incident=incident_id,
        incident_state="detected" if burning else None,
        proposals=proposals or (),
        freeze_until=None,
        slos=slos,
    )


def _audit(path: Path, lines: int) -> None:
    """A genuine hash chain, written directly (fsynced appends would measure the disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    prev = GENESIS
    with path.open("wb", buffering=1 << 20) as f:
        for seq in range(1, lines + 1):
            data = {"service": f"svc-{seq % 1000:04d}", "severity": "normal"}
            line, prev = seal(
                seq=seq,
                at=T0 + timedelta(seconds=seq),
                stream="metrics",
                event="evaluated",
                data=data,
                prev=prev,
            )
            f.write(line)


def timed(action: Callable[[], object], runs: int = RUNS) -> list[float]:
    seconds: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def command(state: Path, *args: str) -> Callable[[], object]:
    exe = str(Path(sys.executable).with_name("safedeploy"))

    def run() -> object:
        done = subprocess.run(
            [exe, "--state", str(state), *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/report.py")
    parser.add_argument("--services", type=int, default=1_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--audit-lines", type=int, default=1_000_000)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="safedeploy-bench-report-") as workdir:
        state = Path(workdir)
        started = time.perf_counter()
        build(state, options.services, options.incidents, options.audit_lines)
        incidents = sum(1 for _ in (state / "incidents").iterdir())
        audit_mb = (state / "audit" / "metrics.log").stat().st_size / 1e6
        print(
            f"state: {options.services} services, {incidents} incident files, "
            f"{options.audit_lines:,} audit lines ({audit_mb:.0f} MB), "
            f"built in {time.perf_counter() - started:.1f}s"
        )
        output = json.loads(str(command(state, "report", "--format", "json")()))
        assert len(output["services"]) == options.services
        results = {
            "in-process report() + JSON": timed(lambda: report_json(report(Context(state)))),
            "safedeploy report --format json": timed(command(state, "report", "--format", "json")),
            "safedeploy report (table)": timed(command(state, "report", "--out", f"{state}/r.txt")),
            "safedeploy --version (start-up only)": timed(command(state, "--version")),
        }
    worst = 0.0
    for name, seconds in results.items():
        median = statistics.median(seconds)
        print(f"{name:40} median {median * 1000:7.1f} ms  max {max(seconds) * 1000:7.1f} ms")
        if name.startswith("safedeploy report"):
            worst = max(worst, median)
    verdict = "within" if worst <= TARGET else "OVER"
    print(f"slowest report median {worst:.3f}s: {verdict} the {TARGET:g}s target")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
