"""Prints the demo's steps as they happen, with the views the real commands use."""

from __future__ import annotations

import time
from pathlib import Path

from rich.markdown import Markdown
from rich.rule import Rule
from rich.syntax import Syntax

from safedeploy.cli.reconcile_views import render_reconcile
from safedeploy.cli.report_views import print_report
from safedeploy.cli.state_views import proposals_table
from safedeploy.cli.terminal import stdout
from safedeploy.cli.views import catalog_summary
from safedeploy.domain.catalog import Catalog
from safedeploy.usecases.demo import Step
from safedeploy.usecases.reconcile import ReconcileResult
from safedeploy.usecases.report import Report


class DemoPrinter:
    def __init__(self) -> None:
        self.console = stdout()
        self.started = time.perf_counter()

    def __call__(self, step: Step) -> None:
        console = self.console
        console.print()
        self._heading(f"[bold]Step {step.number}[/bold]  {step.title}")
        if step.why:
            console.print(step.why, style="italic")
        payload = step.payload
        if isinstance(payload, Catalog):
            catalog_summary(payload, as_json=False)
        elif isinstance(payload, ReconcileResult):
            render_reconcile(payload, as_json=False)
        elif isinstance(payload, str):
            self._block(Markdown(payload), payload)
        elif isinstance(payload, tuple) and isinstance(payload[0], Report):
            where, found = payload
            print_report(where)
            proposals_table(found.proposals, found.errors, as_json=False)
        elif isinstance(payload, tuple):
            approval, diff = payload
            console.print(f"proposal {approval.proposal.id}: {approval.proposal.status}")
            if approval.proposal.approval is not None:
                console.print(
                    f"branch {approval.proposal.approval.branch} pushed to {approval.remote}"
                )
            console.print(f"incident {approval.incident.id}: {approval.incident.state}")
            if diff:
                self._block(Syntax(diff, "diff", word_wrap=True), diff)

    def _heading(self, title: str) -> None:
        if self.console.is_terminal:
            self.console.print(Rule(title, align="left"))
        else:
            self.console.print(f"── {title} ──")

    def _block(self, rich: Markdown | Syntax, text: str) -> None:
        # Off a terminal the console is unwrapped: a rule, a Markdown block or a diff would
        # be padded to a million columns, while the text itself already reads as it is.
        if self.console.is_terminal:
            self.console.print(rich)
        else:
            self.console.print(text, markup=False, highlight=False)

    def finish(self, directory: Path) -> None:
        elapsed = time.perf_counter() - self.started
        self.console.print()
        self._heading(f"done in {elapsed:.1f} s; the state directory is {directory}")
        self.console.print(
            f"Look around: safedeploy --state {directory} report | explain <id> | "
            f"incidents list | proposals list | audit verify | replay --check",
            soft_wrap=True,
        )
