"""The files shipped in the package: the example catalog and what `safedeploy init` writes."""

from __future__ import annotations

from importlib import resources

from safedeploy.domain.layout import CONFIG, SERVICES


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
        CONFIG: (templates / "safedeploy.toml").read_text(encoding="utf-8"),
        checkout: example_services()[checkout],
    }
