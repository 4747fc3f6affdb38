"""The names of the state directory's parts, shared by every adapter that touches it."""

from __future__ import annotations

from importlib import resources

SERVICES = "services"
INCIDENTS = "incidents"
PROPOSALS = "action-proposals"
EVIDENCE = "evidence"
AUDIT = "audit"
CONTROL = "control-plane/state"

STATE_DIRS = (SERVICES, INCIDENTS, PROPOSALS, EVIDENCE, AUDIT, CONTROL)


def example_services() -> dict[str, str]:
    """The example catalog shipped in the package (the same files as the repo's services/)."""
    folder = resources.files("safedeploy") / "templates" / "services"
    return {
        f"{SERVICES}/{entry.name}": entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


def example_files() -> dict[str, str]:
    """What `safedeploy init` writes: a commented configuration and one example service."""
    templates = resources.files("safedeploy") / "templates"
    checkout = f"{SERVICES}/checkout.yaml"
    return {
        "safedeploy.toml": (templates / "safedeploy.toml").read_text(encoding="utf-8"),
        checkout: example_services()[checkout],
    }
