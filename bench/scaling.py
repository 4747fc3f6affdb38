"""How `safedeploy reconcile` scales: 100, 1,000 and 10,000 services x 2 SLOs against a real
Prometheus, the first run and the steady state measured apart.

One synthetic history for the largest size is backfilled into Prometheus (testing.prometheus);
each size takes the first N of its services. Per size, a fresh state directory gets its
first run (every incident, proposal and evidence folder created), then a run a minute
later in which no decision changes (the steady state, what cron does every minute). Each
row is the real command: wall time, the child's max RSS, the HTTP requests Prometheus
served for it (its own `prometheus_http_requests_total`) and how many state files it
wrote. Targets (steady state): 1,000 services <= 2 s, 10,000 <= 15 s and <= 400 MB; the
catalog of 10,000 files loads in <= 1 s once parsed before (printed below the table).

Run: `python bench/scaling.py [--sizes 100,1000,10000] [--days D] [--step S]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from safedeploy.adapters.catalog_cache import ParsedServices
from safedeploy.adapters.catalog_files import load_catalog
from testing.builders import write_service
from testing.gitrepos import env_with_two_releases
from testing.history import T_END, T_END_SECONDS, synthetic_scenarios, write_history
from testing.prometheus import (
    RunningPrometheus,
    backfill,
    ensure_installed,
    serve,
    served_requests,
)

DAY = 86_400
# size -> (steady-state seconds, MB) it must stay within; None where no target is set.
TARGETS: dict[int, tuple[float, float | None]] = {1_000: (2.0, None), 10_000: (15.0, 400.0)}
CATALOG_TARGET = 1.0  # seconds for 10,000 service files, parsed before

# A forked child starts with its parent's resident pages, so the child's max RSS is taken by
# a small launcher process rather than by this one, which holds the history.
LAUNCHER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr[-2000:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"maxrss {peak} {done.returncode}")
"""


def build_state(root: Path, names: list[str], url: str) -> Path:
    state = root / "state"
    for name in names:
        write_service(state / "services", name)
    env = env_with_two_releases(root, names)
    (state / "safedeploy.toml").write_text(
        f'[prometheus]\nurl = "{url}"\n\n[environment]\nrepo = "{env}"\n'
    )
    return state


def snapshot(state: Path) -> dict[Path, tuple[int, int]]:
    return {
        p: (s.st_mtime_ns, s.st_size)
        for p in state.rglob("*")
        if p.is_file() and ".cache" not in p.parts and (s := p.stat())
    }


def run(state: Path, url: str, at: datetime) -> tuple[float, float, int, int, int]:
    """Wall seconds, max RSS in MB, requests served, files written and the exit code."""
    exe = str(Path(sys.executable).with_name("safedeploy"))
    argv = [exe, "--state", str(state), "reconcile", "--at", at.strftime("%Y-%m-%dT%H:%M:%SZ")]
    before_files = snapshot(state)
    before = served_requests(url)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv], capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - started
    requests = served_requests(url) - before
    after_files = snapshot(state)
    written = sum(1 for p, stamp in after_files.items() if before_files.get(p) != stamp)
    _, peak, code = done.stdout.splitlines()[-1].split()
    if int(code) not in (0, 3):
        raise SystemExit(f"reconcile exited {code}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed, int(peak) / 1024, requests, written, int(code)


def catalog_seconds(state: Path) -> tuple[float, float]:
    """Loading services/ in process: every file parsed, and from what the runs cached."""
    timings = []
    for cache in (None, state / ".safedeploy-cache"):
        started = time.perf_counter()
        load_catalog([state / "services"], partial=True, parsed=ParsedServices.open(cache))
        timings.append(time.perf_counter() - started)
    return timings[0], timings[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/scaling.py")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--step", type=int, default=300, help="seconds between samples")
    options = parser.parse_args(argv)
    sizes = [int(s) for s in options.sizes.split(",")]
    ensure_installed()
    with tempfile.TemporaryDirectory(prefix="safedeploy-bench-") as tmp:
        workdir = Path(tmp)
        scenarios = synthetic_scenarios(max(sizes))
        started = time.perf_counter()
        history = write_history(
            workdir / "history.om",
            scenarios,
            end=T_END_SECONDS,
            duration=int(options.days * DAY),
            step=options.step,
        )
        backfilled = backfill(history.path, workdir / "data")
        history.path.unlink()
        print(
            f"history: {max(sizes):,} services, {history.series:,} series, "
            f"{history.samples:,} samples over {options.days:g} days; ready in "
            f"{time.perf_counter() - started:.0f} s ({backfilled:.0f} s backfill)"
        )
        with serve(workdir / "data", history) as running:
            return table(workdir, running, [s.service for s in scenarios], sizes)


def table(workdir: Path, running: RunningPrometheus, names: list[str], sizes: list[int]) -> int:
    print(f"{'services':>8}  {'run':<6} {'wall s':>7} {'RSS MB':>7} {'requests':>8} {'files':>6}")
    missed: list[str] = []
    largest: Path | None = None
    for size in sizes:
        state = build_state(workdir / f"n{size}", names[:size], running.url)
        # The first run one sample before the steady one: both read whole windows.
        first = T_END - timedelta(seconds=running.history.step)
        for label, at in (("first", first), ("steady", T_END)):
            wall, rss, requests, written, _ = run(state, running.url, at)
            print(f"{size:>8,}  {label:<6} {wall:>7.2f} {rss:>7.0f} {requests:>8} {written:>6}")
            seconds, mb = TARGETS.get(size, (None, None))
            if label == "steady" and seconds is not None and wall > seconds:
                missed.append(f"{size:,} services in {wall:.1f} s (target {seconds:g} s)")
            if label == "steady" and mb is not None and rss > mb:
                missed.append(f"{size:,} services in {rss:.0f} MB (target {mb:g} MB)")
        largest = state
    if largest is not None:
        cold, warm = catalog_seconds(largest)
        print(f"catalog of {sizes[-1]:,} files: {cold:.2f} s parsed, {warm:.2f} s from the cache")
        if sizes[-1] >= 10_000 and warm > CATALOG_TARGET:
            missed.append(f"catalog in {warm:.2f} s (target {CATALOG_TARGET:g} s)")
    print("targets: " + ("met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
