"""`safedeploy approve` and `safedeploy reject`: a human decides on one proposal."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from safedeploy.cli.app import JsonOption, NoCommitOption, PushOption, state_dir

ProposalArgument = Annotated[
    str, typer.Argument(metavar="PROPOSAL_ID", help="The proposal id (action-proposals/<id>.json).")
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who decides (default: $GITHUB_ACTOR); must be an approver."),
]


def approve(
    ctx: typer.Context,
    proposal: ProposalArgument,
    by: ByOption = None,
    no_commit: NoCommitOption = False,
    push: PushOption = False,
    as_json: JsonOption = False,
) -> int:
    """Approve a proposal: push its branch to the environment repo and open the pull request."""
    import os
    from datetime import UTC, datetime

    from safedeploy.adapters.terminal import print_json, stdout
    from safedeploy.usecases.approval import approve as run

    result = run(
        state_dir(ctx),
        proposal,
        by,
        datetime.now(UTC).replace(microsecond=0),
        os.environ,
        commit=not no_commit,
        push=push,
    )
    if as_json:
        print_json(result.as_json())
    else:
        console = stdout()
        for line in _approval_lines(result.as_json(), already=result.already_approved):
            console.print(line, markup=False)
    return 0


def _approval_lines(data: dict[str, Any], *, already: bool) -> list[str]:
    first = f"{data['proposal']}: approved by {data['by']}"
    lines = [f"{first} at {data['at']} already; nothing changed" if already else first]
    lines.append(f"branch {data['branch']}" + (f" on {data['remote']}" if data["remote"] else ""))
    if data["pr_url"]:
        lines.append(f"pull request {data['pr_url']}")
    elif not already:
        lines.append("no pull request (github.provider is git): open one from this branch")
    lines.append(f"incident {data['incident']}: {data['incident_state']}")
    return lines


def reject(
    ctx: typer.Context,
    proposal: ProposalArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why the proposal is closed.")],
    by: ByOption = None,
    no_commit: NoCommitOption = False,
    push: PushOption = False,
    as_json: JsonOption = False,
) -> int:
    """Close a proposal without changing anything in the environment repo."""
    import os
    from datetime import UTC, datetime

    from safedeploy.adapters.terminal import print_json, stdout
    from safedeploy.usecases.approval import reject as run

    result = run(
        state_dir(ctx),
        proposal,
        by,
        datetime.now(UTC).replace(microsecond=0),
        os.environ,
        reason=reason,
        commit=not no_commit,
        push=push,
    )
    data = result.as_json()
    if as_json:
        print_json(data)
    else:
        done = "was already rejected" if result.already_rejected else "rejected"
        stdout().print(
            f"{data['proposal']}: {done} by {data['by']}: {data['reason']}", markup=False
        )
    return 0


def register(app: typer.Typer) -> None:
    app.command("approve")(approve)
    app.command("reject")(reject)
