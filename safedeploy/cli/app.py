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
NoCommitOption = Annotated[
    bool,
    typer.Option("--no-commit", help="Do not commit the changed state (when it is a Git tree)."),
]
PushOption = Annotated[
    bool, typer.Option("--push", help="Push the state commit to the configured remote.")
]


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
        return datetime.now(UTC).replace(microsecond=0)
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
    no_commit: NoCommitOption = False,
    push: PushOption = False,
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
            commit=not no_commit,
            push=push,
        )
    render_reconcile(result, as_json=as_json)
    return result.exit_code


incidents_app = typer.Typer(help="Incidents: one state machine per service.")
proposals_app = typer.Typer(help="Action proposals: inert until a human approves them.")
audit_app = typer.Typer(help="The hash-chained audit log.")
app.add_typer(incidents_app, name="incidents")
app.add_typer(proposals_app, name="proposals")
app.add_typer(audit_app, name="audit")
ServiceFilter = Annotated[str | None, typer.Option("--service", help="Only this service.")]
ActiveOnly = Annotated[bool, typer.Option("--active", help="Only open ones.")]


@incidents_app.command("list")
def incidents_list(
    ctx: typer.Context,
    service: ServiceFilter = None,
    active: ActiveOnly = False,
    as_json: JsonOption = False,
) -> int:
    """List incidents."""
    from safedeploy.cli.state_views import incidents_table
    from safedeploy.usecases.state_queries import listing

    found = listing(state_dir(ctx), service, active)
    incidents_table(found.incidents, found.errors, as_json=as_json)
    return EXIT_BAD_INPUT if found.errors else 0


@incidents_app.command("show")
def incidents_show(ctx: typer.Context, incident_id: str, as_json: JsonOption = False) -> None:
    """Show one incident and its timestamped transitions."""
    from safedeploy.cli.state_views import incident_detail
    from safedeploy.usecases.state_queries import show_incident

    incident_detail(show_incident(state_dir(ctx), incident_id), as_json=as_json)


@incidents_app.command("transition")
def incidents_transition(
    ctx: typer.Context,
    incident_id: str,
    event: Annotated[str, typer.Argument(help="acknowledge|mitigate|resolve|complete-postmortem")],
    by: Annotated[str, typer.Option("--by", envvar="GITHUB_ACTOR", help="Who moves it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    at: AtOption = None,
    no_commit: NoCommitOption = False,
    push: PushOption = False,
    as_json: JsonOption = False,
) -> None:
    """Move an incident along its lifecycle (illegal edges are refused)."""
    from safedeploy.cli.state_views import incident_detail
    from safedeploy.usecases.state_queries import transition_incident

    moved = transition_incident(
        state_dir(ctx),
        incident_id,
        event,
        by=by,
        reason=reason,
        at=instant(at),
        commit=not no_commit,
        push=push,
    )
    incident_detail(moved, as_json=as_json)


@proposals_app.command("list")
def proposals_list(
    ctx: typer.Context,
    service: ServiceFilter = None,
    active: ActiveOnly = False,
    as_json: JsonOption = False,
) -> int:
    """List proposals."""
    from safedeploy.cli.state_views import proposals_table
    from safedeploy.usecases.state_queries import listing

    found = listing(state_dir(ctx), service, active)
    proposals_table(found.proposals, found.errors, as_json=as_json)
    return EXIT_BAD_INPUT if found.errors else 0


@proposals_app.command("show")
def proposals_show(ctx: typer.Context, proposal_id: str, as_json: JsonOption = False) -> None:
    """Show one proposal: the change, the rule, the approval."""
    from safedeploy.cli.state_views import proposal_detail
    from safedeploy.usecases.state_queries import show_proposal

    proposal_detail(show_proposal(state_dir(ctx), proposal_id), as_json=as_json)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: JsonOption = False) -> int:
    """Check every audit stream's hash chain; name the first edited, removed or moved line."""
    from safedeploy.cli.state_views import verify_reports
    from safedeploy.usecases.audit_replay import verify

    reports = verify(state_dir(ctx))
    verify_reports(reports, as_json=as_json)
    return 0 if all(r.ok for r in reports) else EXIT_BAD_INPUT


@app.command()
def history(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Argument(help="Only this service.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The decision commits of the state repository: time, service, what changed."""
    from safedeploy.cli.state_views import history_table
    from safedeploy.usecases.state_history import history as run

    history_table(run(state_dir(ctx), service), as_json=as_json)


@app.command()
def replay(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option("--check", help="Only compare; restore nothing.")] = False,
    as_json: JsonOption = False,
) -> int:
    """Rebuild incidents/ and action-proposals/ from the audit log."""
    from safedeploy.cli.state_views import replay_result
    from safedeploy.usecases.audit_replay import replay as run

    result = run(state_dir(ctx), check=check)
    replay_result(result, check=check, as_json=as_json)
    return result.exit_code


from safedeploy.cli import approval_commands  # noqa: E402

approval_commands.register(app)

from safedeploy.cli import generate_commands  # noqa: E402

generate_commands.register(app)

from safedeploy.cli import report_commands  # noqa: E402

report_commands.register(app)


@app.command()
def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Empty directory to run in (default: a new temp dir)."),
    ] = None,
) -> None:
    """Run the whole loop on embedded data: detect, propose, approve, report (no network)."""
    import tempfile

    from safedeploy.cli.demo_views import DemoPrinter
    from safedeploy.usecases.demo import run_demo

    target = directory or Path(tempfile.mkdtemp(prefix="safedeploy-demo-"))
    printer = DemoPrinter()
    printer.finish(run_demo(target, printer))


from safedeploy.cli import simulate_commands  # noqa: E402

simulate_commands.register(app)


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
