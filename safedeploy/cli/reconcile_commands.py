"""`reconcile`: the cron job. Evaluate every service, drive incidents, emit proposals."""

from __future__ import annotations

from typing import Annotated

import typer

from safedeploy.cli.options import (
    AtOption,
    JsonOption,
    NoCommitOption,
    PushOption,
    ServicesOption,
    StateOption,
    context,
    instant,
)


def reconcile(
    ctx: typer.Context,
    services: ServicesOption = None,
    at: AtOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide and print, write nothing.")
    ] = False,
    backfill: Annotated[
        bool,
        typer.Option(
            "--backfill",
            help="At an --at before the last run's: record what it measured in the audit "
            "log, change nothing else (without it, such a run is a dry run).",
        ),
    ] = False,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for another run.")
    ] = 10.0,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="I/N: decide only the services in shard I of N (0-based, by a stable "
            "hash of the name); each shard writes only their state.",
        ),
    ] = None,
    no_commit: NoCommitOption = False,
    push: PushOption = False,
    as_json: JsonOption = False,
    state: StateOption = None,
) -> int:
    """Evaluate every service, drive incidents, emit proposals with evidence (cron job)."""
    from safedeploy.cli.progress import service_progress
    from safedeploy.cli.reconcile_views import render_reconcile
    from safedeploy.domain.shards import WHOLE, parse_shard
    from safedeploy.usecases.reconcile import reconcile as run

    with service_progress(enabled=not as_json) as progress:
        result = run(
            context(ctx, state, lock_timeout=lock_timeout),
            instant(at),
            services or [],
            dry_run=dry_run,
            backfill=backfill,
            progress=progress,
            commit=not no_commit,
            push=push,
            shard=WHOLE if shard is None else parse_shard(shard),
        )
    render_reconcile(result, as_json=as_json)
    return result.exit_code


def register(app: typer.Typer) -> None:
    app.command()(reconcile)
