"""`simulate`: replay the decision engine over recorded history and score it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from safedeploy.cli.app import JsonOption, state_dir
from safedeploy.errors import BadInputError

if TYPE_CHECKING:
    from safedeploy.domain.simulation import ServiceScore, SimulatedIncident
    from safedeploy.usecases.simulate import Progress, SimulationResult


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
    services: Annotated[
        list[str] | None, typer.Option("--service", help="Only these services (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> int:
    """Replay decisions over recorded metrics: when incidents would open, escalate and
    resolve; detection times, false positives and misses against labelled windows.
    Writes nothing."""
    from safedeploy.usecases.simulate import simulate as run

    with _progress(enabled=not as_json) as progress:
        result = run(
            state_dir(ctx),
            metrics,
            start=_instant("--from", start),
            end=_instant("--to", end),
            step=_step(step),
            labels=incidents,
            names=services or [],
            progress=progress,
        )
    if as_json:
        from safedeploy.adapters.terminal import print_json

        print_json(result_json(result))
    else:
        render(result)
    return 0


def register(app: typer.Typer) -> None:
    app.command()(simulate)


def _instant(option: str, value: str) -> datetime:
    from safedeploy.domain.instants import parse_instant

    try:
        return parse_instant(value)
    except ValueError as exc:
        raise BadInputError(f"{option}: {exc}") from None


def _step(value: str) -> timedelta:
    from safedeploy.domain.durations import parse_duration

    try:
        return timedelta(seconds=parse_duration(value))
    except ValueError as exc:
        raise BadInputError(f"--step: {exc}") from None


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Progress | None]:
    """A bar on a terminal for long replays; nothing in logs or pipes."""
    from safedeploy.adapters.terminal import stderr

    console = stderr()
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("replaying", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def result_json(result: SimulationResult) -> dict[str, Any]:
    from safedeploy.domain.durations import format_duration
    from safedeploy.domain.instants import format_instant as t

    return {
        "from": t(result.start),
        "to": t(result.end),
        "step": format_duration(int(result.step.total_seconds())),
        "steps": result.steps,
        "source": result.source,
        "resolution": "mitigated at once; resolved after policy.stable_period of normal SLOs",
        "services": [_service_json(s) for s in result.services],
    }


def _service_json(found: ServiceScore) -> dict[str, Any]:
    from safedeploy.domain.instants import format_instant as t

    def maybe(value: Any) -> str | None:
        return None if value is None else t(value)

    return {
        "service": found.service,
        "incidents": [
            {
                "id": i.id,
                "opened_at": t(i.opened_at),
                "severity": i.severity,
                "reason": i.reason,
                "escalations": [{"at": t(e.at), "severity": e.severity} for e in i.escalations],
                "rollback_proposed_at": maybe(i.rollback_proposed_at),
                "resolved_at": maybe(i.resolved_at),
            }
            for i in found.incidents
        ],
        "windows": [
            {
                "start": t(d.window.start),
                "end": t(d.window.end),
                "note": d.window.note,
                "outcome": d.outcome,
                "incident": d.incident,
                "detection_seconds": d.seconds,
            }
            for d in found.windows
        ],
        "detection_seconds": list(found.detection_seconds),
        "false_positives": list(found.false_positives),
        "misses": len(found.misses),
    }


def render(result: SimulationResult) -> None:
    from rich.table import Table

    from safedeploy.adapters.terminal import stdout
    from safedeploy.domain.durations import format_duration
    from safedeploy.domain.instants import format_instant as t

    console = stdout()
    console.print(
        f"Replayed {result.steps} steps of {format_duration(int(result.step.total_seconds()))} "
        f"from {t(result.start)} to {t(result.end)} over {result.source} "
        f"in {result.elapsed:.1f} s. Incidents count as mitigated at once and resolve after "
        "policy.stable_period of normal SLOs.",
        markup=False,
    )
    for found in result.services:
        console.print()
        console.print(found.service, style="bold", markup=False)
        for line in _timeline(found):
            console.print(f"  {line}", markup=False)
    table = Table(title="Summary")
    for column in ("service", "incidents", "detected", "detection", "false positives", "misses"):
        table.add_column(column)
    for found in result.services:
        detected = sum(1 for d in found.windows if d.outcome == "detected")
        scored = sum(1 for d in found.windows if d.outcome != "out-of-range")
        table.add_row(
            found.service,
            str(len(found.incidents)),
            f"{detected}/{scored}",
            ", ".join(_duration(s) for s in found.detection_seconds) or "-",
            str(len(found.false_positives)),
            str(len(found.misses)),
        )
    console.print()
    console.print(table)


def _timeline(found: ServiceScore) -> Iterator[str]:
    from safedeploy.domain.instants import format_instant as t

    if not found.incidents:
        yield "no incident"
    for incident in found.incidents:
        yield from _incident_lines(incident)
    for d in found.windows:
        note = f" ({d.window.note})" if d.window.note else ""
        span = f"window {t(d.window.start)} .. {t(d.window.end)}{note}"
        if d.outcome == "detected" and d.seconds is not None:
            yield f"{span}: detected by {d.incident} after {_duration(d.seconds)}"
        else:
            yield f"{span}: {d.outcome}"
    if found.false_positives:
        yield f"false positives: {', '.join(found.false_positives)}"


def _incident_lines(incident: SimulatedIncident) -> Iterator[str]:
    from safedeploy.domain.instants import format_instant as t

    yield f"{incident.id}: opened {t(incident.opened_at)} {incident.severity}: {incident.reason}"
    for escalation in incident.escalations:
        yield f"    escalated {t(escalation.at)} to {escalation.severity}"
    if incident.rollback_proposed_at is not None:
        yield f"    rollback proposed {t(incident.rollback_proposed_at)}"
    resolved = t(incident.resolved_at) if incident.resolved_at else "not before the end"
    yield f"    resolved {resolved}"


def _duration(seconds: float) -> str:
    from safedeploy.domain.durations import format_duration

    return format_duration(int(seconds))
