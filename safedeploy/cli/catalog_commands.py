"""`validate`, `init` and `schema`: the service catalog and a new state directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from safedeploy.cli.options import AtOption, JsonOption, StateOption, context, instant
from safedeploy.errors import BadInputError


def validate(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Service files or folders (default: services/).")
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live", help="Also ask the metrics source whether every selector matches series."
        ),
    ] = False,
    at: AtOption = None,
    as_json: JsonOption = False,
    state: StateOption = None,
    env_repo: Annotated[
        bool,
        typer.Option(
            "--env-repo",
            help="Also check every service's target file in its environment repo, now.",
        ),
    ] = False,
) -> int:
    """Check service definitions against the structural policy (or the live source, or the
    environment repo)."""
    from safedeploy.cli import views

    if live and env_repo:
        raise BadInputError("validate: --live and --env-repo are checked one at a time")
    if env_repo:
        from safedeploy.usecases.targets import validate_targets

        checked = validate_targets(context(ctx, state), paths or [])
        views.target_checks(checked, as_json=as_json)
        return checked.exit_code
    if live:
        from safedeploy.usecases.live_check import validate_live

        checked_live = validate_live(context(ctx, state), paths or [], instant(at))
        views.live_check(checked_live, as_json=as_json)
        return checked_live.exit_code
    from safedeploy.usecases.catalog import validate as run

    views.catalog_summary(run(context(ctx, state), paths or []), as_json=as_json)
    return 0


def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the state directory.")] = Path(
        "."
    ),
) -> int:
    """Create a state directory with a commented safedeploy.toml and one example service."""
    from safedeploy.cli import views
    from safedeploy.usecases.catalog import init as run

    views.created(run(directory))
    return 0


def schema(
    name: Annotated[str, typer.Argument(help="Which schema: service.")] = "service",
) -> int:
    """Print a published JSON Schema (for editors and CI)."""
    from safedeploy.schemas import read_schema

    sys.stdout.write(read_schema(name))
    return 0


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(init)
    app.command()(schema)
