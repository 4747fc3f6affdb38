"""Cost of audit appends and a full verify on a 1,000,000-line stream.

Appends happen on every reconcile and must not grow with the history; verify reads all
of it and must stay in constant memory. Run: `python bench/audit_append.py [--lines N]`.
Timings are taken without tracemalloc (it slows allocation-heavy code several times);
peak memory comes from a second, traced pass.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from safedeploy.adapters.audit import GENESIS, AuditLog, seal

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def build(log: AuditLog, lines: int) -> None:
    """Write a genuine chain directly: a million fsynced appends would measure the disk."""
    log.directory.mkdir(parents=True, exist_ok=True)
    prev = GENESIS
    with open(log.path("metrics"), "wb", buffering=1 << 20) as f:
        for seq in range(1, lines + 1):
            data = {"service": "checkout", "slo": "availability", "sli": 0.9991, "total": seq}
            line, prev = seal(
                seq=seq,
                at=T0 + timedelta(seconds=seq),
                stream="metrics",
                event="sample",
                data=data,
                prev=prev,
            )
            f.write(line)


def appends(log: AuditLog, count: int) -> Callable[[], None]:
    def run() -> None:
        for n in range(count):
            log.append("metrics", "sample", {"n": n}, T0 + timedelta(days=30, seconds=n))

    return run


def verify(log: AuditLog, expected_lines: int) -> Callable[[], None]:
    def run() -> None:
        report = log.verify("metrics")
        if not report.ok or report.lines < expected_lines:
            raise SystemExit(f"verify failed: {report}")

    return run


def timed(label: str, action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"{label:<34} {elapsed:9.3f} s")
    return elapsed


def traced_peak(action: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=1_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(Path(tmp) / "audit")
        timed(f"build {args.lines:,} lines", lambda: build(log, args.lines))
        size = log.path("metrics").stat().st_size
        print(f"{'stream size':<34} {size / 1e6:9.1f} MB")

        total = timed(f"{args.appends:,} appends (fsync each)", appends(log, args.appends))
        print(f"{'  per append':<34} {total / args.appends * 1e3:9.3f} ms")
        timed("full verify", verify(log, args.lines + args.appends))

        peak_append = traced_peak(appends(log, 100))
        peak_verify = traced_peak(verify(log, args.lines))
        print(f"{'peak traced memory, 100 appends':<34} {peak_append / 1024:9.1f} KiB")
        print(f"{'peak traced memory, verify':<34} {peak_verify / 1024:9.1f} KiB")
        max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"{'process max RSS':<34} {max_rss / 1024:9.1f} MiB")


if __name__ == "__main__":
    main()
