"""Renderers for catalog commands: rich tables on a terminal, JSON for scripts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from safedeploy.cli.tables import Cell, Column, plural, print_table
from safedeploy.cli.terminal import print_error, print_json, stdout
from safedeploy.domain.catalog import Catalog
from safedeploy.domain.instants import format_instant

if TYPE_CHECKING:
    from safedeploy.usecases.live_check import LiveCheck
    from safedeploy.usecases.targets import TargetValidation

# Each level's prefix on its lines and its name in the closing count.
LEVELS = {
    "problem": ("", "problems"),
    "note": ("note: ", "notes"),
    "unchecked": ("not checked: ", "not checked"),
}


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
    columns = [Column(c) for c in ("service", "owner", "SLOs", "objectives", "target")]
    rows: list[list[Cell]] = [
        [
            s.name,
            s.metadata.owner,
            tuple(slo.name for slo in s.spec.slos),
            tuple(percent(slo.objective) for slo in s.spec.slos),
            s.spec.target.kind,
        ]
        for s in catalog.services
    ]
    print_table(columns, rows, title=f"{plural(len(rows), 'service')} valid")


def live_check(checked: LiveCheck, *, as_json: bool) -> None:
    """One line per finding, `file:line: field: message`, then what was checked."""
    if as_json:
        print_json(
            {
                "valid": checked.exit_code == 0,
                "source": checked.source,
                "at": format_instant(checked.at),
                "selectors": checked.selectors,
                "findings": [
                    {"where": f.where, "field": f.field, "level": f.level, "message": f.message}
                    for f in checked.findings
                ],
            }
        )
        return
    console = stdout()
    for finding in checked.findings:
        label = LEVELS[finding.level][0]
        console.print(f"{finding.where}: {finding.field}: {label}{finding.message}", markup=False)
    counts = [
        f"{sum(f.level == level for f in checked.findings)} {name}"
        for level, (_, name) in LEVELS.items()
    ]
    services = plural(len(checked.catalog.services), "service")
    console.print(
        f"{plural(checked.selectors, 'selector')} of {services} against {checked.source} "
        f"at {format_instant(checked.at)}: {', '.join(counts)}",
        markup=False,
    )


def created(paths: list[Path]) -> None:
    console = stdout()
    for path in paths:
        console.print(f"created {path}")


def target_checks(result: TargetValidation, *, as_json: bool) -> None:
    if as_json:
        print_json(result.as_json())
        return
    console = stdout()
    for r in result.reports:
        if r.check is None:
            print_error(f"{r.service}: {r.error}")
            continue
        c = r.check
        pause = "block-promotion can pause it" if c.pausable else "no pause: the gate blocks"
        console.print(
            f"{r.service}: {c.path}:{c.line}: {c.field} = {c.version}; an edit changes that "
            f"one value; {pause}",
            highlight=False,
            markup=False,  # field paths hold brackets: containers[web]
            soft_wrap=True,
        )
