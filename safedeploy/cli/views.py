"""Renderers for catalog commands: rich tables on a terminal, JSON for scripts."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from safedeploy.cli.terminal import print_json, stdout
from safedeploy.domain.catalog import Catalog


def percent(ratio: float) -> str:
    return f"{ratio * 100:.4f}".rstrip("0").rstrip(".") + "%"


def catalog_summary(catalog: Catalog, *, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "valid": True,
                "services": [
                    {
                        "service": s.name,
                        "owner": s.metadata.owner,
                        "slos": [slo.name for slo in s.spec.slos],
                        "objectives": [slo.objective for slo in s.spec.slos],
                        "target_kind": s.spec.target.kind,
                    }
                    for s in catalog.services
                ],
            }
        )
        return
    table = Table(title=f"{len(catalog.services)} services valid")
    for column in ("service", "owner", "SLOs", "objectives", "target"):
        table.add_column(column)
    for s in catalog.services:
        table.add_row(
            s.name,
            s.metadata.owner,
            ", ".join(slo.name for slo in s.spec.slos),
            ", ".join(percent(slo.objective) for slo in s.spec.slos),
            s.spec.target.kind,
        )
    stdout().print(table)


def created(paths: list[Path]) -> None:
    console = stdout()
    for path in paths:
        console.print(f"created {path}")
