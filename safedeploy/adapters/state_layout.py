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


def example_files() -> dict[str, str]:
    """What `safedeploy init` writes: a commented configuration and one example service."""
    templates = resources.files("safedeploy") / "templates"
    return {
        "safedeploy.toml": (templates / "safedeploy.toml").read_text(encoding="utf-8"),
        f"{SERVICES}/checkout.yaml": (templates / "example-service.yaml").read_text(
            encoding="utf-8"
        ),
    }
