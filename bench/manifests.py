"""How many real manifests of the corpus (tests/data/manifests/) revert byte for byte, by kind.

For every file: A is the file as published, B the same file after a release moved its
version (made by a text replacement on the version's line, not by the parser). Two ways
back to A are counted: the edit alone, in memory; and the whole loop, with A then B
committed to a real bare repository, `reconcile` proposing the rollback and `approve`
pushing its branch, whose file is compared with A. Files safedeploy refuses are listed
with the one line it says about them. Target: every file that is not refused reverts.

Run from the repository root: `PYTHONPATH=. .venv/bin/python bench/manifests.py`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from safedeploy.adapters import manifests
from safedeploy.domain.proposals import VersionChange
from safedeploy.errors import SafedeployError
from safedeploy.usecases.approval import approve
from safedeploy.usecases.context import Context
from safedeploy.usecases.reconcile import reconcile
from testing.corpus import CASES, REFUSED, Case, before_and_after, build_corpus_world, later
from testing.corpus import service_name as name_of
from testing.faults import short_metrics

AT = datetime(2026, 11, 1, 11, 5, tzinfo=UTC)


def in_memory(case: Case) -> tuple[bool, float]:
    before, after = before_and_after(case)
    started = time.perf_counter()
    try:
        reverted = manifests.set_version(after, case, case.version)
    except SafedeployError as exc:
        print(f"  {case.file}: {exc}")
        return False, 0.0
    took = time.perf_counter() - started
    return reverted.encode() == before.encode(), took


def through_the_loop(base: Path) -> set[str]:
    """Files whose approved rollback branch holds A exactly."""
    world = build_corpus_world(base, CASES, short_metrics())
    result = reconcile(Context(world.state, environ={}), AT, [], commit=False)
    for error in result.errors:
        print(f"  reconcile: {error}")
    reverted: set[str] = set()
    for number, case in enumerate(CASES):
        proposals = [
            p
            for d in result.decisions
            if d.service == name_of(number)
            for p in d.new_proposals
            if isinstance(p.change, VersionChange) and p.change.to_version == case.version
        ]
        if not proposals:
            print(f"  {case.file}: no rollback to {case.version} proposed")
            continue
        try:
            approve(
                Context(world.state, environ={}),
                proposals[0].id,
                "alice",
                AT + timedelta(minutes=10),
                commit=False,
            )
        except SafedeployError as exc:
            print(f"  {case.file}: approve: {exc}")
            continue
        shown = subprocess.run(
            ["git", "show", f"safedeploy/{proposals[0].id}:{case.file}"],
            cwd=world.env,
            capture_output=True,
            check=False,
        )
        if shown.returncode == 0 and shown.stdout == case.text().encode("utf-8"):
            reverted.add(case.file)
        else:
            print(f"  {case.file}: the pushed branch differs from A")
    return reverted


def main() -> int:
    print(f"corpus: {len(CASES) + len(REFUSED)} files, {len(REFUSED)} refused on purpose")
    memory: Counter[str] = Counter()
    files: Counter[str] = Counter()
    times: list[float] = []
    for case in CASES:
        files[case.kind] += 1
        ok, took = in_memory(case)
        memory[case.kind] += ok
        times.append(took)
        assert later(case.version) != case.version
    with tempfile.TemporaryDirectory(prefix="safedeploy-bench-manifests-") as scratch:
        started = time.perf_counter()
        looped = through_the_loop(Path(scratch))
        loop_seconds = time.perf_counter() - started
    loop: Counter[str] = Counter(c.kind for c in CASES if c.file in looped)
    print(f"\n{'kind':<12} {'files':>5} {'edit alone':>11} {'reconcile+approve':>18}")
    for kind in sorted(files):
        print(f"{kind:<12} {files[kind]:>5} {memory[kind]:>11} {loop[kind]:>18}")
    total, in_mem, in_loop = sum(files.values()), sum(memory.values()), sum(loop.values())
    print(f"{'all':<12} {total:>5} {in_mem:>11} {in_loop:>18}")
    times.sort()
    print(
        f"\nedit: median {times[len(times) // 2] * 1000:.1f} ms, slowest {times[-1] * 1000:.1f} "
        f"ms (largest file {max(len(c.text()) for c in CASES) // 1024} KiB); "
        f"the loop for all {total} files: {loop_seconds:.1f} s"
    )
    print("\nrefused, in one line each:")
    for refused in REFUSED:
        try:
            manifests.read_version(refused.case.text(), refused.case)
            print(f"  {refused.case.file}: NOT refused")
        except SafedeployError as exc:
            print(f"  {exc}")
    met = in_mem == in_loop == total
    verdict = "met" if met else "MISSED"
    print(f"\ntarget (every file that is not refused reverts byte for byte): {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
