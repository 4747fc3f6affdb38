"""The demo's state directory as a fixture: an open incident, an approved rollback and a
proposed block, made once by the real `safedeploy demo` and copied for each test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from testing.cli import Result, run

# An instant after the demo's last decision.
AFTER_DEMO = "2026-11-01T12:10:00Z"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """The demo run once, off a terminal as in a CI log: its state and what it printed."""
    state = tmp_path_factory.mktemp("demo-state") / "demo"
    done = run("demo", "--dir", state.name, cwd=state.parent)  # a relative path, as people type
    assert done.code == 0, done.stderr
    return state, done


@pytest.fixture(scope="session")
def demo_made(demo_run: tuple[Path, Result]) -> Path:
    """The demo's state; never changed by a test (copy it with `demo_state`)."""
    return demo_run[0]


@pytest.fixture
def demo_state(demo_made: Path, tmp_path: Path) -> Path:
    """A copy of the demo's state for one test to change."""
    copy = tmp_path / "state"
    shutil.copytree(demo_made, copy, symlinks=True)
    return copy


def state_ids(state: Path) -> list[str]:
    """Every incident and proposal id of the state, as the lists give them."""
    incidents = json.loads(run("incidents", "list", "--json", cwd=state).stdout)
    proposals = json.loads(run("proposals", "list", "--json", cwd=state).stdout)
    found = [i["id"] for i in incidents] + [p["id"] for p in proposals]
    assert len(found) >= 3  # the demo's incident, rollback and block
    return found
