"""The options every command shares, and turning them into a use case's arguments.

Each command module takes its options from here and nothing from `app.py`, so a command
module imports on its own and the CLI has no import cycle. `--state` is accepted before the
subcommand (`safedeploy --state DIR report`) and after it (`safedeploy report --state DIR`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safedeploy.errors import BadInputError

if TYPE_CHECKING:
    from safedeploy.usecases.context import Context

STATE_VARIABLE = "SAFEDEPLOY_STATE"

StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help=f"State directory (default: ${STATE_VARIABLE} or the current directory).",
        file_okay=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
NoCommitOption = Annotated[
    bool,
    typer.Option("--no-commit", help="Do not commit the changed state (when it is a Git tree)."),
]
PushOption = Annotated[
    bool, typer.Option("--push", help="Push the state commit to the configured remote.")
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="Evaluate at this RFC 3339 instant (default: now)."),
]
ServicesOption = Annotated[
    list[str] | None, typer.Option("--service", help="Only these services (repeatable).")
]
ServiceFilter = Annotated[str | None, typer.Option("--service", help="Only this service.")]
ActiveOnly = Annotated[bool, typer.Option("--active", help="Only open ones.")]
ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Who decides: with GitHub the token's owner, else the signer of the state "
        'commit; needed only when approvals.identity is "declared" (default: $GITHUB_ACTOR).',
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why.")]
# `--out` is always a file; a command that writes several files takes `--out-dir`.
OutFileOption = Annotated[
    Path | None,
    typer.Option("--out", help="Write to this file instead of stdout.", dir_okay=False),
]


def state_dir(ctx: typer.Context, state: Path | None = None) -> Path:
    """The command's own `--state`, else the one before the subcommand, else the default."""
    if state is not None:
        return state
    root = ctx.find_root().obj
    if isinstance(root, Path):
        return root
    return Path(os.environ.get(STATE_VARIABLE) or ".")


def context(
    ctx: typer.Context, state: Path | None = None, *, lock_timeout: float | None = None
) -> Context:
    """The use cases' context for this command's state directory."""
    from safedeploy.usecases.context import DEFAULT_LOCK_TIMEOUT, Context

    return Context(
        state_dir(ctx, state),
        lock_timeout=DEFAULT_LOCK_TIMEOUT if lock_timeout is None else lock_timeout,
    )


def instant(value: str | None, option: str = "--at") -> datetime:
    """`value` as an aware UTC instant; now (to the second) when it is None."""
    from safedeploy.domain.instants import parse_instant

    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise BadInputError(f"{option}: {exc}") from None


def duration(value: str, option: str) -> timedelta:
    from safedeploy.domain.durations import parse_duration

    try:
        return timedelta(seconds=parse_duration(value))
    except ValueError as exc:
        raise BadInputError(f"{option}: {exc}") from None
