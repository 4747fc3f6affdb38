"""Renders a simulation: a timeline per service and a summary table, or JSON."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from safedeploy.cli.tables import Cell, Column, print_table
from safedeploy.cli.terminal import print_json, stdout
from safedeploy.domain.durations import format_duration
from safedeploy.domain.instants import format_instant as t
from safedeploy.domain.simulation import ServiceScore, SimulatedIncident
from safedeploy.usecases.simulate import SimulationResult


def render_simulation(result: SimulationResult, *, as_json: bool) -> None:
    if as_json:
        print_json(result_json(result))
    else:
        render(result)


def result_json(result: SimulationResult) -> dict[str, Any]:
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
    columns = [Column("service"), Column("incidents", right=True), Column("detected", right=True)]
    columns += [Column("detection"), Column("false positives", right=True)]
    columns += [Column("misses", right=True)]
    rows: list[list[Cell]] = []
    for found in result.services:
        detected = sum(1 for d in found.windows if d.outcome == "detected")
        scored = sum(1 for d in found.windows if d.outcome != "out-of-range")
        rows.append(
            [
                found.service,
                str(len(found.incidents)),
                f"{detected}/{scored}",
                tuple(_duration(s) for s in found.detection_seconds),
                str(len(found.false_positives)),
                str(len(found.misses)),
            ]
        )
    console.print()
    print_table(columns, rows, title="Summary", console=console)


def _timeline(found: ServiceScore) -> Iterator[str]:
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
    yield f"{incident.id}: opened {t(incident.opened_at)} {incident.severity}: {incident.reason}"
    for escalation in incident.escalations:
        yield f"    escalated {t(escalation.at)} to {escalation.severity}"
    if incident.rollback_proposed_at is not None:
        yield f"    rollback proposed {t(incident.rollback_proposed_at)}"
    resolved = t(incident.resolved_at) if incident.resolved_at else "not before the end"
    yield f"    resolved {resolved}"


def _duration(seconds: float) -> str:
    return format_duration(int(seconds))
