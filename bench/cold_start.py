"""Cold start of the CLI: `safedeploy --help` and `--version`, median of repeated runs.

Prints the figures; the target is that help and version never import PyGithub, GitPython,
jsonschema or httpx (asserted in tests/cli), which keeps them well under half a second.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 15


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    exe = str(Path(sys.executable).with_name("safedeploy"))
    baseline = [_timed([sys.executable, "-c", "pass"]) for _ in range(RUNS)]
    print(f"python -c pass          median {statistics.median(baseline) * 1000:7.1f} ms")
    for args in (["--version"], ["--help"], ["validate", "--help"]):
        times = [_timed([exe, *args]) for _ in range(RUNS)]
        label = "safedeploy " + " ".join(args)
        print(
            f"{label:<28}median {statistics.median(times) * 1000:7.1f} ms"
            f"   max {max(times) * 1000:7.1f} ms"
        )


if __name__ == "__main__":
    main()
