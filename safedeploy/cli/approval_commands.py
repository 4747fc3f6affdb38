"""`safedeploy approve` and `safedeploy reject`: a human decides on one proposal."""

from __future__ import annotations

from typing import Annotated

import typer

from safedeploy.cli.options import (
    ByOption,
    JsonOption,
    NoCommitOption,
    PushOption,
    StateOption,
    context,
    instant,
)

ProposalArgument = Annotated[
    str, typer.Argument(metavar="PROPOSAL_ID", help="The proposal id (action-proposals/<id>.json).")
]


def approve(
    ctx: typer.Context,
    proposal: ProposalArgument,
    by: ByOption = None,
    no_commit: NoCommitOption = False,
    push: PushOption = False,
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """Approve a proposal: push its branch to the environment repo and open the pull request."""
    from safedeploy.cli.approval_views import render_approval
    from safedeploy.usecases.approval import approve as run

    result = run(context(ctx, state), proposal, by, instant(None), commit=not no_commit, push=push)
    render_approval(result, as_json=as_json)
    return result.exit_code


def reject(
    ctx: typer.Context,
    proposal: ProposalArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why the proposal is closed.")],
    by: ByOption = None,
    no_commit: NoCommitOption = False,
    push: PushOption = False,
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """Close a proposal without changing anything in the environment repo."""
    from safedeploy.cli.approval_views import render_rejection
    from safedeploy.usecases.approval import reject as run

    result = run(
        context(ctx, state),
        proposal,
        by,
        instant(None),
        reason=reason,
        commit=not no_commit,
        push=push,
    )
    render_rejection(result, as_json=as_json)
    return result.exit_code


def register(app: typer.Typer) -> None:
    app.command("approve")(approve)
    app.command("reject")(reject)
