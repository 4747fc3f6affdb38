"""Incidents, proposals, the audit log and the state history: list, show, move, verify."""

from __future__ import annotations

from typing import Annotated

import typer

from safedeploy.cli.options import (
    ActiveOnly,
    AtOption,
    ByOption,
    JsonOption,
    NoCommitOption,
    PushOption,
    ReasonOption,
    ServiceFilter,
    StateOption,
    context,
    instant,
)

incidents_app = typer.Typer(help="Incidents: one state machine per service.")
proposals_app = typer.Typer(help="Action proposals: inert until a human approves them.")
audit_app = typer.Typer(help="The hash-chained audit log.")


@incidents_app.command("list")
def incidents_list(
    ctx: typer.Context,
    service: ServiceFilter = None,
    active: ActiveOnly = False,
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """List incidents."""
    from safedeploy.cli.state_views import incidents_table
    from safedeploy.usecases.state_queries import listing

    found = listing(context(ctx, state), service, active)
    incidents_table(found.incidents, found.errors, as_json=as_json)
    return found.exit_code


@incidents_app.command("show")
def incidents_show(
    ctx: typer.Context, incident_id: str, as_json: JsonOption = False, state: StateOption = None
) -> int:
    """Show one incident and its timestamped transitions."""
    from safedeploy.cli.state_views import incident_detail
    from safedeploy.usecases.state_queries import show_incident

    incident_detail(show_incident(context(ctx, state), incident_id), as_json=as_json)
    return 0


@incidents_app.command("transition")
def incidents_transition(
    ctx: typer.Context,
    incident_id: str,
    event: Annotated[str, typer.Argument(help="acknowledge|mitigate|resolve|complete-postmortem")],
    reason: ReasonOption,
    by: ByOption = None,
    at: AtOption = None,
    no_commit: NoCommitOption = False,
    push: PushOption = False,
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """Move an incident along its lifecycle (illegal edges are refused)."""
    from safedeploy.cli.state_views import incident_detail
    from safedeploy.usecases.state_queries import transition_incident

    moved = transition_incident(
        context(ctx, state),
        incident_id,
        event,
        by=by,
        reason=reason,
        at=instant(at),
        commit=not no_commit,
        push=push,
    )
    incident_detail(moved, as_json=as_json)
    return 0


@proposals_app.command("list")
def proposals_list(
    ctx: typer.Context,
    service: ServiceFilter = None,
    active: ActiveOnly = False,
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """List proposals."""
    from safedeploy.cli.state_views import proposals_table
    from safedeploy.usecases.state_queries import listing

    found = listing(context(ctx, state), service, active)
    proposals_table(found.proposals, found.errors, as_json=as_json)
    return found.exit_code


@proposals_app.command("show")
def proposals_show(
    ctx: typer.Context, proposal_id: str, as_json: JsonOption = False, state: StateOption = None
) -> int:
    """Show one proposal: the change, the rule, the approval."""
    from safedeploy.cli.state_views import proposal_detail
    from safedeploy.usecases.state_queries import show_proposal

    proposal_detail(show_proposal(context(ctx, state), proposal_id), as_json=as_json)
    return 0


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: JsonOption = False, state: StateOption = None) -> int:
    """Check every audit stream's hash chain; name the first edited, removed or moved line."""
    from safedeploy.cli.state_views import verify_reports
    from safedeploy.usecases.audit_replay import verify

    result = verify(context(ctx, state))
    verify_reports(result, as_json=as_json)
    return result.exit_code


def history(
    ctx: typer.Context,
    service: ServiceFilter = None,
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """The decision commits of the state repository: time, service, what changed."""
    from safedeploy.cli.state_views import history_table
    from safedeploy.usecases.state_history import history as run

    found = run(context(ctx, state), service)
    history_table(found, as_json=as_json)
    return found.exit_code


def replay(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option("--check", help="Only compare; restore nothing.")] = False,
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """Rebuild incidents/ and action-proposals/ from the audit log."""
    from safedeploy.cli.state_views import replay_result
    from safedeploy.usecases.audit_replay import replay as run

    result = run(context(ctx, state), check=check)
    replay_result(result, check=check, as_json=as_json)
    return result.exit_code


def register(app: typer.Typer) -> None:
    app.add_typer(incidents_app, name="incidents")
    app.add_typer(proposals_app, name="proposals")
    app.add_typer(audit_app, name="audit")
    app.command()(history)
    app.command()(replay)
