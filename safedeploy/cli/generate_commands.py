"""`safedeploy generate ...` and `safedeploy import openslo`: parse, call one use case, print.

Registered on the main app by `register(app)`; generators load inside each command so that
`safedeploy --help` does not pay for them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

ServicesArgument = Annotated[
    list[str] | None, typer.Argument(help="Services (default: all in services/).")
]


def _state(ctx: typer.Context) -> Path:
    from safedeploy.cli.options import state_dir

    return state_dir(ctx)


def _created(paths: list[Path]) -> None:
    from safedeploy.cli import views

    views.created(paths)


generate_app = typer.Typer(
    help="Prometheus rules, a Grafana dashboard and Argo Rollouts analysis from the catalog."
)
import_app = typer.Typer(help="Bring SLOs written for other tools into services/.")


@generate_app.command("rules")
def generate_rules(
    ctx: typer.Context,
    services: ServicesArgument = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write <service>.rules.yaml files here (default: stdout).",
            file_okay=False,
        ),
    ] = None,
) -> int:
    """Recording rules per SLO window and multiwindow burn-rate alerts (page and ticket)."""
    from safedeploy.generators.rules import generate_rules as run

    text, written = run(_state(ctx), services or [], out)
    sys.stdout.write(text)
    _created(written)
    return 0


@generate_app.command("dashboard")
def generate_dashboard(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write the dashboard JSON to this file (default: stdout).", dir_okay=False
        ),
    ] = None,
) -> int:
    """Grafana dashboard: budget, burn rates, canary vs stable, release decision, rollout."""
    from safedeploy.generators.dashboard import generate_dashboard as run

    text = run(_state(ctx), out)
    if out is None:
        sys.stdout.write(text)
    else:
        _created([out])
    return 0


@generate_app.command("analysis-template")
def generate_analysis_template(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Argument(help="One service (default: all).")] = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Prometheus address for Argo Rollouts "
            "(default: prometheus.url of safedeploy.toml).",
        ),
    ] = None,
) -> int:
    """Argo Rollouts AnalysisTemplate per service: abort a canary that burns too fast."""
    from safedeploy.generators.analysis import generate_analysis_templates as run

    sys.stdout.write(run(_state(ctx), [service] if service else [], address))
    return 0


@import_app.command("openslo")
def import_openslo(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="OpenSLO v1 YAML files.", dir_okay=False)],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Where to write <service>.yaml (default: services/).", file_okay=False
        ),
    ] = None,
    target_kind: Annotated[
        str, typer.Option("--target-kind", help="rollout, helm or kustomize.")
    ] = "rollout",
    target_path: Annotated[
        str,
        typer.Option(
            "--target-path", help="Manifest in the environment repo; {name} is the service."
        ),
    ] = "apps/{name}/rollout.yaml",
    container: Annotated[
        str | None, typer.Option("--container", help="rollout: the container to judge.")
    ] = None,
    image: Annotated[
        str | None, typer.Option("--image", help="kustomize: the images[].name to edit.")
    ] = None,
) -> int:
    """OpenSLO v1 Service, SLI and SLO objects into services/<name>.yaml; all or nothing."""
    from safedeploy.generators.openslo import Deployment
    from safedeploy.generators.openslo import import_openslo as run

    deployment = Deployment(
        target_kind=target_kind, target_path=target_path, container=container, image=image
    )
    _created(run(files, out or _state(ctx) / "services", deployment))
    return 0


def register(app: typer.Typer) -> None:
    app.add_typer(generate_app, name="generate")
    app.add_typer(import_app, name="import")
