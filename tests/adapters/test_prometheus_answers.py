"""Every answer is checked: through a lying proxy in front of the real Prometheus, each
impossible answer makes exactly the SLOs it feeds unknown, naming the query and the lie.

Before these checks each of these lies made a service in breach read GREEN (two series
for one service, a series split by an extra label, errors under another service's label,
a sample from 35 minutes ago), or opened an incident at a healthy instant (errors above
the total, a sample from the future).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.prometheus import PrometheusSource
from safedeploy.domain.catalog import Service
from safedeploy.domain.measurements import InstantGrid
from safedeploy.domain.sli_queries import queries_for
from safedeploy.domain.slo import SLOStatus
from safedeploy.usecases.slo_status import evaluate_services
from testing.builders import write_service
from testing.cli import Runner
from testing.gitrepos import EnvRemote
from testing.lying_proxy import (
    Asked,
    LyingProxy,
    Rewrite,
    duplicated,
    relabelled,
    restamped,
    retyped,
    revalued,
    split_by,
)
from testing.prometheus import RunningPrometheus

pytestmark = pytest.mark.prometheus

NAMES = ("checkout", "payments", "inventory")


def catalog(tmp_path: Path) -> list[Service]:
    for name in NAMES:
        write_service(tmp_path / "services", name)
    return list(load_catalog([tmp_path / "services"]).services)


def evaluated(url: str, services: list[Service], at: datetime) -> dict[tuple[str, str], SLOStatus]:
    statuses = evaluate_services(services, PrometheusSource(url), at)
    return {(st.service, s.slo): s for st in statuses for s in st.slos}


def errors_1h(asked: Asked) -> bool:
    return 'code=~"5.."' in asked.promql and "[1h]" in asked.promql


def errors_queries(asked: Asked) -> bool:
    return 'code=~"5.."' in asked.promql


def bucket_queries(asked: Asked) -> bool:
    return "_bucket" in asked.promql


def test_the_truth_through_the_proxy_is_the_truth(
    lying_proxy: LyingProxy, prometheus: RunningPrometheus, tmp_path: Path
) -> None:
    services = catalog(tmp_path)
    direct = evaluated(prometheus.url, services, prometheus.at)
    proxied = evaluated(lying_proxy.url, services, prometheus.at)
    assert proxied == direct
    assert direct[("checkout", "availability")].severity == "fast-burn"
    assert direct[("inventory", "availability")].severity == "normal"
    assert any(a.path == "/api/v1/query" for a in lying_proxy.asked)


LIES: dict[str, tuple[Rewrite, str]] = {
    "two series for one service": (
        duplicated(errors_1h),
        "two series with service='checkout'",
    ),
    "one service split by an extra label": (
        split_by("pod", errors_1h),
        "a series labelled {pod='a', service='checkout'}, expected only service",
    ),
    "errors under a service nobody asked about": (
        relabelled("service", "checkout", "checkout-canary", errors_1h),
        "a series for service='checkout-canary', which was not asked for",
    ),
    "a sample from 35 minutes ago": (
        restamped(-35 * 60, errors_1h),
        "stamped 2026-10-31T23:25:00Z, 35m before the asked 2026-11-01T00:00:00Z",
    ),
    "a sample from the future": (
        restamped(3_600, errors_1h),
        "stamped 2026-11-01T01:00:00Z, 1h after the asked 2026-11-01T00:00:00Z",
    ),
    "a negative increase": (
        revalued(lambda v: repr(-v - 1), errors_1h),
        "a negative increase",
    ),
    "NaN": (revalued(lambda _v: "NaN", errors_1h), "the source returned nan"),
}


@pytest.mark.parametrize("lie", list(LIES), ids=list(LIES))
def test_an_impossible_answer_makes_the_slos_it_feeds_unknown(
    lying_proxy: LyingProxy, prometheus: RunningPrometheus, tmp_path: Path, lie: str
) -> None:
    rewrite, problem = LIES[lie]
    services = catalog(tmp_path)
    lying_proxy.rewrite = rewrite
    found = evaluated(lying_proxy.url, services, prometheus.at)
    for name in NAMES:
        # The errors query answers every service's availability at once, in every window
        # (one query per layout): none of it is believed, and a source caught lying is not
        # believed for the rest of the SLO either: checkout, in breach on the true numbers,
        # is unknown too, not fast-burn.
        availability = found[(name, "availability")]
        assert availability.severity == "unknown", (name, availability.reason)
        assert availability.no_data and availability.budget.remaining is None
        assert {w.cause for w in availability.windows.values()} == {"bad-data"}
        assert {w.burn_rate for w in availability.windows.values()} == {None}
        one_hour = availability.windows["1h"]
        assert problem in (one_hour.reason or ""), one_hour.reason
        # The query is named: the whole batch for a lie about its series, or for a bad
        # value the one service's part of it.
        assert 'code=~"5.."' in (one_hour.reason or "")
        assert "increase(http_requests_total{" in (one_hour.reason or "")
        assert "[1h]" in (one_hour.reason or "")
        assert lying_proxy.url in (one_hour.reason or "")
        assert availability.reason == availability.windows["5m"].reason
        # Latency comes from other queries, which told the truth.
        assert found[(name, "latency")].severity != "unknown"


def test_errors_above_the_total_are_unknown_not_an_incident_at_100000_percent(
    lying_proxy: LyingProxy, prometheus: RunningPrometheus, tmp_path: Path
) -> None:
    services = catalog(tmp_path)
    lying_proxy.rewrite = revalued(lambda v: repr(v + 1e9), errors_queries)
    found = evaluated(lying_proxy.url, services, prometheus.at)
    for name in NAMES:
        availability = found[(name, "availability")]
        assert availability.severity == "unknown", availability.reason
        assert availability.budget.consumed is None
        assert "above the total" in availability.reason
        assert {w.cause for w in availability.windows.values()} == {"bad-data"}


def test_a_latency_bucket_above_its_count_is_unknown_not_a_perfect_sli(
    lying_proxy: LyingProxy, prometheus: RunningPrometheus, tmp_path: Path
) -> None:
    services = catalog(tmp_path)
    lying_proxy.rewrite = revalued(lambda v: repr(v * 2 + 1_000), bucket_queries)
    found = evaluated(lying_proxy.url, services, prometheus.at)
    for name in NAMES:
        latency = found[(name, "latency")]
        assert latency.severity == "unknown"
        assert "good events" in latency.reason and "above the total" in latency.reason
        assert found[(name, "availability")].severity != "unknown"


def test_a_range_point_off_the_asked_instants_fails_the_whole_batch(
    lying_proxy: LyingProxy, prometheus: RunningPrometheus, tmp_path: Path
) -> None:
    [checkout, *_] = catalog(tmp_path)
    query = queries_for(checkout.spec.slos[0])[3_600].total
    grid = InstantGrid(end=prometheus.at, step=60, count=5)
    truth = PrometheusSource(lying_proxy.url).increase_range([query], grid)[query]
    assert all(m.status == "ok" for m in truth)
    lying_proxy.rewrite = restamped(30)
    lied = PrometheusSource(lying_proxy.url).increase_range([query], grid)[query]
    assert {m.status for m in lied} == {"invalid"}
    assert "not one of the asked instants" in (lied[0].reason or "")
    assert "/api/v1/query_range" in (lied[0].reason or "")


def test_every_series_of_a_range_answer_is_checked_too(
    lying_proxy: LyingProxy, prometheus: RunningPrometheus, tmp_path: Path
) -> None:
    [checkout, *_] = catalog(tmp_path)
    query = queries_for(checkout.spec.slos[0])[3_600].total
    grid = InstantGrid(end=prometheus.at - timedelta(minutes=10), step=60, count=3)
    lying_proxy.rewrite = duplicated()
    lied = PrometheusSource(lying_proxy.url).increase_range([query], grid)[query]
    assert {m.status for m in lied} == {"invalid"}
    assert "two series with service='checkout'" in (lied[0].reason or "")


END_TO_END: dict[str, Rewrite] = {
    **{lie: rewrite for lie, (rewrite, _) in LIES.items()},
    # Asked alone, each service's answer holds only its own series: file inventory's under
    # a name nobody asked for, so the lie reaches the gate of the healthy service too.
    "errors under a service nobody asked about": relabelled(
        "service", "inventory", "checkout-canary", errors_1h
    ),
    "errors above the total": revalued(lambda v: repr(v + 1e9), errors_1h),
    "a matrix for a vector": retyped("matrix", errors_1h),
    "a scalar for a vector": retyped("scalar", errors_1h),
}


# Every lie is checked at the client above; end to end, two kinds run by default (a bad
# value, and a series nobody asked for, which only the whole command shows) and all of
# them in the soak run.
DEFAULT_END_TO_END = ("NaN", "errors under a service nobody asked about")


@pytest.mark.parametrize(
    "lie",
    [
        pytest.param(lie, id=lie, marks=() if lie in DEFAULT_END_TO_END else (pytest.mark.soak,))
        for lie in END_TO_END
    ],
)
def test_a_lying_proxy_never_yields_green_or_a_proposal(
    cli: Runner,
    lying_proxy: LyingProxy,
    prometheus: RunningPrometheus,
    env_remote: EnvRemote,
    tmp_path: Path,
    lie: str,
) -> None:
    """The real commands through the proxy: on the truth checkout opens an incident with
    proposals and inventory may promote; one lie about the 1h errors and neither happens."""
    for name in ("checkout", "inventory"):
        write_service(tmp_path / "services", name)
    (tmp_path / "safedeploy.toml").write_text(
        f'[prometheus]\nurl = "{lying_proxy.url}"\n[environment]\nrepo = "{env_remote.path}"\n'
    )
    at = "2026-11-01T00:00:00Z"
    truth = cli("reconcile", "--at", at, "--dry-run", "--json")
    assert truth.code == 0, truth.stdout + truth.stderr
    assert json.loads(truth.stdout)["created"]["proposals"]
    assert cli("gate", "inventory", "--at", at).code == 0
    lying_proxy.rewrite = END_TO_END[lie]
    gated = cli("gate", "inventory", "--at", at)
    assert gated.code == 3, (gated.stdout, gated.stderr)
    assert "cannot decide on promotion" in gated.stdout
    # checkout's own answer may be the truth (in breach: 1) or a lie (3); never 0.
    assert cli("gate", "checkout", "--at", at).code in (1, 3)
    done = cli("reconcile", "--at", at, "--json")
    assert done.code == 3, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["created"] == {"incidents": [], "proposals": []}
    assert {s["severity"] for s in result["services"]} == {"unknown"}
    assert {s["decision"] for s in result["services"]} == {"UNKNOWN"}
    assert not (tmp_path / "action-proposals").exists() or not any(
        (tmp_path / "action-proposals").iterdir()
    )
