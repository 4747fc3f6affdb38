"""Soak: random kills and overlapping runs over the life of one incident, for as long as asked.

Not part of CI; the fault suite (tests/faults/) tries every kill point once. This keeps
going with random choices: a kill at a random durable step of a random command of the
history (SAFEDEPLOY_CRASH_AT), two to four reconciles started together, or such a burst
with one of them killed; then a clean rerun, and the same checks as the suite (JSON
parses, audit verifies, replay --check agrees, never two incidents for one service).

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/soak.py [--iterations 500] [--seed 1]
Prints the counts and every failure; exits 1 if there was one.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from safedeploy.adapters.faults import CRASH_AT
from testing.faults import (
    Stage,
    build_fault_state,
    copy_world,
    crash_then_rerun,
    decisions,
    finish,
    plan_history,
    problems,
    start,
)


def burst(stage: Stage, where: Path, rng: random.Random, counts: Counter[str]) -> list[str]:
    """2-4 reconciles at the stage's instant or just after it, one of them maybe killed."""
    world = copy_world(stage.before, where)
    at = stage.args[2] if stage.args[0] == "reconcile" else "2026-11-01T12:00:00Z"
    runs = rng.randint(2, 4)
    victim = rng.randrange(runs) if rng.random() < 0.5 else None
    running = []
    for number in range(runs):
        env = {CRASH_AT: str(rng.randint(1, 20))} if number == victim else {}
        args = ("reconcile", "--at", at, "--lock-timeout", "60")
        running.append(start(*args, cwd=world.state, env=env))
    outcomes = [finish(r) for r in running]
    counts[f"burst of {runs}"] += 1
    counts["killed in a burst"] += sum(o.killed for o in outcomes)
    found = [
        f"run {n} exited {o.code}: {o.stderr.strip()[-300:]}"
        for n, o in enumerate(outcomes)
        if not o.killed and o.code not in (0, 3)
    ]
    rerun = finish(start("reconcile", "--at", at, cwd=world.state))
    if rerun.code not in (0, 3):
        found.append(f"rerun exited {rerun.code}: {rerun.stderr.strip()[-300:]}")
    found += problems(world.state)
    active = [
        name
        for name, state in decisions(world.state).items()
        if name.startswith("incidents/checkout-")
        and state not in ("resolved", "postmortem-complete")
    ]
    if len(active) > 1:
        found.append(f"two active incidents: {active}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    rng = random.Random(options.seed)
    counts: Counter[str] = Counter()
    points: set[tuple[int, int]] = set()
    failures: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="safedeploy-soak-") as scratch:
        base = Path(scratch)
        stages = plan_history(build_fault_state(base / "world"), base / "history")
        print(f"history: {len(stages)} commands, {sum(s.steps for s in stages)} kill points")
        for number in range(options.iterations):
            stage = rng.choice(stages)
            where = base / f"run-{number}"
            if rng.random() < 0.6 and stage.steps:
                point = rng.randint(1, stage.steps)
                points.add((stage.index, point))
                counts["kill and rerun"] += 1
                found = crash_then_rerun(stage, copy_world(stage.before, where), point)
                label = f"{' '.join(stage.args)} killed at {point}"
            else:
                found = burst(stage, where, rng, counts)
                label = f"burst before {' '.join(stage.args)}"
            failures += [f"iteration {number}: {label}: {f}" for f in found]
            shutil.rmtree(where, ignore_errors=True)
            if (number + 1) % 50 == 0:
                print(f"{number + 1} iterations, {len(failures)} failures", flush=True)
    elapsed = time.monotonic() - started
    print(f"iterations: {options.iterations} in {elapsed:.0f}s (seed {options.seed})")
    print(f"distinct kill points: {len(points)}")
    for name, count in sorted(counts.items()):
        print(f"{name}: {count}")
    print(f"failures: {len(failures)}")
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
