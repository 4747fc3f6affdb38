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


# The label each window's part of a batch is tagged with (`label_replace`), so one answer
# carries every window of a layout and each series says which window it is.
WINDOW_LABEL = "safedeploy_window"

Member = tuple[str, str | None]  # (window label value, service label value or None)
# Past this many services a message names a batch's service matcher by its count.
SHOWN_VALUES = 5


@dataclass(frozen=True)
class Batch:
    """One PromQL query and which of the asked queries each output series answers.

    A batch is one selector layout over every window asked of it: one `sum by (<service
    label>)` (or `sum`, for a selector without the service label) per window, each tagged
    with its window (`WINDOW_LABEL`) and joined by `or`. Each series of the answer is one
    window of one service. The batch is the unit of trust: anything impossible in its
    answer and none of it is believed (`_series_problem`).
    """

    promql: str
    group_label: str | None
    members: Mapping[Member, tuple[IncreaseQuery, ...]]
    # The query as messages name it: over thousands of services `promql` runs to megabytes,
    # and a reason carrying it would be copied into every measurement it explains.
    shown: str = ""

    @property
    def named(self) -> str:
        return self.shown or self.promql


@functools.lru_cache(maxsize=65_536)
def _layout(selector: Selector, service_label: str) -> Selector:
    """The selector without its service matcher; the same few selectors recur per window."""
    return selector.without(service_label)


def plan(queries: Sequence[IncreaseQuery], service_label: str) -> list[Batch]:
    """One batch per selector layout, whatever the number of windows and services: the
    requests of an evaluation are as many as its layouts (`docs/scaling.md`)."""
    if service_label == WINDOW_LABEL:
        raise ValueError(f"the service label cannot be {WINDOW_LABEL}, which batches use")
    grouped: dict[Selector, dict[int, dict[str, list[IncreaseQuery]]]] = {}
    single: dict[Selector, dict[int, list[IncreaseQuery]]] = {}
    for query in dict.fromkeys(queries):
        value = query.selector.equality(service_label)
        if value is None:
            single.setdefault(query.selector, {}).setdefault(query.window, []).append(query)
            continue
        layout = _layout(query.selector, service_label)
        by_window = grouped.setdefault(layout, {})
        by_window.setdefault(query.window, {}).setdefault(value, []).append(query)
    batches: list[Batch] = []
    for layout, by_window in grouped.items():
        parts: list[str] = []
        shown: list[str] = []
        members: dict[Member, tuple[IncreaseQuery, ...]] = {}
        for window, by_value in sorted(by_window.items()):
            values = sorted(by_value)
            if len(values) == 1:
                matcher = Matcher(label=service_label, op="=", value=values[0])
            else:
                matcher = Matcher(
                    label=service_label, op="=~", value="|".join(re.escape(v) for v in values)
                )
            span = format_duration(window)
            inner = f"increase({layout.render(extra=(matcher,))}[{span}])"
            parts.append(_tagged(f"sum by ({service_label}) ({inner})", span))
            members.update({(span, v): tuple(by_value[v]) for v in values})
            if len(values) > SHOWN_VALUES:
                matcher = Matcher(label=service_label, op="=~", value=f"<{len(values)} values>")
            inner = f"increase({layout.render(extra=(matcher,))}[{span}])"
            shown.append(_tagged(f"sum by ({service_label}) ({inner})", span))
        batches.append(Batch(" or ".join(parts), service_label, members, " or ".join(shown)))
    for selector, windows in single.items():
        spans = {window: format_duration(window) for window in sorted(windows)}
        promql = " or ".join(
            _tagged(f"sum(increase({selector.render()}[{span}]))", span) for span in spans.values()
        )
        members = {(spans[w], None): tuple(found) for w, found in windows.items()}
        batches.append(Batch(promql, None, members))
    return batches


def _tagged(promql: str, span: str) -> str:
    return f'label_replace({promql}, "{WINDOW_LABEL}", "{span}", "", "")'


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
        outcome = self.client.instant(batch.promql, at, named=batch.named)
        if isinstance(outcome, QueryFailure):
            return _all_failed(batch, outcome)
        problem = _series_problem(batch, [sample.metric for sample in outcome])
        if problem is not None:
            lie = QueryFailure(f"{where} answered {batch.named} with {problem}", untrue=True)
            return _all_failed(batch, lie)
        by_member: dict[Member, Measurement] = {}
        for sample in outcome:
            member = _member(batch, sample.metric)
            by_member[member] = _measurement(sample.value[1], where, batch, member)
        answers: dict[IncreaseQuery, Measurement] = {}
        for member, queries in batch.members.items():
            measurement = by_member.get(member) or _none(where, "series", batch, member)
            answers.update(dict.fromkeys(queries, measurement))
        return answers

    def _answer_range(
        self, batch: Batch, grid: InstantGrid
    ) -> dict[IncreaseQuery, tuple[Measurement, ...]]:
        where = self.client.range_where
        outcome = self.client.range(
            batch.promql, grid.start, grid.end, grid.step, named=batch.named
        )
        if isinstance(outcome, QueryFailure):
            return _all_failed_range(batch, outcome, grid.count)
        problem = _series_problem(batch, [series.metric for series in outcome])
        if problem is not None:
            lie = QueryFailure(f"{where} answered {batch.named} with {problem}", untrue=True)
            return _all_failed_range(batch, lie, grid.count)
        by_member: dict[Member, list[Measurement | None]] = {}
        for series in outcome:
            member = _member(batch, series.metric)
            points = by_member.setdefault(member, [None] * grid.count)
            for seconds, text in series.values:
                position = grid.index(seconds)
                if position is not None:  # the client refused any point off the grid
                    points[position] = _measurement(text, where, batch, member)
        answers: dict[IncreaseQuery, tuple[Measurement, ...]] = {}
        for member, queries in batch.members.items():
            # An instant the server has no point for: no series matched there.
            empty = _none(where, "point", batch, member)
            found = by_member.get(member, [None] * grid.count)
            answers.update(dict.fromkeys(queries, tuple(empty if m is None else m for m in found)))
        return answers


def _series_problem(batch: Batch, label_sets: Sequence[Mapping[str, str]]) -> str | None:
    """What makes an answer to `batch` impossible, or None.

    Each window's `sum by (<label>)` answers at most one series per asked value, labelled
    with that label and the window's tag alone; a `sum(...)` one series with the tag only.
    Anything else (a series per pod, a service nobody asked about, the same service twice,
    a window nobody asked for) cannot be told apart from a wrong answer, so none of the
    batch is believed: errors filed under another service would otherwise leave the asked
    one "without errors".
    """
    expected = {batch.group_label} if batch.group_label else set()
    windows = {window for window, _ in batch.members}
    seen: set[Member] = set()
    for labels in label_sets:
        own = {k: v for k, v in labels.items() if k != WINDOW_LABEL}
        if set(own) != expected:
            wanted = f"only {batch.group_label}" if batch.group_label else "no labels"
            return f"a series labelled {_labels(own)}, expected {wanted}"
        window = labels.get(WINDOW_LABEL)
        if window not in windows:
            return f"a series tagged {WINDOW_LABEL}={window!r}, not one of the asked windows"
        member = _member(batch, labels)
        if member not in batch.members:
            return f"a series for {batch.group_label}={member[1]!r}, which was not asked for"
        if member in seen:
            return f"two series{_for_member(batch, member)}"
        seen.add(member)
    return None


def _member(batch: Batch, labels: Mapping[str, str]) -> Member:
    value = labels.get(batch.group_label) if batch.group_label else None
    return labels.get(WINDOW_LABEL, ""), value


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in sorted(labels.items())) + "}"


def _all_failed(batch: Batch, outcome: QueryFailure) -> dict[IncreaseQuery, Measurement]:
    failed = outcome.measurement()
    return {q: failed for queries in batch.members.values() for q in queries}


def _all_failed_range(
    batch: Batch, outcome: QueryFailure, count: int
) -> dict[IncreaseQuery, tuple[Measurement, ...]]:
    failed = (outcome.measurement(),) * count
    return {q: failed for queries in batch.members.values() for q in queries}


def _for_member(batch: Batch, member: Member) -> str:
    window, value = member
    service = f" with {batch.group_label}={value!r}" if batch.group_label else ""
    return f"{service} over {window}"


def _none(where: str, what: str, batch: Batch, member: Member) -> Measurement:
    return Measurement.empty(
        f"{where} returned no {what}{_for_member(batch, member)}: {_own_query(batch, member)}"
    )


def _own_query(batch: Batch, member: Member) -> str:
    """What the batch asks for this one service and window, as a query of its own (a user
    can paste it): the part of the batch a measurement's reason is about."""
    query = batch.members[member][0]
    return f"sum(increase({query.selector.render()}[{member[0]}]))"


def _measurement(text: str, where: str, batch: Batch, member: Member) -> Measurement:
    """The sample's value; a non-number, NaN, Inf or negative one is invalid, naming the
    query (built only then: one answer holds a sample per service and window)."""
    try:
        measurement = Measurement.of(float(text))
    except ValueError:
        context = f"{where} for {_own_query(batch, member)}"
        return Measurement.invalid(f"{context}: the source returned {text!r}")
    if measurement.status == "invalid":
        return Measurement.invalid(f"{where} for {_own_query(batch, member)}: {measurement.reason}")
    return measurement
