"""Every script in bench/ still runs, on sizes small enough for CI.

The figures are only trusted at full size on a quiet machine; what this checks is that a
script has not drifted from the code it measures, so a benchmark is there when wanted.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from testing.cli import REPO_ROOT

pytestmark = pytest.mark.soak

BENCH = REPO_ROOT / "bench"

# Small sizes for each script; a new script must be added here to be run at all.
SMALL: dict[str, list[str]] = {
    "audit_append.py": ["--lines", "2000", "--appends", "20"],
    "cold_start.py": [],
    "low_traffic.py": ["--clean", "120", "--minutes", "30"],
    "manifests.py": [],  # the corpus is what it measures; about 40 s
    "reconcile.py": ["--services", "6", "--incidents", "2", "--audit-lines", "200"],
    "report.py": ["--services", "6", "--incidents", "8", "--audit-lines", "200"],
    "scaling.py": ["--sizes", "3,6", "--days", "0.1"],
    "slo_engine.py": ["--services", "3", "--days", "0.1", "--step", "300"],
    "soak.py": ["--iterations", "3"],
}


def test_every_bench_script_is_run_here() -> None:
    assert sorted(p.name for p in BENCH.glob("*.py")) == sorted(SMALL)


@pytest.mark.parametrize("script", sorted(SMALL))
def test_the_bench_script_runs_and_prints_its_figures(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *SMALL[script]],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    # Exit 1 is a target missed, a figure of this machine's load, not a broken script.
    assert done.returncode in (0, 1), (done.stdout + done.stderr)[-3000:]
    assert len(done.stdout.splitlines()) >= 2, done.stdout
