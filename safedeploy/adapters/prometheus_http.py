"""The one HTTP transport to Prometheus (or Thanos, Mimir, VictoriaMetrics): every query
safedeploy sends goes through `PrometheusClient`, at one instant (`/api/v1/query`) or over
a range of instants (`/api/v1/query_range`, for the evidence charts).

It owns what a control loop needs from a remote it does not trust: kept-alive connections
shared by every query of a run, retries with backoff on failures worth retrying, a timeout
on the whole answer (a body trickled a byte at a time must still end), a cap on the body's
size, one deadline for the whole run, and, once a query could not even connect, failing the
rest at once instead of each waiting through its own retries.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from safedeploy.domain.durations import format_duration
from safedeploy.domain.instants import format_instant
from safedeploy.domain.measurements import Measurement
from safedeploy.domain.urls import split_credentials

if TYPE_CHECKING:
    import httpx

_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
QUERY_PATH = "/api/v1/query"
RANGE_PATH = "/api/v1/query_range"
LABELS_PATH = "/api/v1/labels"


class Sample(BaseModel):
    """One series of an instant vector: its labels and `[timestamp, "value"]`."""

    model_config = ConfigDict(frozen=True)

    metric: dict[str, str]
    value: tuple[float, str]


class RangeSample(BaseModel):
    """One series of a range matrix: its labels and `[[timestamp, "value"], ...]`."""

    model_config = ConfigDict(frozen=True)

    metric: dict[str, str]
    values: list[tuple[float, str]]


class _Vector(BaseModel):
    model_config = ConfigDict(frozen=True)

    resultType: Literal["vector"]  # noqa: N815 - the API's spelling
    result: list[Sample]


class _Matrix(BaseModel):
    model_config = ConfigDict(frozen=True)

    resultType: Literal["matrix"]  # noqa: N815
    result: list[RangeSample]


_D = TypeVar("_D", _Vector, _Matrix, list[str])


class _Response(BaseModel, Generic[_D]):
    """`/api/v1/query` answers a vector, `/api/v1/query_range` a matrix, alike otherwise."""

    model_config = ConfigDict(frozen=True)

    status: Literal["success", "error"]
    data: _D | None = None
    errorType: str | None = None  # noqa: N815
    error: str | None = None


@dataclass(frozen=True)
class QueryFailure:
    """Why a query has no answer, in one line naming the URL and the query.

    `untrue`: the server did answer, with something no honest Prometheus says (a body that
    is not the API's, a sample from another instant); else it could not or would not.
    """

    reason: str
    untrue: bool = False

    def measurement(self) -> Measurement:
        """What the query measured: nothing, and invalid when the server told a lie."""
        return Measurement.invalid(self.reason) if self.untrue else Measurement.failed(self.reason)


QueryOutcome = list[Sample] | QueryFailure
RangeOutcome = list[RangeSample] | QueryFailure


@dataclass
class PrometheusClient:
    url: str
    timeout: float = 10.0
    retries: int = 2
    backoff: float = 0.2
    # The whole run's budget, from its first request: a Prometheus that hangs costs this,
    # not queries x attempts x timeout.
    deadline: float = 60.0
    # Queries in flight at once, over as many kept-alive connections.
    concurrency: int = 4
    max_body: int = 64 * 1024 * 1024
    transport: httpx.BaseTransport | None = None
    requests_made: int = field(default=0, init=False)
    _deadline_at: float | None = field(default=None, init=False, repr=False)
    # Set when a query could not even connect: the queries after it fail at once, naming
    # it, instead of each waiting through its own retries (minutes for a large catalog).
    _unreachable: str | None = field(default=None, init=False, repr=False)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _auth: tuple[str, str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # Credentials in the URL travel as the Authorization header only: the URL kept
        # (and shown in every message, summary and evidence) is the one without them.
        self.url, credentials = split_credentials(self.url)
        self._auth = (credentials.username, credentials.password) if credentials else None

    @property
    def where(self) -> str:
        return f"{self.url.rstrip('/')}{QUERY_PATH}"

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One batch of queries over shared connections, closed when the batch ends.

        A new batch may try a source that was unreachable for the last one; the deadline
        is the run's and does not start again.
        """
        import httpx

        self._unreachable = None
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        with httpx.Client(
            base_url=self.url.rstrip("/"),
            auth=self._auth,
            timeout=self.timeout,
            transport=self.transport,
            limits=limits,
        ) as client:
            self._client = client
            try:
                yield
            finally:
                self._client = None

    @property
    def range_where(self) -> str:
        return f"{self.url.rstrip('/')}{RANGE_PATH}"

    def instant(self, promql: str, at: datetime, *, named: str | None = None) -> QueryOutcome:
        """The instant vector of `promql` at `at`, or why there is none; a message names
        the query as `named` when given (a batch over thousands of services is megabytes).

        Every sample must be stamped at `at`: Prometheus stamps an instant vector with the
        evaluation's time, so any other stamp is an answer to another question (a cache,
        a proxy, a clock), and 35 minutes of old errors would read as the present.
        """
        data = {"query": promql, "time": _stamp(at)}
        shown = named or promql
        answer = self._ask(QUERY_PATH, data, shown, _Response[_Vector])
        if isinstance(answer, QueryFailure):
            return answer
        asked = _millis(at.timestamp())
        for sample in answer.result:
            if _millis(sample.value[0]) != asked:
                return QueryFailure(
                    f"{self.where} answered {shown} with a sample stamped "
                    f"{_when(sample.value[0])}, {_offset(sample.value[0], at.timestamp())} "
                    f"the asked {_when(at.timestamp())}",
                    untrue=True,
                )
        return answer.result

    def range(
        self, promql: str, start: datetime, end: datetime, step: int, *, named: str | None = None
    ) -> RangeOutcome:
        """The matrix of `promql` evaluated every `step` seconds from `start` to `end`
        (`named` as for `instant`).

        Every point must fall on one of the asked instants, at most once per series.
        """
        data = {"query": promql, "start": _stamp(start), "end": _stamp(end), "step": str(step)}
        shown = named or promql
        answer = self._ask(RANGE_PATH, data, shown, _Response[_Matrix])
        if isinstance(answer, QueryFailure):
            return answer
        first, last = _millis(start.timestamp()), _millis(end.timestamp())
        for series in answer.result:
            previous: int | None = None
            for seconds, _ in series.values:
                stamp = _millis(seconds)
                off_grid = (stamp - first) % (step * 1000) or not first <= stamp <= last
                if off_grid or (previous is not None and stamp <= previous):
                    return QueryFailure(
                        f"{self.range_where} answered {shown} with a point stamped "
                        f"{_when(seconds)}, not one of the asked instants from "
                        f"{_when(start.timestamp())} every {step}s",
                        untrue=True,
                    )
                previous = stamp
        return answer.result

    def labels(self, selector: str, start: datetime, end: datetime) -> list[str] | QueryFailure:
        """The label names of every series `selector` matches between `start` and `end`
        (the series index, not the samples: cheap over a whole SLO period); none when no
        series matches. Every series has a name, so names without `__name__` are untrue."""
        data = {"match[]": selector, "start": _stamp(start), "end": _stamp(end)}
        answer = self._ask(LABELS_PATH, data, selector, _Response[list[str]])
        if isinstance(answer, QueryFailure) or not answer or "__name__" in answer:
            return answer
        return QueryFailure(
            f"{self.url.rstrip('/')}{LABELS_PATH} answered labels without __name__ for "
            f"{selector}: {', '.join(sorted(answer)[:5])}",
            untrue=True,
        )

    def _ask(
        self, path: str, data: Mapping[str, str], promql: str, model: type[_Response[_D]]
    ) -> _D | QueryFailure:
        """One query through retries, the deadline and the size cap, its answer parsed."""
        import httpx

        where = f"{self.url.rstrip('/')}{path}"
        if self._unreachable:
            return QueryFailure(
                f"{where} not asked {promql}: {self._unreachable} on an earlier query"
            )
        if self._expired():
            return QueryFailure(
                f"{where} not asked {promql}: the evaluation's deadline of "
                f"{self.deadline:g}s passed"
            )
        problem = ""
        unreachable = False
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            if self._expired():
                problem = f"{problem}; the evaluation's deadline of {self.deadline:g}s passed"
                break
            self.requests_made += 1
            try:
                status, body = self._post(path, data)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                problem, unreachable = f"cannot connect ({type(exc).__name__})", True
                continue
            except (httpx.TimeoutException, _TooSlowError):
                problem, unreachable = f"timed out after {self.timeout:g}s", False
                continue
            except _TooLargeError:
                return QueryFailure(
                    f"{where} answered more than {self.max_body} bytes for {promql}"
                )
            except httpx.HTTPError as exc:
                problem, unreachable = f"cannot connect ({type(exc).__name__})", False
                continue
            unreachable = False
            if status in _RETRYABLE_STATUS:
                problem = f"HTTP {status}{_api_error(body)}"
                continue
            return _parse(status, body, where, promql, model)
        if unreachable:
            self._unreachable = problem
        return QueryFailure(f"{where} failed for {promql}: {problem.lstrip('; ')}")

    def _expired(self) -> bool:
        now = time.monotonic()
        with self._guard:
            if self._deadline_at is None:
                self._deadline_at = now + self.deadline
            return now > self._deadline_at

    def _http(self) -> httpx.Client:
        if self._client is None:
            raise RuntimeError("queries must be sent inside PrometheusClient.batch()")
        return self._client

    def _post(self, path: str, data: Mapping[str, str]) -> tuple[int, bytes]:
        """One request whose whole answer must arrive within the timeout: httpx's own
        timeouts apply per read, so a body trickled a byte at a time would never end."""
        started = time.monotonic()
        with self._http().stream("POST", path, data=dict(data)) as response:
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


def _stamp(at: datetime) -> str:
    return f"{at.timestamp():.3f}"


def _millis(seconds: float) -> int:
    """Prometheus keeps time in milliseconds: an asked instant comes back rounded to one."""
    return round(seconds * 1000)


def _when(seconds: float) -> str:
    try:
        return format_instant(datetime.fromtimestamp(seconds, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return repr(seconds)


def _offset(seconds: float, asked: float) -> str:
    gap = abs(seconds - asked)
    span = format_duration(round(gap)) if gap >= 1 else f"{gap * 1000:.0f}ms"
    return f"{span} {'before' if seconds < asked else 'after'}"


def _parse(
    status: int, content: bytes, where: str, promql: str, model: type[_Response[_D]]
) -> _D | QueryFailure:
    try:
        body = model.model_validate_json(content)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        return QueryFailure(
            f"{where} answered HTTP {status} with an invalid body for {promql}: {detail}",
            untrue=status < 400,
        )
    if body.status != "success" or body.data is None:
        kind = body.errorType or "error"
        return QueryFailure(f"{where} refused {promql}: {kind}: {body.error or 'no detail'}")
    return body.data


def _api_error(content: bytes) -> str:
    try:
        data: Any = json.loads(content)
    except (ValueError, RecursionError):  # a body nested past the limit says nothing either
        return ""
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return f": {data['error']}"
    return ""
