"""`safedeploy validate --live`: every selector of every SLO asked of the configured
metrics source, over its SLO period.

A structurally valid service file can still measure nothing: a metric or label name
misspelt matches no series, and errors that match nothing read as none. Each selector is
asked once (batched like a reconcile's queries); one that matched nothing is looked into
as reconcile does (`domain/empty_selectors.py`): a typo is a problem (exit 2), an errors
selector that simply never matched is a note, a source that could not answer leaves the
check undone (exit 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from safedeploy.adapters.catalog_files import field_line, service_files
from safedeploy.domain.catalog import Catalog
from safedeploy.domain.empty_selectors import (
    SelectorUse,
    lookbacks,
    selector_uses,
    suspects,
    typo,
    unmatched,
)
from safedeploy.domain.layout import SERVICES
from safedeploy.domain.measurements import IncreaseQuery, LabelNames, Measurement
from safedeploy.errors import EXIT_BAD_INPUT, EXIT_CANNOT_DECIDE, EXIT_OK, BadInputError
from safedeploy.ports import MetricsSource, SLOCountsSource
from safedeploy.usecases.context import Context

Level = Literal["problem", "note", "unchecked"]


@dataclass(frozen=True)
class Finding:
    where: str  # file:line
    field: str  # spec.slos[0].sli.errors
    level: Level
    message: str


@dataclass(frozen=True)
class LiveCheck:
    catalog: Catalog
    source: str
    at: datetime
    selectors: int
    findings: tuple[Finding, ...]

    @property
    def exit_code(self) -> int:
        levels = {f.level for f in self.findings}
        if "problem" in levels:
            return EXIT_BAD_INPUT
        return EXIT_CANNOT_DECIDE if "unchecked" in levels else EXIT_OK


def validate_live(ctx: Context, paths: Sequence[Path], at: datetime) -> LiveCheck:
    """The catalog at `paths` (default `<state>/services`) validated, then every selector
    of it asked of the context's source at `at`."""
    from safedeploy.usecases.catalog import validate

    catalog = validate(ctx, paths)
    return _check(ctx, catalog, paths or [ctx.state / SERVICES], at)


def _check(ctx: Context, catalog: Catalog, paths: Sequence[Path], at: datetime) -> LiveCheck:
    source = ctx.source
    if isinstance(source, SLOCountsSource):
        raise BadInputError(
            'validate --live: prometheus.read = "recorded" reads recording rules, not the '
            "service files' selectors; check them with the raw source"
        )
    files = {file.stem: file for file in service_files(paths)}
    uses = [
        (service.name, index, use)
        for service in catalog.services
        for index, slo in enumerate(service.spec.slos)
        for use in selector_uses(slo)
    ]
    results, labels = _asked(source, [use.query for _, _, use in uses], at)
    findings: list[Finding] = []
    for name, index, use in uses:
        level_message = _judged(use, results[use.query], labels, at)
        if level_message is not None:
            path: tuple[str | int, ...] = ("spec", "slos", index, *use.field.split("."))
            where = field_line(files[name], path) if name in files else name
            field = f"spec.slos[{index}].{use.field}"
            findings.append(Finding(where, field, *level_message))
    return LiveCheck(catalog, source.description, at, len(uses), tuple(findings))


def _asked(
    source: MetricsSource, queries: list[IncreaseQuery], at: datetime
) -> tuple[dict[IncreaseQuery, Measurement], dict[str, LabelNames]]:
    results = dict(source.increases(queries, at))
    suspected = suspects(results)
    labels = dict(source.label_names(lookbacks(suspected), at)) if suspected else {}
    return results, labels


def _judged(
    use: SelectorUse,
    measured: Measurement,
    labels: dict[str, LabelNames],
    at: datetime,
) -> tuple[Level, str] | None:
    if measured.status == "ok":
        return None
    if measured.status != "empty":
        return "unchecked", measured.reason or "no answer"
    selector = use.query.selector
    found = labels.get(selector.metric, LabelNames(failure="not asked"))
    if found.failure is not None:
        return "unchecked", f"{selector.render()} matched nothing; its labels: {found.failure}"
    problem = typo(selector, found.names, use.query.window, at)
    if problem is not None:
        return "problem", problem
    return unmatched(use, at)
