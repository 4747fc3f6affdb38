"""The embedded metrics source: Prometheus's `sum(increase(...))` over an OpenMetrics file.

Used when no Prometheus is configured. It follows Prometheus 2.42's `increase()` exactly
(counter resets, extrapolation at the window edges), so one file gives the same numbers
read here or backfilled into a real Prometheus with promtool.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from safedeploy.adapters.openmetrics import Matcher, Series, SeriesStore, load_openmetrics
from safedeploy.domain.increase import increase_indexed, reset_counts
from safedeploy.domain.measurements import IncreaseQuery, InstantGrid, LabelNames, Measurement
from safedeploy.domain.selectors import Selector


class EmbeddedSource:
    """Answers from one loaded file; selections and their reset counts are kept, so many
    evaluations over the same file (a replay, a demo) pay for them once."""

    def __init__(self, store: SeriesStore, description: str) -> None:
        self._store = store
        self.description = description
        self._selected: dict[Selector, list[tuple[Series, list[int]]]] = {}

    @classmethod
    def from_file(cls, path: Path) -> EmbeddedSource:
        return cls(load_openmetrics(path), f"embedded metrics from {path}")

    def increases(
        self, queries: Sequence[IncreaseQuery], at: datetime
    ) -> Mapping[IncreaseQuery, Measurement]:
        end = at.timestamp()
        return {q: self._increase(q.selector, end - q.window, end) for q in queries}

    def increase_range(
        self, queries: Sequence[IncreaseQuery], grid: InstantGrid
    ) -> Mapping[IncreaseQuery, tuple[Measurement, ...]]:
        """What `increases` answers at each instant, as Prometheus's `query_range` does."""
        ends = [t.timestamp() for t in grid.instants()]
        answers: dict[IncreaseQuery, tuple[Measurement, ...]] = {}
        for query in dict.fromkeys(queries):
            selected = self._select(query.selector)  # once per query, not per instant
            answers[query] = tuple(_sum(selected, end - query.window, end) for end in ends)
        return answers

    def label_names(self, lookbacks: Mapping[str, int], at: datetime) -> dict[str, LabelNames]:
        """The labels of every series of each metric with a sample in its window."""
        end = at.timestamp()
        found: dict[str, LabelNames] = {}
        for metric, window in lookbacks.items():
            names: set[str] = set()
            for series in self._store.select(metric):
                first = bisect.bisect_right(series.times, end - window)
                if first < len(series.times) and series.times[first] <= end:
                    names.update({"__name__", *(label for label, _ in series.labels)})
            found[metric] = LabelNames(names=frozenset(names))
        return found

    def _increase(self, selector: Selector, start: float, end: float) -> Measurement:
        return _sum(self._select(selector), start, end)

    def _select(self, selector: Selector) -> list[tuple[Series, list[int]]]:
        found = self._selected.get(selector)
        if found is None:
            matchers = [Matcher.of(m.label, m.op, m.value) for m in selector.matchers]
            found = [
                (s, reset_counts(s.values)) for s in self._store.select(selector.metric, matchers)
            ]
            self._selected[selector] = found
        return found


# Shared, being frozen: the answer for every window of a series that is not there.
_EMPTY = Measurement.empty()


def _sum(selected: list[tuple[Series, list[int]]], start: float, end: float) -> Measurement:
    total: float | None = None
    for series, resets in selected:
        value = increase_indexed(series.times, series.values, resets, start, end)
        if value is not None:
            total = value if total is None else total + value
    if total is None:
        return _EMPTY
    return Measurement.of(total)
