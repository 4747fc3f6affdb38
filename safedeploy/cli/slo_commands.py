"""`slo status`: SLI, burn rate per window, budget left and severity of every SLO."""

from __future__ import annotations

import typer

from safedeploy.cli.options import (
    AtOption,
    JsonOption,
    ServicesOption,
    StateOption,
    context,
    instant,
)

slo_app = typer.Typer(help="Service level objectives: SLIs, budgets, burn rates.")


@slo_app.command("status")
def slo_status(
    ctx: typer.Context,
    services: ServicesOption = None,
    at: AtOption = None,
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """SLI, burn rate per window, budget left and severity of every SLO."""
    from safedeploy.cli.slo_views import render_broken, render_slo_status
    from safedeploy.usecases.slo_status import slo_status as run

    report = run(context(ctx, state), services or [], instant(at))
    render_slo_status(report.services, source=report.source, as_json=as_json)
    render_broken(report.broken)
    return report.exit_code


def register(app: typer.Typer) -> None:
    app.add_typer(slo_app, name="slo")
