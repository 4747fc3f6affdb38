"""Prometheus (or Thanos, Mimir) over its HTTP API: instant and range queries, batched by
layout.

Services whose selectors share a metric and label layout are answered together by one
`sum by (<service label>)` query per window, so the number of requests grows with the
number of windows and layouts, never with the number of services. One HTTP connection
serves the whole evaluation: connection setup, not Prometheus, dominates naive clients.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from safedeploy.adapters.prometheus_http import PrometheusClient, QueryFailure
from safedeploy.domain.durations import format_duration
from safedeploy.domain.measurements import IncreaseQuery, InstantGrid, LabelNames, Measurement
from safedeploy.domain.selectors import Matcher, Selector

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Batch:
    """One PromQL query and which of the asked queries each output series answers."""

    promql: str
    group_label: str | None
    members: Mapping[str | None, tuple[IncreaseQuery, ...]]


@functools.lru_cache(maxsize=65_536)
def _layout(selector: Selector, service_label: str) -> Selector:
    """The selector without its service matcher; the same few selectors recur per window."""
    return selector.without(service_label)


def plan(queries: Sequence[IncreaseQuery], service_label: str) -> list[Batch]:
    """Group queries that differ only in the service label's value into one query each."""
    groups: dict[tuple[int, Selector], dict[str, list[IncreaseQuery]]] = {}
    single: list[IncreaseQuery] = []
    for query in dict.fromkeys(queries):
        value = query.selector.equality(service_label)
        if value is None:
            single.append(query)
            continue
        key = (query.window, _layout(query.selector, service_label))
        groups.setdefault(key, {}).setdefault(value, []).append(query)
    batches: list[Batch] = []
    for (window, layout), by_value in groups.items():
        values = sorted(by_value)
        if len(values) == 1:
            matcher = Matcher(label=service_label, op="=", value=values[0])
        else:
            matcher = Matcher(
                label=service_label, op="=~", value="|".join(re.escape(v) for v in values)
            )
        batches.append(
            Batch(
                promql=f"sum by ({service_label}) "
                f"(increase({layout.render(extra=(matcher,))}[{format_duration(window)}]))",
                group_label=service_label,
                members={v: tuple(by_value[v]) for v in values},
            )
        )
    for query in single:
        batches.append(
            Batch(
                promql=f"sum(increase({query.selector.render()}[{format_duration(query.window)}]))",
                group_label=None,
                members={None: (query,)},
            )
        )
    return batches


class PrometheusSource:
    """Counter increases from Prometheus, batched by layout, over one `PrometheusClient`."""

    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        retries: int = 2,
        service_label: str = "service",
        *,
        deadline: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        client: PrometheusClient | None = None,
    ) -> None:
        """`client` shares a run's transport (and its deadline); else one is made here."""
        self.client = client or PrometheusClient(
            url, timeout=timeout, retries=retries, deadline=deadline, transport=transport
        )
        self.service_label = service_label

    @property
    def url(self) -> str:
        return self.client.url

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    @property
    def concurrency(self) -> int:
        return self.client.concurrency

    @property
    def description(self) -> str:
        return f"Prometheus at {self.url}"

    def increases(
        self, queries: Sequence[IncreaseQuery], at: datetime
    ) -> Mapping[IncreaseQuery, Measurement]:
        results: dict[IncreaseQuery, Measurement] = {}
        batches = plan(queries, self.service_label)
        with (
            self.client.batch(),
            ThreadPoolExecutor(max_workers=self.client.concurrency) as pool,
        ):
            for answers in pool.map(lambda b: self._answer(b, at), batches):
                results.update(answers)
        return results

    def increase_range(
        self, queries: Sequence[IncreaseQuery], grid: InstantGrid
    ) -> Mapping[IncreaseQuery, tuple[Measurement, ...]]:
        """The same batches through `query_range`: one request per batch for every instant."""
        results: dict[IncreaseQuery, tuple[Measurement, ...]] = {}
        batches = plan(queries, self.service_label)
        with (
            self.client.batch(),
            ThreadPoolExecutor(max_workers=self.client.concurrency) as pool,
        ):
            for answers in pool.map(lambda b: self._answer_range(b, grid), batches):
                results.update(answers)
        return results

    def label_names(self, lookbacks: Mapping[str, int], at: datetime) -> dict[str, LabelNames]:
        """`/api/v1/labels` per metric: the series index, never its samples."""

        def one(metric: str) -> LabelNames:
            start = at - timedelta(seconds=lookbacks[metric])
            outcome = self.client.labels(metric, start, at)
            if isinstance(outcome, QueryFailure):
                return LabelNames(failure=outcome.reason)
            return LabelNames(names=frozenset(outcome))

        with (
            self.client.batch(),
            ThreadPoolExecutor(max_workers=self.client.concurrency) as pool,
        ):
            return dict(zip(lookbacks, pool.map(one, lookbacks), strict=True))

    def _answer(self, batch: Batch, at: datetime) -> dict[IncreaseQuery, Measurement]:
        where = self.client.where
        outcome = self.client.instant(batch.promql, at)
        if isinstance(outcome, QueryFailure):
            return _all_failed(batch, outcome)
        problem = _series_problem(batch, [sample.metric for sample in outcome])
        if problem is not None:
            lie = QueryFailure(f"{where} answered {batch.promql} with {problem}", untrue=True)
            return _all_failed(batch, lie)
        by_value: dict[str | None, Measurement] = {}
        for sample in outcome:
            key = sample.metric.get(batch.group_label) if batch.group_label else None
            by_value[key] = _measurement(sample.value[1], f"{where} for {batch.promql}")
        answers: dict[IncreaseQuery, Measurement] = {}
        for value, members in batch.members.items():
            measurement = by_value.get(value) or Measurement.empty(
                f"{where} returned no series{_for_value(batch, value)} for {batch.promql}"
            )
            answers.update(dict.fromkeys(members, measurement))
        return answers

    def _answer_range(
        self, batch: Batch, grid: InstantGrid
    ) -> dict[IncreaseQuery, tuple[Measurement, ...]]:
        where = self.client.range_where
        outcome = self.client.range(batch.promql, grid.start, grid.end, grid.step)
        if isinstance(outcome, QueryFailure):
            return _all_failed_range(batch, outcome, grid.count)
        problem = _series_problem(batch, [series.metric for series in outcome])
        if problem is not None:
            lie = QueryFailure(f"{where} answered {batch.promql} with {problem}", untrue=True)
            return _all_failed_range(batch, lie, grid.count)
        by_value: dict[str | None, list[Measurement | None]] = {}
        for series in outcome:
            key = series.metric.get(batch.group_label) if batch.group_label else None
            points = by_value.setdefault(key, [None] * grid.count)
            for seconds, text in series.values:
                position = grid.index(seconds)
                if position is not None:  # the client refused any point off the grid
                    points[position] = _measurement(text, f"{where} for {batch.promql}")
        answers: dict[IncreaseQuery, tuple[Measurement, ...]] = {}
        for value, members in batch.members.items():
            # An instant the server has no point for: no series matched there.
            empty = Measurement.empty(
                f"{where} returned no point{_for_value(batch, value)} for {batch.promql}"
            )
            found = by_value.get(value, [None] * grid.count)
            answers.update(dict.fromkeys(members, tuple(empty if m is None else m for m in found)))
        return answers


def _series_problem(batch: Batch, label_sets: Sequence[Mapping[str, str]]) -> str | None:
    """What makes an answer to `batch` impossible, or None.

    `sum by (<label>)` answers at most one series per asked value, labelled with that
    label alone; `sum(...)` one series without labels. Anything else (a series per pod, a
    service nobody asked about, the same service twice) cannot be told apart from a wrong
    answer, so none of the batch is believed: errors filed under another service would
    otherwise leave the asked one "without errors".
    """
    expected = {batch.group_label} if batch.group_label else set()
    seen: set[str | None] = set()
    for labels in label_sets:
        if set(labels) != expected:
            wanted = f"only {batch.group_label}" if batch.group_label else "no labels"
            return f"a series labelled {_labels(labels)}, expected {wanted}"
        value = labels.get(batch.group_label) if batch.group_label else None
        if value not in batch.members:
            return f"a series for {batch.group_label}={value!r}, which was not asked for"
        if value in seen:
            return f"two series{_for_value(batch, value)}"
        seen.add(value)
    return None


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in sorted(labels.items())) + "}"


def _all_failed(batch: Batch, outcome: QueryFailure) -> dict[IncreaseQuery, Measurement]:
    failed = outcome.measurement()
    return {q: failed for members in batch.members.values() for q in members}


def _all_failed_range(
    batch: Batch, outcome: QueryFailure, count: int
) -> dict[IncreaseQuery, tuple[Measurement, ...]]:
    failed = (outcome.measurement(),) * count
    return {q: failed for members in batch.members.values() for q in members}


def _for_value(batch: Batch, value: str | None) -> str:
    return f" with {batch.group_label}={value!r}" if batch.group_label else ""


def _measurement(text: str, context: str) -> Measurement:
    """The sample's value; a non-number, NaN, Inf or negative one is invalid, naming the
    query."""
    try:
        measurement = Measurement.of(float(text))
    except ValueError:
        return Measurement.invalid(f"{context}: the source returned {text!r}")
    if measurement.status == "invalid":
        return Measurement.invalid(f"{context}: {measurement.reason}")
    return measurement
