"""Crash injection for the fault suite: die at the n-th durable step, as `kill -9` would.

Every place that makes a change durable (an atomic file write, an audit append, a push to
the environment repo) calls `step(name)` just before the change becomes visible. With
`SAFEDEPLOY_CRASH_AT=<n>` the process sends itself SIGKILL at the n-th such step, so tests
can prove that a run killed at any point leaves state that a rerun completes. With
`SAFEDEPLOY_CRASH_TRACE=<file>` each step appends `<n> <name>` to the file, which is how a
test learns how many points a command has. Unset, a step costs two dictionary lookups.
"""

from __future__ import annotations

import itertools
import os
import signal
from typing import Final

CRASH_AT: Final = "SAFEDEPLOY_CRASH_AT"
CRASH_TRACE: Final = "SAFEDEPLOY_CRASH_TRACE"

_steps: Final = itertools.count(1)


def step(name: str) -> None:
    """Count one durable step; log it, or die here, when the environment asks for it."""
    crash_at = os.environ.get(CRASH_AT)
    trace = os.environ.get(CRASH_TRACE)
    if crash_at is None and trace is None:
        return
    number = next(_steps)
    if trace is not None:
        with open(trace, "a", encoding="utf-8") as f:
            f.write(f"{number} {name}\n")
    if crash_at is not None and crash_at.strip() == str(number):
        os.kill(os.getpid(), signal.SIGKILL)
