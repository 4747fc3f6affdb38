"""`safedeploy generate ...` and `safedeploy import openslo|sloth`: parse, call one use case,
print.

Registered on the main app by `register(app)`; generators load inside each command so that
`safedeploy --help` does not pay for them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safedeploy.cli.options import (
    OutFileOption,
    ServicesOption,
    StateOption,
    context,
    state_dir,
)
from safedeploy.domain.layout import SERVICES

if TYPE_CHECKING:
    from safedeploy.generators.imports import Deployment, Imported, People


def _state(ctx: typer.Context, state: Path | None) -> Path:
    return state_dir(ctx, state)


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
    services: ServicesOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            help="Write one file per service into this folder (default: stdout).",
            file_okay=False,
        ),
    ] = None,
    state: StateOption = None,
    output: Annotated[
        str,
        typer.Option(
            "--format",
            help="prometheus (a rule file) or prometheus-operator (PrometheusRule objects).",
        ),
    ] = "prometheus",
) -> int:
    """Recording rules per SLO window and multiwindow burn-rate alerts (page and ticket)."""
    from safedeploy.generators.rules import generate_rules as run

    text, written = run(context(ctx, state), services or [], out, output)
    sys.stdout.write(text)
    _created(written)
    return 0


@generate_app.command("dashboard")
def generate_dashboard(
    ctx: typer.Context,
    out: OutFileOption = None,
    state: StateOption = None,
) -> int:
    """Grafana dashboard: budget, burn rates, canary vs stable, release decision, rollout."""
    from safedeploy.generators.dashboard import generate_dashboard as run

    text = run(context(ctx, state), out)
    if out is None:
        sys.stdout.write(text)
    else:
        _created([out])
    return 0


@generate_app.command("analysis-template")
def generate_analysis_template(
    ctx: typer.Context,
    services: ServicesOption = None,
    state: StateOption = None,
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

    sys.stdout.write(run(context(ctx, state), services or [], address))
    return 0


OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out-dir", help="Where to write <service>.yaml (default: services/).", file_okay=False
    ),
]
TargetKindOption = Annotated[str, typer.Option("--target-kind", help="rollout, helm or kustomize.")]
TargetPathOption = Annotated[
    str,
    typer.Option("--target-path", help="Manifest in the environment repo; {name} is the service."),
]
ContainerOption = Annotated[
    str | None, typer.Option("--container", help="rollout: the container to judge.")
]
ImageOption = Annotated[
    str | None, typer.Option("--image", help="kustomize: the images[].name to edit.")
]
OwnerOption = Annotated[
    str | None,
    typer.Option("--owner", help="Owner of services whose files name none (label owner/team)."),
]
ApproversOption = Annotated[
    str | None,
    typer.Option(
        "--approvers",
        help="Comma-separated approvers of services whose files name none (label approvers).",
    ),
]


def _run_import(
    ctx: typer.Context,
    importer: Callable[..., Imported],
    files: list[Path],
    out: Path | None,
    deployment: Deployment,
    people: People,
    state: Path | None,
) -> int:
    result = importer(files, out or _state(ctx, state) / SERVICES, deployment, people)
    for note in result.notes:
        typer.echo(f"note: {note}")
    _created(result.written)
    return 0


def _options(
    target: tuple[str, str, str | None, str | None], owner: str | None, approvers: str | None
) -> tuple[Deployment, People]:
    from safedeploy.generators.imports import Deployment, People

    names = tuple(a.strip() for a in (approvers or "").split(",") if a.strip())
    return Deployment(*target), People(owner=owner, approvers=names)


@import_app.command("openslo")
def import_openslo(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="OpenSLO v1 or v1alpha YAML files.", dir_okay=False)
    ],
    out: OutOption = None,
    state: StateOption = None,
    owner: OwnerOption = None,
    approvers: ApproversOption = None,
    target_kind: TargetKindOption = "rollout",
    target_path: TargetPathOption = "apps/{name}/rollout.yaml",
    container: ContainerOption = None,
    image: ImageOption = None,
) -> int:
    """OpenSLO SLOs (with their Service, SLI and DataSource documents) into services/."""
    from safedeploy.generators.openslo import import_openslo as run

    target = (target_kind, target_path, container, image)
    return _run_import(ctx, run, files, out, *_options(target, owner, approvers), state)


@import_app.command("sloth")
def import_sloth(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Sloth prometheus/v1 specs or PrometheusServiceLevel files.", dir_okay=False
        ),
    ],
    out: OutOption = None,
    state: StateOption = None,
    owner: OwnerOption = None,
    approvers: ApproversOption = None,
    target_kind: TargetKindOption = "rollout",
    target_path: TargetPathOption = "apps/{name}/rollout.yaml",
    container: ContainerOption = None,
    image: ImageOption = None,
) -> int:
    """Sloth SLOs, their labels and alerting, into services/; all or nothing."""
    from safedeploy.generators.sloth import import_sloth as run

    target = (target_kind, target_path, container, image)
    return _run_import(ctx, run, files, out, *_options(target, owner, approvers), state)


def register(app: typer.Typer) -> None:
    app.add_typer(generate_app, name="generate")
    app.add_typer(import_app, name="import")
