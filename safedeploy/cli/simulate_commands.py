"""`simulate`: replay the decision engine over recorded history and score it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safedeploy.cli.options import (
    JsonOption,
    ServicesOption,
    StateOption,
    context,
    duration,
    instant,
)


def simulate(
    ctx: typer.Context,
    metrics: Annotated[
        Path, typer.Option("--metrics", help="Recorded history: an OpenMetrics file.")
    ],
    start: Annotated[str, typer.Option("--from", help="First instant (RFC 3339).")],
    end: Annotated[str, typer.Option("--to", help="Last instant (RFC 3339).")],
    step: Annotated[str, typer.Option("--step", help="Time between evaluations.")] = "1m",
    incidents: Annotated[
        Path | None,
        typer.Option(
            "--incidents",
            help="Labelled incident windows, YAML or JSON: [{service, start, end, note}].",
        ),
    ] = None,
    services: ServicesOption = None,
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """Replay decisions over recorded metrics: when incidents would open, escalate and
    resolve; detection times, false positives and misses against labelled windows.
    Writes nothing."""
    from safedeploy.cli.progress import replay_progress
    from safedeploy.cli.simulate_views import render_simulation
    from safedeploy.usecases.simulate import simulate as run

    with replay_progress(enabled=not as_json) as progress:
        result = run(
            context(ctx, state),
            metrics,
            start=instant(start, "--from"),
            end=instant(end, "--to"),
            step=duration(step, "--step"),
            labels=incidents,
            names=services or [],
            progress=progress,
        )
    render_simulation(result, as_json=as_json)
    return result.exit_code


def register(app: typer.Typer) -> None:
    app.command()(simulate)
