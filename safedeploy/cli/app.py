"""The `safedeploy` command: the root options, the command modules, the error handler.

Each command module parses its options, calls one use case and renders the result; this
module only puts them together and maps errors to exit codes. Use cases and renderers are
imported inside each command so that `safedeploy --help` and `--version` do not pay for
pydantic models, httpx, GitPython or PyGithub.
"""

from __future__ import annotations

import gc
import itertools
import sys
from typing import Annotated, NoReturn

import typer
from typer.exceptions import TyperException

from safedeploy import __version__
from safedeploy.cli import (
    approval_commands,
    catalog_commands,
    demo_commands,
    generate_commands,
    reconcile_commands,
    report_commands,
    simulate_commands,
    slo_commands,
    state_commands,
)
from safedeploy.cli.options import StateOption, state_dir
from safedeploy.domain.urls import redact
from safedeploy.errors import EXIT_BAD_INPUT, SafedeployError, disk_fault

# Allocations between two young collections (the default is 700).
GC_THRESHOLD = 100_000

app = typer.Typer(
    name="safedeploy",
    help="Reliability control plane for GitOps: SLOs, error budgets, burn rates, incidents "
    "and human-approved rollbacks through pull requests.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"safedeploy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    state: StateOption = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = state_dir(ctx, state)


# The order of `safedeploy --help`: the catalog, the loop, people's decisions, the outputs.
for module in (
    catalog_commands,
    slo_commands,
    reconcile_commands,
    state_commands,
    approval_commands,
    generate_commands,
    report_commands,
    demo_commands,
    simulate_commands,
):
    module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: the one place that maps errors to exit codes.

    An error is one line per line of its message on stderr; a command asked for JSON
    (`--json`, `--format json`) also prints `{"error": ..., "exit": N}` on stdout, so a
    script reading stdout is never left with nothing.
    """
    from safedeploy.cli.terminal import print_error, print_json

    # A run builds hundreds of thousands of small objects that reference counting frees;
    # at the default threshold the cycle collector's passes over them cost more than the
    # work (docs/scaling.md).
    gc.set_threshold(GC_THRESHOLD, 50, 100)
    args = sys.argv[1:] if argv is None else argv
    try:
        result = app(args=args, standalone_mode=False)
    except SafedeployError as exc:
        _fail(exc, args)
    except OSError as exc:
        # A full or read-only disk wherever it surfaces: one line and exit 3, no traceback.
        fault = disk_fault(exc)
        if fault is None:
            raise
        _fail(fault, args)
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
        if wants_json(args):
            print_json({"error": " ".join(exc.format_message().split()), "exit": EXIT_BAD_INPUT})
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(result if isinstance(result, int) else 0)


def _fail(exc: SafedeployError, args: list[str]) -> NoReturn:
    from safedeploy.cli.terminal import print_error, print_json

    # The last boundary before the terminal: no URL leaves with its credentials.
    lines = [redact(line) for line in str(exc).splitlines()] or [type(exc).__name__]
    for line in lines:
        print_error(line)
    if wants_json(args):
        print_json({"error": "\n".join(lines), "exit": exc.exit_code})
    sys.exit(exc.exit_code)


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for machine-readable output."""
    if "--" in args:
        args = args[: args.index("--")]
    if "--json" in args or "--format=json" in args:
        return True
    return any(a == "--format" and b == "json" for a, b in itertools.pairwise(args))
