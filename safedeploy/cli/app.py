"""The `safedeploy` command: parse, call one use case, render. No logic lives here.

Use cases and renderers are imported inside each command so that `safedeploy --help` and
`--version` do not pay for pydantic models, httpx, GitPython or PyGithub.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from safedeploy import __version__
from safedeploy.errors import EXIT_BAD_INPUT, BadInputError, SafedeployError

app = typer.Typer(
    name="safedeploy",
    help="Reliability control plane for GitOps: SLOs, error budgets, burn rates, incidents "
    "and human-approved rollbacks through pull requests.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"safedeploy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="State directory (default: $SAFEDEPLOY_STATE or the current directory).",
            file_okay=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = state or Path(os.environ.get("SAFEDEPLOY_STATE") or ".")


def state_dir(ctx: typer.Context) -> Path:
    root = ctx.find_root().obj
    return root if isinstance(root, Path) else Path(".")


@app.command()
def validate(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Service files or folders (default: services/).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check service definitions against the structural policy."""
    from safedeploy.cli import views
    from safedeploy.usecases.catalog import validate as run

    catalog = run(state_dir(ctx), paths or [])
    views.catalog_summary(catalog, as_json=as_json)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the state directory.")] = Path(
        "."
    ),
) -> None:
    """Create a state directory with a commented safedeploy.toml and one example service."""
    from safedeploy.cli import views
    from safedeploy.usecases.catalog import init as run

    views.created(run(directory))


@app.command()
def schema(
    name: Annotated[str, typer.Argument(help="Which schema: service.")] = "service",
) -> None:
    """Print a published JSON Schema (for editors and CI)."""
    from safedeploy.schemas import read_schema

    sys.stdout.write(read_schema(name))


slo_app = typer.Typer(help="Service level objectives: SLIs, budgets, burn rates.")
app.add_typer(slo_app, name="slo")

AtOption = Annotated[
    str | None,
    typer.Option("--at", help="Evaluate at this RFC 3339 instant (default: now)."),
]


def instant(value: str | None) -> datetime:
    from safedeploy.domain.instants import parse_instant

    if value is None:
        return datetime.now(UTC)
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise BadInputError(f"--at: {exc}") from None


@slo_app.command("status")
def slo_status(
    ctx: typer.Context,
    services: Annotated[list[str] | None, typer.Argument(help="Services (default: all).")] = None,
    at: AtOption = None,
    as_json: JsonOption = False,
) -> int:
    """SLI, burn rate per window, budget left and severity of every SLO."""
    from safedeploy.cli.slo_views import render_slo_status
    from safedeploy.usecases.slo_status import slo_status as run

    report = run(state_dir(ctx), services or [], instant(at))
    render_slo_status(report.services, source=report.source, as_json=as_json)
    return report.exit_code


@app.command()
def reconcile(
    ctx: typer.Context,
    services: Annotated[
        list[str] | None, typer.Option("--service", help="Only these services (repeatable).")
    ] = None,
    at: AtOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide and print, write nothing.")
    ] = False,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for another run.")
    ] = 10.0,
    as_json: JsonOption = False,
) -> int:
    """Evaluate every service, drive incidents, emit proposals with evidence (cron job)."""
    from safedeploy.cli.progress import service_progress
    from safedeploy.cli.reconcile_views import render_reconcile
    from safedeploy.usecases.reconcile import reconcile as run

    with service_progress(enabled=not as_json) as progress:
        result = run(
            state_dir(ctx),
            instant(at),
            services or [],
            dry_run=dry_run,
            lock_timeout=lock_timeout,
            progress=progress,
        )
    render_reconcile(result, as_json=as_json)
    return result.exit_code


def main(argv: list[str] | None = None) -> None:
    """Console entry point: the one place that maps errors to exit codes."""
    from safedeploy.adapters.terminal import print_error

    try:
        result = app(args=argv, standalone_mode=False)
    except SafedeployError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print_error(line)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print_error("aborted")
        sys.exit(130)
    except TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print_error(exc.format_message())
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(result if isinstance(result, int) else 0)
