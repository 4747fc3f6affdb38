"""What the use cases need from the outside world, as protocols the adapters fulfil."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from safedeploy.domain.catalog import Service
from safedeploy.domain.measurements import IncreaseQuery, InstantGrid, LabelNames, Measurement
from safedeploy.domain.slo import SLICounts


class MetricsSource(Protocol):
    """Answers `sum(increase(selector[window]))` for many queries at once: at one instant,
    or at every instant of a grid (the history behind a decision, for its charts); and
    which labels a metric's series carry."""

    @property
    def description(self) -> str: ...

    def increases(
        self, queries: Sequence[IncreaseQuery], at: datetime
    ) -> Mapping[IncreaseQuery, Measurement]: ...

    def increase_range(
        self, queries: Sequence[IncreaseQuery], grid: InstantGrid
    ) -> Mapping[IncreaseQuery, tuple[Measurement, ...]]:
        """One measurement per instant of `grid`, each what `increases` would answer there."""
        ...

    def label_names(self, lookbacks: Mapping[str, int], at: datetime) -> Mapping[str, LabelNames]:
        """For each metric, the label names on its series in the given seconds before `at`:
        what tells a selector with a typo from errors that never happened."""
        ...


@runtime_checkable
class SLOCountsSource(Protocol):
    """Answers per SLO and window at once, e.g. from recording rules."""

    @property
    def description(self) -> str: ...

    def slo_counts(
        self, services: Sequence[Service], at: datetime
    ) -> Mapping[tuple[str, str], Mapping[int, SLICounts]]: ...
