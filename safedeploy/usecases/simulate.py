"""`safedeploy simulate`: the decision engine replayed over recorded history, in memory.

Reads the catalog in `services/` and one OpenMetrics file, evaluates every service at each
step, feeds the statuses through `decide` as reconcile would, and scores the incidents it
would have opened against labelled windows. Nothing is written anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from safedeploy.domain.simulation import (
    LabelledWindow,
    ServiceReplay,
    ServiceScore,
    instants,
    replay_step,
    score,
)
from safedeploy.errors import EXIT_OK, BadInputError
from safedeploy.usecases.context import Context

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SimulationResult:
    start: datetime
    end: datetime
    step: timedelta
    source: str
    steps: int
    services: tuple[ServiceScore, ...]
    elapsed: float

    @property
    def exit_code(self) -> int:
        return EXIT_OK


def simulate(
    ctx: Context,
    metrics: Path,
    *,
    start: datetime,
    end: datetime,
    step: timedelta,
    labels: Path | None,
    names: list[str],
    progress: Progress | None = None,
) -> SimulationResult:
    from safedeploy.adapters.embedded_source import EmbeddedSource
    from safedeploy.domain.catalog import select
    from safedeploy.usecases.slo_status import evaluate_services

    if end <= start:
        raise BadInputError(f"--to {end.isoformat()} must be after --from {start.isoformat()}")
    if not metrics.is_file():
        raise BadInputError(f"{metrics}: no such metrics file")
    catalog = ctx.catalog
    services = select(catalog, names)
    windows = load_labels(labels, set(catalog.names)) if labels else ()
    began = time.perf_counter()
    source = EmbeddedSource.from_file(metrics)
    replays = {s.name: ServiceReplay.start(s.name) for s in services}
    steps = instants(start, end, step)
    for done, at in enumerate(steps, start=1):
        for service, status in zip(services, evaluate_services(services, source, at), strict=True):
            replays[service.name] = replay_step(service, status, replays[service.name])
        if progress is not None:
            progress(done, len(steps))
    scores = tuple(
        score(s.name, replays[s.name].history, windows, start=start, end=end) for s in services
    )
    return SimulationResult(
        start=start,
        end=end,
        step=step,
        source=source.description,
        steps=len(steps),
        services=scores,
        elapsed=time.perf_counter() - began,
    )


_WINDOWS = TypeAdapter(list[LabelledWindow])


def load_labels(path: Path, known: set[str]) -> tuple[LabelledWindow, ...]:
    """Labelled windows from YAML or JSON: `[{service, start, end, note}]`.

    A service missing from the catalog (`known`) is refused: its windows could never be
    scored, and it is most likely a typo.
    """
    data = _read_document(path)
    try:
        windows = _WINDOWS.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise BadInputError(f"{path}: {where or '(document)'}: {first['msg']}") from None
    for index, window in enumerate(windows):
        if window.service not in known:
            raise BadInputError(
                f"{path}: [{index}].service: unknown service {window.service!r}; see services/"
            )
    return tuple(windows)


def _read_document(path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(
            f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        # The base loader keeps every scalar a string: times are parsed by the model, never
        # turned into naive datetimes by the YAML library.
        data = YAML(typ="base", pure=True).load(text)
    except YAMLError as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInputError(f"{path}: not valid YAML or JSON: {problem}") from None
    if not isinstance(data, list):
        raise BadInputError(f"{path}: expected a list of {{service, start, end, note}}")
    return data
