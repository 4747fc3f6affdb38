"""Prometheus (or Thanos, Mimir) over its HTTP API: instant queries, batched by layout.

Services whose selectors share a metric and label layout are answered together by one
`sum by (<service label>)` query per window, so the number of requests grows with the
number of windows and layouts, never with the number of services. One HTTP connection
serves the whole evaluation: connection setup, not Prometheus, dominates naive clients.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from safedeploy.domain.durations import format_duration
from safedeploy.domain.measurements import IncreaseQuery, Measurement
from safedeploy.domain.selectors import Matcher, Selector

if TYPE_CHECKING:
    import httpx

_RETRYABLE_STATUS = {500, 502, 503, 504}


class _Sample(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: dict[str, str]
    value: tuple[float, str]


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True)

    resultType: Literal["vector"]  # noqa: N815 - the API's spelling
    result: list[_Sample]


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Literal["success", "error"]
    data: _Data | None = None
    errorType: str | None = None  # noqa: N815
    error: str | None = None


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


@dataclass
class PrometheusSource:
    url: str
    timeout: float = 10.0
    retries: int = 2
    service_label: str = "service"
    backoff: float = 0.2
    # The whole evaluation's budget: a Prometheus that hangs costs this, not
    # queries x attempts x timeout.
    deadline: float = 60.0
    # Queries in flight at once, over as many kept-alive connections.
    concurrency: int = 4
    max_body: int = 64 * 1024 * 1024
    transport: httpx.BaseTransport | None = None
    requests_made: int = field(default=0, init=False)
    _deadline_at: float = field(default=0.0, init=False, repr=False)
    # Set when a query could not even connect: the queries after it fail at once, naming
    # it, instead of each waiting through its own retries (minutes for a large catalog).
    _unreachable: str | None = field(default=None, init=False, repr=False)

    @property
    def description(self) -> str:
        return f"Prometheus at {self.url}"

    def increases(
        self, queries: Sequence[IncreaseQuery], at: datetime
    ) -> Mapping[IncreaseQuery, Measurement]:
        import httpx

        results: dict[IncreaseQuery, Measurement] = {}
        self._unreachable = None
        self._deadline_at = time.monotonic() + self.deadline
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        with (
            httpx.Client(
                base_url=self.url.rstrip("/"),
                timeout=self.timeout,
                transport=self.transport,
                limits=limits,
            ) as client,
            ThreadPoolExecutor(max_workers=self.concurrency) as pool,
        ):
            batches = plan(queries, self.service_label)
            for answers in pool.map(lambda b: self._answer(client, b, at), batches):
                results.update(answers)
        return results

    def _answer(
        self, client: httpx.Client, batch: Batch, at: datetime
    ) -> dict[IncreaseQuery, Measurement]:
        where = f"{self.url.rstrip('/')}/api/v1/query"
        if self._unreachable:
            outcome: list[_Sample] | str = (
                f"{where} not asked {batch.promql}: {self._unreachable} on an earlier query"
            )
        elif time.monotonic() > self._deadline_at:
            outcome = (
                f"{where} not asked {batch.promql}: the evaluation's deadline of "
                f"{self.deadline:g}s passed"
            )
        else:
            outcome = self._query(client, batch.promql, at)
        if isinstance(outcome, str):
            failed = Measurement.failed(outcome)
            return {q: failed for members in batch.members.values() for q in members}
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

    def _query(self, client: httpx.Client, promql: str, at: datetime) -> list[_Sample] | str:
        """The vector, or a one-line reason naming the URL and the query."""
        import httpx

        where = f"{self.url.rstrip('/')}/api/v1/query"
        problem = ""
        unreachable = False
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            if time.monotonic() > self._deadline_at:
                problem = f"{problem}; the evaluation's deadline of {self.deadline:g}s passed"
                break
            self.requests_made += 1
            try:
                status, body = self._post(client, promql, at)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                problem, unreachable = f"cannot connect ({type(exc).__name__})", True
                continue
            except (httpx.TimeoutException, _TooSlowError):
                problem, unreachable = f"timed out after {self.timeout:g}s", False
                continue
            except _TooLargeError:
                return f"{where} answered more than {self.max_body} bytes for {promql}"
            except httpx.HTTPError as exc:
                problem, unreachable = f"cannot connect ({type(exc).__name__})", False
                continue
            unreachable = False
            if status in _RETRYABLE_STATUS:
                problem = f"HTTP {status}{_api_error(body)}"
                continue
            return _parse(status, body, where, promql)
        if unreachable:
            self._unreachable = problem
        return f"{where} failed for {promql}: {problem.lstrip('; ')}"

    def _post(self, client: httpx.Client, promql: str, at: datetime) -> tuple[int, bytes]:
        """One request whose whole answer must arrive within the timeout: httpx's own
        timeouts apply per read, so a body trickled a byte at a time would never end."""
        started = time.monotonic()
        data = {"query": promql, "time": f"{at.timestamp():.3f}"}
        with client.stream("POST", "/api/v1/query", data=data) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_body:
                    raise _TooLargeError
                if time.monotonic() - started > self.timeout:
                    raise _TooSlowError
                chunks.append(chunk)
            return response.status_code, b"".join(chunks)


class _TooSlowError(Exception):
    pass


class _TooLargeError(Exception):
    pass


def _parse(status: int, content: bytes, where: str, promql: str) -> list[_Sample] | str:
    try:
        body = _Response.model_validate_json(content)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        return f"{where} answered HTTP {status} with an invalid body for {promql}: {detail}"
    if body.status != "success" or body.data is None:
        kind = body.errorType or "error"
        return f"{where} refused {promql}: {kind}: {body.error or 'no detail'}"
    return body.data.result


def _api_error(content: bytes) -> str:
    try:
        data: Any = json.loads(content)
    except (ValueError, RecursionError):  # a body nested past the limit says nothing either
        return ""
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return f": {data['error']}"
    return ""


def _for_value(batch: Batch, value: str | None) -> str:
    return f" with {batch.group_label}={value!r}" if batch.group_label else ""


def _measurement(text: str, context: str) -> Measurement:
    """The sample's value; a non-number, NaN, Inf or negative one fails, naming the query."""
    try:
        measurement = Measurement.of(float(text))
    except ValueError:
        return Measurement.failed(f"{context}: the source returned {text!r}")
    if measurement.status == "failed":
        return Measurement.failed(f"{context}: {measurement.reason}")
    return measurement
