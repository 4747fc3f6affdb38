"""Shared fixtures: each real part (Prometheus, git remotes, the GitHub server) lives in its
own module under testing/ and is loaded here as a pytest plugin."""

from __future__ import annotations

import importlib.util

pytest_plugins = [
    name
    for name in ("testing.prometheus", "testing.gitrepos", "testing.github_server", "testing.cli")
    if importlib.util.find_spec(name) is not None
]
