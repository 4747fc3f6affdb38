"""Shared fixtures: each real part (Prometheus, git remotes, the GitHub server, the state
repository, a headless Chromium) lives in its own module under testing/ and is loaded here
as a pytest plugin."""

from __future__ import annotations

pytest_plugins = [
    "testing.prometheus",
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
