"""PrometheusSource against a real Prometheus (parity, PromQL ratios, batching, escaping),
and against a local HTTP server for the faults a real Prometheus will not produce."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.embedded_source import EmbeddedSource
from safedeploy.adapters.prometheus import WINDOW_LABEL, PrometheusSource, plan
from safedeploy.adapters.prometheus_http import PrometheusClient
from safedeploy.domain.catalog import SLO, Service
from safedeploy.domain.measurements import IncreaseQuery, InstantGrid, Measurement
from safedeploy.domain.selectors import Matcher, Selector
from safedeploy.domain.sli_queries import queries_for
from safedeploy.usecases.slo_status import evaluate_services
from testing.builders import write_service
from testing.history import DEFAULT_SCENARIOS, WINDOWS, History, synthetic_scenarios
from testing.prometheus import RunningPrometheus, backfill, serve

AT = datetime(2026, 11, 1, tzinfo=UTC)
UNALIGNED = timedelta(seconds=17.25)


def slos(service: str) -> tuple[SLO, SLO]:
    availability = SLO.model_validate(
        {
            "name": "availability",
            "objective": 0.999,
            "sli": {
                "errors": f'http_requests_total{{service="{service}", code=~"5.."}}',
                "total": f'http_requests_total{{service="{service}"}}',
            },
        }
    )
    latency = SLO.model_validate(
        {
            "name": "latency",
            "objective": 0.99,
            "sli": {
                "histogram": f'http_request_duration_seconds{{service="{service}"}}',
                "threshold": 0.3,
            },
        }
    )
    return availability, latency


def all_queries(services: list[str]) -> list[IncreaseQuery]:
    wanted: dict[IncreaseQuery, None] = {}
    for service in services:
        for slo in slos(service):
            for per_window in queries_for(slo).values():
                wanted.update(dict.fromkeys(per_window.all()))
    return list(wanted)


def relative_difference(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else 0.0


def promql_scalar(url: str, promql: str, at: datetime) -> float | None:
    response = httpx.get(
        f"{url}/api/v1/query", params={"query": promql, "time": f"{at.timestamp():.3f}"}
    )
    body = response.json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


# Against the real Prometheus, and VictoriaMetrics through the same query API


# VictoriaMetrics' agreement runs in the soak run (CI runs both); by default only its
# no-extrapolation check below starts it.
@pytest.fixture(params=["prometheus", pytest.param("victoria", marks=pytest.mark.soak)])
def tsdb(request: pytest.FixtureRequest) -> RunningPrometheus:
    """The same history in a real Prometheus, then in a real VictoriaMetrics."""
    server: RunningPrometheus = request.getfixturevalue(request.param)
    return server


def compared_at(tsdb: RunningPrometheus, at: datetime) -> datetime:
    """The instant whose Prometheus increase() the server's answer at `at` equals.

    VictoriaMetrics' increase() does not extrapolate: it is the exact difference between
    the last samples at or before each edge of the window, which is what Prometheus 2.42
    answers at the instant of the last sample (docs/slo-design.md#victoriametrics).
    """
    if tsdb.engine == "prometheus":
        return at
    step, start = tsdb.history.step, tsdb.history.start
    seconds = at.timestamp()
    return datetime.fromtimestamp(start + (seconds - start) // step * step, tz=UTC)


def agrees(
    tsdb: RunningPrometheus, query: IncreaseQuery, at: datetime, ours: float, theirs: float
) -> bool:
    """VictoriaMetrics' answer `ours` against Prometheus's `theirs` at `compared_at`: equal,
    except for a window reaching back before the first sample. There Prometheus extrapolates
    half a sample interval back towards the window's start and VictoriaMetrics does not, so
    its answer is lower by at most that half interval's share of the samples' span."""
    start = tsdb.history.start
    if at.timestamp() - query.window >= start:
        return relative_difference(ours, theirs) <= 1e-6
    slack = tsdb.history.step / 2 / (at.timestamp() - start)
    return 0 <= theirs - ours <= theirs * slack * 1.001


@pytest.mark.prometheus
@pytest.mark.parametrize(("shift", "tolerance"), [(timedelta(0), 1e-6), (UNALIGNED, 1e-3)])
def test_increases_match_the_embedded_source(
    tsdb: RunningPrometheus, shift: timedelta, tolerance: float
) -> None:
    services = [s.service for s in DEFAULT_SCENARIOS]
    queries = all_queries(services)
    at = tsdb.at - shift
    server = PrometheusSource(tsdb.url).increases(queries, at)
    source = EmbeddedSource.from_file(tsdb.history.path)
    embedded = source.increases(queries, compared_at(tsdb, at))
    exact = tsdb.engine != "prometheus"
    assert server.keys() == embedded.keys() == set(queries)
    compared = 0
    for query in queries:
        ours, theirs = server[query], embedded[query]
        assert ours.status == theirs.status, (query, ours, theirs)
        if ours.status == "ok":
            assert ours.value is not None and theirs.value is not None
            if exact:
                assert agrees(tsdb, query, compared_at(tsdb, at), ours.value, theirs.value), query
            else:
                assert relative_difference(ours.value, theirs.value) <= tolerance, query
            compared += 1
    windows_seen = {q.window for q in queries}
    assert windows_seen == set(WINDOWS.values())
    # Every service has traffic in every window except the errors of a few: most compared.
    assert compared >= len(queries) - 2 * len(WINDOWS)


@pytest.mark.prometheus
def test_victoriametrics_does_not_extrapolate_between_samples(victoria: RunningPrometheus) -> None:
    """The difference is real: between samples, Prometheus's extrapolated increase is not
    VictoriaMetrics' answer."""
    queries = all_queries([s.service for s in DEFAULT_SCENARIOS])
    at = victoria.at - UNALIGNED
    server = PrometheusSource(victoria.url).increases(queries, at)
    extrapolated = EmbeddedSource.from_file(victoria.history.path).increases(queries, at)
    differences = [
        relative_difference(server[q].value or 0.0, extrapolated[q].value or 0.0)
        for q in queries
        if server[q].status == extrapolated[q].status == "ok"
    ]
    assert max(differences) > 1e-3


@pytest.mark.prometheus
@pytest.mark.parametrize("service", ["checkout", "payments", "search", "inventory", "resetting"])
def test_ratios_match_promql(tsdb: RunningPrometheus, service: str) -> None:
    prometheus = tsdb
    source = PrometheusSource(prometheus.url)
    queries = queries_for(slos(service)[0])
    answers = source.increases(all_queries([service]), prometheus.at)
    for window, pair in queries.items():
        assert pair.errors is not None
        total, errors = answers[pair.total], answers[pair.errors]
        assert total.status == "ok" and total.value is not None
        name = next(n for n, s in WINDOWS.items() if s == window)
        expected = promql_scalar(
            prometheus.url,
            f'sum(increase(http_requests_total{{service="{service}",code=~"5.."}}[{name}]))'
            f' / sum(increase(http_requests_total{{service="{service}"}}[{name}]))',
            prometheus.at,
        )
        if errors.status == "empty":
            assert expected is None, (service, name)
            continue
        assert errors.value is not None and expected is not None
        assert relative_difference(errors.value / total.value, expected) <= 1e-9, name
        # And both recover what the generator meant, up to Prometheus's extrapolation.
        intended = prometheus.intended[service][name]
        assert intended.error_ratio is not None
        if intended.errors >= 50:
            assert relative_difference(expected, intended.error_ratio) <= 0.05, name


@pytest.mark.prometheus
def test_requests_do_not_grow_with_services(prometheus: RunningPrometheus) -> None:
    few = PrometheusSource(prometheus.url)
    few_answers = few.increases(all_queries(["checkout", "payments", "search"]), prometheus.at)
    many = PrometheusSource(prometheus.url)
    names = [s.service for s in synthetic_scenarios(50)]
    many_queries = all_queries(names)
    many_answers = many.increases(many_queries, prometheus.at)
    # One per layout (errors, total, bucket, count), each over its 8 windows, whatever the
    # number of services.
    assert few.requests_made == many.requests_made == 4
    assert len(many_answers) == len(many_queries) == 50 * 2 * 2 * 8
    assert all(m.status == "ok" for m in few_answers.values())


@pytest.mark.prometheus
@pytest.mark.parametrize("step", [60, 617])
def test_a_range_answers_what_each_instant_does(tsdb: RunningPrometheus, step: int) -> None:
    """query_range at every instant of a grid: the instant query's numbers, and the embedded
    source's, point for point (an odd step lands between samples)."""
    prometheus = tsdb
    queries = all_queries(["checkout", "payments", "lowtraffic"])
    grid = InstantGrid(end=prometheus.at, step=step, count=9)
    source = PrometheusSource(prometheus.url)
    ranged = source.increase_range(queries, grid)
    # One request per batch, as for one instant: the grid costs no extra requests.
    assert source.requests_made == len(plan(queries, "service"))
    file = EmbeddedSource.from_file(prometheus.history.path)
    embedded = file.increase_range(queries, grid)
    assert ranged.keys() == embedded.keys() == set(queries)
    exact = prometheus.engine != "prometheus"
    compared = 0
    for k in (0, 4, 8):
        at = grid.instants()[k]
        instant = PrometheusSource(prometheus.url).increases(queries, at)
        # VictoriaMetrics between samples: Prometheus's answer at the last sample's instant.
        expected = file.increases(queries, compared_at(tsdb, at)) if exact else None
        for query in queries:
            ours, point = ranged[query][k], instant[query]
            theirs = expected[query] if expected is not None else embedded[query][k]
            assert ours.status == point.status == theirs.status, (query, k)
            if ours.status == "ok":
                assert ours.value is not None and point.value is not None
                assert theirs.value is not None
                assert relative_difference(ours.value, point.value) <= 1e-9, (query, k)
                if exact:
                    same = agrees(tsdb, query, compared_at(tsdb, at), ours.value, theirs.value)
                    assert same, (query, k)
                else:
                    assert relative_difference(ours.value, theirs.value) <= 1e-3, (query, k)
                compared += 1
    assert all(len(points) == grid.count for points in ranged.values())
    assert compared >= 3 * (len(queries) - 2 * len(WINDOWS))


def test_plan_groups_by_layout_and_escapes_regex_values() -> None:
    selector = Selector(metric="m", matchers=(Matcher(label="code", op="=~", value="5.."),))
    queries = [
        IncreaseQuery(
            selector=Selector(
                metric="m", matchers=(*selector.matchers, Matcher(label="service", op="=", value=v))
            ),
            window=300,
        )
        for v in ("a.b", 'q"x', "p|q")
    ]
    (batch,) = plan(queries, "service")
    assert batch.promql == (
        'label_replace(sum by (service) (increase(m{code=~"5..", service=~"a\\\\.b|p\\\\|q|q\\"x"}'
        '[5m])), "safedeploy_window", "5m", "", "")'
    )
    assert set(batch.members) == {("5m", "a.b"), ("5m", 'q"x'), ("5m", "p|q")}


ODD_SERVICES = {"a.b": 1, "aXb": 2, 'quote"d': 3, "back\\slash": 4, "p|q": 5, "(paren": 6}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@pytest.fixture(scope="module")
def odd_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    """Label values with regex and quoting characters, each at its own rate per minute."""
    workdir = tmp_path_factory.mktemp("odd-labels")
    end = int(AT.timestamp())
    times = range(end - 7_200 + 60, end + 1, 60)
    lines = ["# TYPE http_requests counter"]
    for service, rate in ODD_SERVICES.items():
        prefix = f'http_requests_total{{service="{_escape(service)}"}}'
        lines += [f"{prefix} {1000 + rate * i} {t}" for i, t in enumerate(times)]
    lines.append("# EOF")
    path = workdir / "history.om"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    backfill(path, workdir / "data")
    history = History(path, times[0], end, 60, (), {}, len(ODD_SERVICES), 0)
    with serve(workdir / "data", history) as running:
        yield running


@pytest.mark.prometheus
@pytest.mark.parametrize("batched", [True, False])
def test_label_values_are_escaped(odd_prometheus: RunningPrometheus, batched: bool) -> None:
    def query(service: str) -> IncreaseQuery:
        matcher = Matcher(label="service", op="=", value=service)
        return IncreaseQuery(
            selector=Selector(metric="http_requests_total", matchers=(matcher,)), window=3_600
        )

    source = PrometheusSource(odd_prometheus.url)
    if batched:
        answers = dict(source.increases([query(s) for s in ODD_SERVICES], AT))
    else:
        answers = {}
        for service in ODD_SERVICES:
            answers.update(source.increases([query(service)], AT))
    assert source.requests_made == (1 if batched else len(ODD_SERVICES))
    for service, rate in ODD_SERVICES.items():
        measurement = answers[query(service)]
        assert measurement.status == "ok", (service, measurement)
        assert measurement.value == pytest.approx(60 * rate, rel=1e-9), service


# Faults from a local HTTP server


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0  # before anything is sent
    pause: float = 0.0  # between the first half of the body and the rest
    trickle: float = 0.0  # between every byte of the body


def tagged(labels: dict[str, str], window: str | None) -> dict[str, str]:
    """The labels a batch's series carry: the service's and the window's tag (`plan`)."""
    return labels if window is None else {**labels, WINDOW_LABEL: window}


def windows_of(promql: str) -> list[str]:
    return re.findall(rf'"{WINDOW_LABEL}", "([^"]+)"', promql)


def vector(
    *samples: tuple[dict[str, str], str], result_type: str = "vector", window: str | None = "1h"
) -> bytes:
    result = [
        {"metric": tagged(labels, window), "value": [AT.timestamp(), value]}
        for labels, value in samples
    ]
    return json.dumps(
        {"status": "success", "data": {"resultType": result_type, "result": result}}
    ).encode()


def matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> bytes:
    result = [{"metric": tagged(labels, "1h"), "values": values} for labels, values in series]
    return json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": result}}
    ).encode()


@dataclass
class FaultServer:
    url: str
    queries: list[str]
    script: list[Callable[[str], Reply]]
    paths: list[str] = field(default_factory=list)

    def answer(self, *replies: Reply | Callable[[str], Reply]) -> None:
        """Replies in turn, the last one for every later request."""
        self.script[:] = [r if callable(r) else _always(r) for r in replies]


def _always(reply: Reply) -> Callable[[str], Reply]:
    return lambda _promql: reply


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    stopping = threading.Event()
    server_state = FaultServer("", [], [lambda _q: Reply(body=vector())])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            promql = form.get("query", [""])[0]
            index = len(server_state.queries)
            server_state.queries.append(promql)
            server_state.paths.append(self.path)
            reply = server_state.script[min(index, len(server_state.script) - 1)](promql)
            if stopping.wait(reply.delay):
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.trickle:
                for byte in reply.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    if stopping.wait(reply.trickle):
                        return
                return
            half = len(reply.body) // 2
            self.wfile.write(reply.body[:half])
            self.wfile.flush()
            if stopping.wait(reply.pause):
                return
            self.wfile.write(reply.body[half:])

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def source_for(url: str, **options: float) -> PrometheusSource:
    client = PrometheusClient(
        url,
        timeout=options.get("timeout", 2.0),
        retries=int(options.get("retries", 2)),
        backoff=0.01,
    )
    return PrometheusSource(url, client=client)


CHECKOUT_TOTAL = IncreaseQuery(
    selector=Selector(
        metric="http_requests_total", matchers=(Matcher(label="service", op="=", value="checkout"),)
    ),
    window=3_600,
)
INNER = 'sum by (service) (increase(http_requests_total{service="checkout"}[1h]))'
PROMQL = f'label_replace({INNER}, "{WINDOW_LABEL}", "1h", "", "")'
# In every reason about checkout's 1h total: the batch's query, or its own part of it.
OWN = 'increase(http_requests_total{service="checkout"}[1h])'


def one(source: PrometheusSource) -> Measurement:
    return source.increases([CHECKOUT_TOTAL], AT)[CHECKOUT_TOTAL]


def assert_names_url_and_query(measurement: Measurement, url: str, *fragments: str) -> None:
    assert measurement.status in {"failed", "invalid", "empty"}
    assert measurement.value is None
    reason = measurement.reason or ""
    assert f"{url}/api/v1/query" in reason, reason
    assert OWN in reason, reason
    for fragment in fragments:
        assert fragment in reason, reason


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    source = source_for(url)
    measurement = one(source)
    assert measurement.status == "failed"
    assert_names_url_and_query(measurement, url, "cannot connect (ConnectError)")
    assert source.requests_made == 3


def test_hang_past_the_timeout(fault_server: FaultServer) -> None:
    fault_server.answer(Reply(body=vector(({"service": "checkout"}, "5")), delay=3.0))
    source = source_for(fault_server.url, timeout=0.3, retries=1)
    measurement = one(source)
    assert measurement.status == "failed"
    assert_names_url_and_query(measurement, fault_server.url, "timed out after 0.3s")
    assert len(fault_server.queries) == 2


def test_slow_body(fault_server: FaultServer) -> None:
    fault_server.answer(Reply(body=vector(({"service": "checkout"}, "5")), pause=3.0))
    source = source_for(fault_server.url, timeout=0.3, retries=0)
    measurement = one(source)
    assert measurement.status == "failed"
    assert_names_url_and_query(measurement, fault_server.url, "timed out after 0.3s")


def test_body_trickled_under_the_read_timeout_still_times_out(
    fault_server: FaultServer,
) -> None:
    # Every byte arrives well within httpx's per-read timeout; the whole answer does not.
    fault_server.answer(Reply(body=vector(({"service": "checkout"}, "5")), trickle=0.05))
    source = source_for(fault_server.url, timeout=0.5, retries=0)
    started = time.monotonic()
    measurement = one(source)
    assert time.monotonic() - started < 2.0
    assert measurement.status == "failed"
    assert_names_url_and_query(measurement, fault_server.url, "timed out after 0.5s")


def test_a_hanging_prometheus_costs_the_deadline_not_every_query(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    fault_server.answer(Reply(body=vector(), delay=30.0))
    source = PrometheusSource(fault_server.url, timeout=0.5, retries=2, deadline=1.5)
    started = time.monotonic()
    statuses = evaluate_services(catalog(tmp_path, "a", "b"), source, AT)
    elapsed = time.monotonic() - started
    # 32 queries x 3 attempts x 0.5 s would be 48 s; the deadline stops it near 1.5 s.
    assert elapsed < 5.0, elapsed
    reasons = [s.reason for st in statuses for s in st.slos]
    assert all(s.severity == "unknown" for st in statuses for s in st.slos)
    assert any("deadline of 1.5s passed" in r for r in reasons), reasons
    assert len(fault_server.queries) < 32


def test_one_deadline_covers_every_batch_of_a_run(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    """The SLO batch and the canary batch of one run share the run's deadline: a second
    batch after a hang fails at once instead of waiting for a deadline of its own."""
    fault_server.answer(Reply(body=vector(), delay=30.0))
    source = PrometheusSource(fault_server.url, timeout=0.5, retries=0, deadline=0.4)
    services = catalog(tmp_path, "a")
    evaluate_services(services, source, AT)
    asked = len(fault_server.queries)
    started = time.monotonic()
    [again] = evaluate_services(services, source, AT)
    assert time.monotonic() - started < 0.5
    assert len(fault_server.queries) == asked  # nothing more was sent
    assert all("deadline of 0.4s passed" in slo.reason for slo in again.slos)


def test_error_then_success_is_retried(fault_server: FaultServer) -> None:
    fault_server.answer(
        Reply(status=500, body=b'{"status":"error","error":"overloaded"}'),
        Reply(body=vector(({"service": "checkout"}, "1234.5"))),
    )
    source = source_for(fault_server.url)
    measurement = one(source)
    assert measurement == Measurement.of(1234.5)
    assert source.requests_made == len(fault_server.queries) == 2
    assert fault_server.queries == [PROMQL, PROMQL]


def test_unavailable_every_time(fault_server: FaultServer) -> None:
    fault_server.answer(Reply(status=503, body=b"busy"))
    source = source_for(fault_server.url, retries=3)
    measurement = one(source)
    assert_names_url_and_query(measurement, fault_server.url, "HTTP 503")
    assert measurement.status == "failed"
    assert source.requests_made == len(fault_server.queries) == 4


STATUS_ERROR = (
    b'{"status":"error","errorType":"bad_data","error":"1:1: parse error: unexpected end"}'
)


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (Reply(body=b"<html>proxy login</html>"), "invalid body"),
        (Reply(status=400, body=STATUS_ERROR), "bad_data: 1:1: parse error"),
        (Reply(body=vector(({}, "5"), result_type="matrix")), "resultType"),
        (
            Reply(
                body=b'{"status":"success","data":{"resultType":"scalar",'
                b'"result":[1790000000,"5"]}}'
            ),
            "invalid body",
        ),
        (Reply(body=vector(({"service": "checkout"}, "NaN"))), "the source returned nan"),
        (Reply(body=vector(({"service": "checkout"}, "+Inf"))), "the source returned inf"),
        (Reply(body=vector(({"service": "checkout"}, "-3"))), "negative increase"),
        (Reply(body=vector(({"service": "checkout"}, "many"))), "the source returned 'many'"),
    ],
    ids=[
        "garbage",
        "status-error",
        "matrix",
        "scalar",
        "nan",
        "inf",
        "negative",
        "not-a-number",
    ],
)
def test_bad_answers_fail_naming_url_and_query(
    fault_server: FaultServer, reply: Reply, fragment: str
) -> None:
    fault_server.answer(reply)
    source = source_for(fault_server.url)
    measurement = one(source)
    # A refusal (HTTP 400 with the API's error) is a failure; anything else is an answer
    # no honest server gives.
    assert measurement.status == ("failed" if reply.status >= 400 else "invalid")
    assert_names_url_and_query(measurement, fault_server.url, fragment)
    # A well-formed refusal is not retried; only transport errors and 5xx are.
    assert source.requests_made == 1


def test_empty_vector_is_empty_naming_url_and_query(fault_server: FaultServer) -> None:
    fault_server.answer(Reply(body=vector()))
    measurement = one(source_for(fault_server.url))
    assert measurement.status == "empty"
    assert_names_url_and_query(measurement, fault_server.url, "no series with service='checkout'")


# The same faults at the SLO level: unknown with the reason, never normal or a breach


def catalog(tmp_path: Path, *names: str) -> list[Service]:
    for name in names:
        write_service(tmp_path / "services", name)
    return list(load_catalog([tmp_path / "services"]).services)


def healthy_for(*services: str) -> Callable[[str], Reply]:
    """Every query answered for `services` only: 1000 requests, no error, none slow."""

    def reply(promql: str) -> Reply:
        value = "0" if 'code=~"5.."' in promql else "1000"
        samples = [
            tagged({"service": s}, window) for window in windows_of(promql) for s in services
        ]
        return Reply(body=vector(*((labels, value) for labels in samples), window=None))

    return reply


FAULTS: dict[str, tuple[Reply, str]] = {
    "garbage": (Reply(body=b"not json"), "invalid body"),
    "status-error": (Reply(status=422, body=STATUS_ERROR), "bad_data"),
    "matrix": (Reply(body=vector(result_type="matrix")), "resultType"),
    "nan": (Reply(body=vector(({"service": "a"}, "NaN"), ({"service": "b"}, "NaN"))), "nan"),
    "inf": (Reply(body=vector(({"service": "a"}, "+Inf"), ({"service": "b"}, "+Inf"))), "inf"),
    "empty": (Reply(body=vector()), "returned no series"),
    "503": (Reply(status=503, body=b""), "HTTP 503"),
    "hang": (Reply(body=vector(), delay=3.0), "timed out"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_faults_make_every_slo_unknown(
    fault_server: FaultServer, tmp_path: Path, fault: str
) -> None:
    reply, fragment = FAULTS[fault]
    fault_server.answer(reply)
    source = source_for(fault_server.url, timeout=0.1, retries=0)
    statuses = evaluate_services(catalog(tmp_path, "a", "b"), source, AT)
    for service in statuses:
        assert service.severity == "unknown"
        for slo in service.slos:
            assert slo.severity == "unknown", (slo.slo, slo.reason)
            assert f"{fault_server.url}/api/v1/query" in slo.reason
            assert fragment in slo.reason, slo.reason
            assert slo.budget.remaining is None
            assert all(v.state == "unknown" for v in slo.alerts)


def test_refused_connection_makes_every_slo_unknown_without_waiting(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    source = source_for(url, retries=2)
    statuses = evaluate_services(catalog(tmp_path, "a", "b"), source, AT)
    assert [s.severity for st in statuses for s in st.slos] == ["unknown"] * 4
    for slo in (s for st in statuses for s in st.slos):
        assert f"{url}/api/v1/query" in slo.reason and "cannot connect" in slo.reason
        assert "sum by (service) (increase(" in slo.reason
    # The first queries in flight used their retries; the rest were not sent to a closed
    # port: the count is bounded by the concurrency, not by the 4 queries.
    assert source.requests_made <= 3 * source.concurrency


def test_a_series_missing_for_one_service_only(fault_server: FaultServer, tmp_path: Path) -> None:
    fault_server.answer(healthy_for("a"))
    source = source_for(fault_server.url)
    a, b = evaluate_services(catalog(tmp_path, "a", "b"), source, AT)
    assert a.severity == "normal"
    assert a.slos[0].windows["1h"].total == 1000 and a.slos[0].windows["1h"].sli == 1.0
    assert b.severity == "unknown"
    for slo in b.slos:
        assert slo.severity == "unknown"
        assert "no data for the total" in slo.reason
        assert f"{fault_server.url}/api/v1/query returned no series with service='b'" in slo.reason
    # One query per window and layout for both services: the batch is shared. One more
    # per metric b's selectors never matched looks at its labels (this server cannot
    # answer that, so b stays unknown, never "no errors").
    assert source.requests_made == len(fault_server.queries) == 4 + 3
    assert fault_server.paths.count("/api/v1/labels") == 3


def test_a_transient_failure_is_absorbed(fault_server: FaultServer, tmp_path: Path) -> None:
    fault_server.answer(Reply(status=502, body=b""), healthy_for("a"))
    source = source_for(fault_server.url)
    (a,) = evaluate_services(catalog(tmp_path, "a"), source, AT)
    assert a.severity == "normal"
    assert source.requests_made == 5


# Ranges from a local HTTP server

GRID = InstantGrid(end=AT, step=60, count=5)


def ranged(source: PrometheusSource) -> tuple[Measurement, ...]:
    return source.increase_range([CHECKOUT_TOTAL], GRID)[CHECKOUT_TOTAL]


def test_a_range_goes_to_query_range_and_fills_each_instant(fault_server: FaultServer) -> None:
    times = [t.timestamp() for t in GRID.instants()]
    # The server skips the second instant: no series matched there.
    points = [(times[0], "10"), (times[2], "30"), (times[3], "40"), (times[4], "50")]
    fault_server.answer(Reply(body=matrix(({"service": "checkout"}, points))))
    answers = ranged(source_for(fault_server.url))
    assert [m.value for m in answers] == [10.0, None, 30.0, 40.0, 50.0]
    assert answers[1].status == "empty"
    assert f"{fault_server.url}/api/v1/query_range" in (answers[1].reason or "")
    assert OWN in (answers[1].reason or "")
    assert fault_server.paths == ["/api/v1/query_range"]
    assert fault_server.queries == [PROMQL]


@pytest.mark.parametrize("where", ["off the grid", "twice", "after the end"])
def test_a_range_point_not_at_an_asked_instant_fails_every_instant(
    fault_server: FaultServer, where: str
) -> None:
    times = [t.timestamp() for t in GRID.instants()]
    odd = {"off the grid": times[2] + 7, "twice": times[2], "after the end": times[4] + GRID.step}
    points = sorted([(t, "1") for t in times] + [(odd[where], "99")])
    fault_server.answer(Reply(body=matrix(({"service": "checkout"}, points))))
    answers = ranged(source_for(fault_server.url))
    assert {m.status for m in answers} == {"invalid"}
    assert "not one of the asked instants" in (answers[0].reason or "")
    assert PROMQL in (answers[0].reason or "")


def test_a_range_shares_the_retries_and_names_the_range_url(fault_server: FaultServer) -> None:
    fault_server.answer(Reply(status=503, body=b"busy"))
    source = source_for(fault_server.url, retries=2)
    answers = ranged(source)
    assert len(answers) == GRID.count
    assert {m.status for m in answers} == {"failed"}
    reason = answers[0].reason or ""
    assert f"{fault_server.url}/api/v1/query_range failed for {PROMQL}: HTTP 503" in reason
    assert source.requests_made == 3


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (Reply(body=vector(({"service": "checkout"}, "5"))), "resultType"),
        (
            Reply(body=matrix(({"service": "checkout"}, [(AT.timestamp(), "NaN")]))),
            "the source returned nan",
        ),
        (
            Reply(body=matrix(({"service": "checkout"}, [(AT.timestamp(), "1")] * 400))),
            "answered more than 4096 bytes",
        ),
    ],
    ids=["vector", "nan", "too-large"],
)
def test_bad_range_answers_fail_naming_url_and_query(
    fault_server: FaultServer, reply: Reply, fragment: str
) -> None:
    fault_server.answer(reply)
    source = source_for(fault_server.url)
    source.client.max_body = 4096
    answers = ranged(source)
    last = answers[-1]
    # Too large is a limit of ours, not a lie of the server's.
    assert last.status == ("failed" if "more than" in fragment else "invalid"), answers
    assert f"{fault_server.url}/api/v1/query_range" in (last.reason or "")
    assert fragment in (last.reason or "")
    assert source.requests_made == 1
