"""Renders SLO evaluations: one rich table per service, or the JSON of DESIGN.md."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from safedeploy.cli.tables import Cell, Column, print_table
from safedeploy.cli.terminal import print_error, print_json, stdout
from safedeploy.cli.views import percent
from safedeploy.domain.catalog import BrokenService
from safedeploy.domain.instants import format_instant
from safedeploy.domain.slo import ServiceStatus, SLOStatus

SEVERITY_STYLE = {
    "normal": "green",
    "unknown": "yellow",
    "slow-burn": "dark_orange",
    "fast-burn": "bold red",
    "exhausted": "bold white on red",
}
SHOWN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def slo_json(status: SLOStatus) -> dict[str, Any]:
    data = status.model_dump(mode="json", exclude={"service", "slo", "at"})
    return {
        "service": status.service,
        "slo": status.slo,
        "at": format_instant(status.at),
        **data,
    }


def budget_bar(remaining: float | None, width: int = 10) -> Text:
    if remaining is None:
        return Text("?" * width + "   n/a", style="yellow")
    filled = max(0, min(width, round(remaining * width)))
    style = "green" if remaining > 0.5 else "dark_orange" if remaining > 0 else "red"
    bar = Text("█" * filled, style=style)
    bar.append("░" * (width - filled), style="dim")
    bar.append(f" {remaining * 100:5.1f}%")
    return bar


def _sli_cell(status: SLOStatus, window: str) -> Text:
    w = status.windows.get(window)
    if w is None:
        return Text("")
    if w.sli is None:
        return Text("unknown", style="yellow")
    return Text(f"{w.sli * 100:.3f}%")


def _burn_cell(status: SLOStatus, window: str) -> Text:
    w = status.windows.get(window)
    if w is None or w.burn_rate is None:
        return Text("")
    breached = any(v.state == "breached" and window in v.windows.split("/") for v in status.alerts)
    return Text(f"{w.burn_rate:.2f}x", style="bold red" if breached else "")


def render_slo_status(statuses: list[ServiceStatus], *, source: str, as_json: bool) -> None:
    if as_json:
        print_json([slo_json(slo) for service in statuses for slo in service.slos])
        return
    console = stdout()
    for service in statuses:
        console.print(
            Text.assemble(
                (service.service, "bold"),
                "  ",
                (service.severity, SEVERITY_STYLE[service.severity]),
            )
        )
        columns = [Column("window")]
        for slo in service.slos:
            columns += [Column(f"{slo.slo} SLI", right=True), Column(f"{slo.slo} burn", right=True)]
        windows = [w for w in SHOWN_WINDOWS if any(w in s.windows for s in service.slos)]
        periods = sorted({s.period for s in service.slos} - set(windows))
        rows: list[list[Cell]] = []
        for window in (*windows, *periods):
            cells: list[Cell] = [window]
            for slo in service.slos:
                cells += [_sli_cell(slo, window), _burn_cell(slo, window)]
            rows.append(cells)
        print_table(columns, rows, console=console)
        for slo in service.slos:
            console.print(
                Text.assemble(
                    f"  {slo.slo} ({percent(slo.objective)} over {slo.period})  budget ",
                    budget_bar(slo.budget.remaining),
                    "  ",
                    (slo.severity, SEVERITY_STYLE[slo.severity]),
                    f": {slo.reason}",
                )
            )
        console.print()
    if statuses:
        console.print(f"evaluated at {format_instant(statuses[0].at)} from {source}", style="dim")


def render_broken(broken: tuple[BrokenService, ...]) -> None:
    """On stderr, one line per violation: the other services were evaluated."""
    for service in broken:
        for violation in service.violations:
            print_error(f"{service.name}: not evaluated: {violation}")
