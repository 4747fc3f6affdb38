"""Shared fixtures: each real part (Prometheus, git remotes, the GitHub server, the state
repository, a headless Chromium) lives in its own module under testing/ and is loaded here
as a pytest plugin."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import settings

pytest_plugins = [
    "testing.prometheus",
    "testing.victoria",
    "testing.recordings",
    "testing.gitrepos",
    "testing.github_server",
    "testing.cli",
    "testing.state_repo",
    "testing.faults",
    "testing.webhook",
    "testing.demo_state",
    "testing.browser",
    "testing.signing",
    "testing.lying_proxy",
]

# Hundreds of tests run the real `safedeploy` command as a subprocess. With
# PYTHONDONTWRITEBYTECODE set (as on some CI machines) each one would compile every module
# from source again; a bytecode cache outside the work tree keeps the checkout clean.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault(
    "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / f"safedeploy-pycache-{os.getuid()}")
)

# Speed is measured in bench/, never in a unit test: hypothesis' per-example deadline would
# turn a loaded CI machine into failures that say nothing about the code.
settings.register_profile("safedeploy", deadline=None)
settings.load_profile("safedeploy")
