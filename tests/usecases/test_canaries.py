"""Canary analysis end to end: per-version SLIs from the embedded source, versions from a
real environment repo, through the real `safedeploy reconcile`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safedeploy.domain.canary import CanaryQueries, canary_queries, canary_verdict
from safedeploy.domain.catalog import Service
from safedeploy.domain.chart_series import POINTS
from safedeploy.domain.measurements import Measurement
from testing.builders import service_yaml
from testing.cli import Runner
from testing.gitrepos import EnvRemote
from testing.lying_proxy import LyingProxy
from testing.svg import panels

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
STABLE, CANARY = "1.4.2", "1.5.0"


def _service(text: str) -> Service:
    from ruamel.yaml import YAML

    return Service.model_validate(YAML(typ="safe").load(text))


def _canary_yaml() -> str:
    """Availability only: the canary is judged on it, and no latency series are needed."""
    text = service_yaml("checkout").replace(
        "    strategy: canary\n", "    strategy: canary\n    canary_analysis: true\n"
    )
    return text[: text.index("    - name: latency")]


DAYS = 31
CANARY_MINUTES = 30


def _series(version: str, code: str, per_minute: float, *, canary: bool) -> str:
    """A month of samples every 5 minutes, then every minute for the last two hours; the
    canary's series start when it does."""
    end = int(AT.timestamp())
    start = end - (CANARY_MINUTES * 60 if canary else DAYS * 86_400)
    fine = end - 7_200
    times = [*range(start, fine, 300), *range(max(start, fine), end + 1, 60)]
    labels = f'service="checkout",code="{code}",version="{version}"'
    return "".join(
        f"http_requests_total{{{labels}}} {int(per_minute * (t - start) / 60)} {t}\n" for t in times
    )


def _metrics(canary_error_share: float) -> str:
    """Stable serves 100 requests a minute with 0.01% errors; for the last half hour a canary
    takes 20 more with the given share of errors."""
    parts = [
        "# TYPE http_requests counter\n",
        _series(STABLE, "200", 100 * 0.9999, canary=False),
        _series(STABLE, "500", 100 * 0.0001, canary=False),
        _series(CANARY, "200", 20 * (1 - canary_error_share), canary=True),
        _series(CANARY, "500", 20 * canary_error_share, canary=True),
        "# EOF\n",
    ]
    return "".join(parts)


def _queries(service: Service) -> CanaryQueries:
    queries = canary_queries(service, CANARY, STABLE, 600)
    assert queries is not None
    return queries


@pytest.mark.parametrize(
    ("canary", "stable", "state"),
    [
        ((10, 200), (1, 800), "failing"),  # 5% vs 0.125%: over the 2-point limit
        ((3, 200), (1, 800), "healthy"),  # 1.5% vs 0.125%: within it
        ((0, 20), (1, 800), "unknown"),  # too little canary traffic to judge
        ((0, 0), (1, 800), "not-running"),
        ((1, 800), (0, 0), "not-running"),  # only the new version serves: rollout complete
        ((300, 200), (1, 800), "unknown"),  # more errors than requests: a broken answer
    ],
)
def test_canary_verdict(
    canary: tuple[float, float], stable: tuple[float, float], state: str
) -> None:
    service = _service(_canary_yaml())
    q = _queries(service)
    results = {
        q.canary_errors: Measurement.of(canary[0]),
        q.canary_total: Measurement.of(canary[1]),
        q.stable_errors: Measurement.of(stable[0]),
        q.stable_total: Measurement.of(stable[1]),
    }
    verdict = canary_verdict(service, q, results, min_events=100, window="10m")
    assert verdict.state == state, verdict.detail


@pytest.mark.parametrize(
    ("canary_total", "state"),
    [
        (Measurement.failed("the evaluation's deadline of 60s passed"), "unknown"),
        (Measurement.invalid("two series with service='checkout'"), "unknown"),
        (Measurement.empty(), "not-running"),
    ],
    ids=["failed", "invalid", "empty"],
)
def test_a_canary_whose_traffic_cannot_be_read_is_unknown_not_idle(
    canary_total: Measurement, state: str
) -> None:
    """No series is no canary; a source that failed (or lied, or ran out of the run's
    deadline) says nothing about the canary, which used to read as "not running" and let
    the release pass."""
    service = _service(_canary_yaml())
    q = _queries(service)
    results = {
        q.canary_errors: Measurement.empty(),
        q.canary_total: canary_total,
        q.stable_errors: Measurement.of(1),
        q.stable_total: Measurement.of(800),
    }
    verdict = canary_verdict(service, q, results, min_events=100, window="10m")
    assert verdict.state == state, verdict.detail
    if state == "unknown":
        assert verdict.detail == f"{CANARY}: traffic unknown ({canary_total.reason})"


def test_canary_queries_pin_the_version_label() -> None:
    q = _queries(_service(_canary_yaml()))
    assert q.canary_errors.selector.render() == (
        'http_requests_total{service="checkout", code=~"5..", version="1.5.0"}'
    )
    assert q.stable_total.selector.render() == (
        'http_requests_total{service="checkout", version="1.4.2"}'
    )


def _state(tmp_path: Path, env_remote: EnvRemote, metrics: str) -> Path:
    state = tmp_path / "state"
    (state / "services").mkdir(parents=True)
    (state / "services" / "checkout.yaml").write_text(_canary_yaml())
    (state / "metrics.om").write_text(metrics)
    (state / "safedeploy.toml").write_text(
        f'[prometheus]\nmetrics_file = "metrics.om"\n[environment]\nrepo = "{env_remote.path}"\n'
    )
    return state


def test_failing_canary_opens_an_incident_and_proposes_the_rollback(
    cli: Runner, tmp_path: Path, env_remote: EnvRemote
) -> None:
    state = _state(tmp_path, env_remote, _metrics(canary_error_share=0.10))
    result = cli("--state", str(state), "reconcile", "--at", AT.isoformat(), "--json")
    data = json.loads(result.stdout)
    [service] = data["services"]
    assert service["severity"] == "fast-burn", result.stdout
    assert service["reason"].startswith("canary 1.5.0 error ratio 10.00% vs stable 1.4.2 0.0")
    incident = service["incident"]
    assert f"{incident}-rollback-rollout" in service["proposals"]
    proposal = json.loads(
        (state / f"action-proposals/{incident}-rollback-rollout.json").read_text()
    )
    assert proposal["rule"] == "canary-health"
    assert proposal["change"]["from_version"] == CANARY
    assert proposal["change"]["to_version"] == STABLE


def test_healthy_canary_is_proposed_for_promotion_once(
    cli: Runner, tmp_path: Path, env_remote: EnvRemote
) -> None:
    state = _state(tmp_path, env_remote, _metrics(canary_error_share=0.0))
    first = json.loads(
        cli("--state", str(state), "reconcile", "--at", AT.isoformat(), "--json").stdout
    )
    [service] = first["services"]
    assert service["severity"] == "normal" and service["incident"] is None
    assert first["created"]["proposals"] == ["checkout-release-1-5-0-promote-canary"]
    proposal = json.loads(
        (state / "action-proposals/checkout-release-1-5-0-promote-canary.json").read_text()
    )
    assert proposal["release"] == "checkout-release-1-5-0" and proposal["incident_id"] is None
    assert (state / "evidence/release-checkout-release-1-5-0/README.md").is_file()
    later = AT.replace(minute=1).isoformat()
    second = json.loads(cli("--state", str(state), "reconcile", "--at", later, "--json").stdout)
    assert second["created"]["proposals"] == []


def test_a_judged_canary_is_charted_against_stable(
    cli: Runner, tmp_path: Path, env_remote: EnvRemote
) -> None:
    state = _state(tmp_path, env_remote, _metrics(canary_error_share=0.10))
    done = cli("--state", str(state), "reconcile", "--at", AT.isoformat(), "--json")
    [service] = json.loads(done.stdout)["services"]
    folder = state / "evidence" / f"incident-{service['incident']}"
    assert (
        "![checkout: canary against stable](chart-canary.svg)" in (folder / "README.md").read_text()
    )
    [panel] = panels((folder / "chart-canary.svg").read_text())
    canary, stable, limit = panel.series
    assert (canary.role, stable.role, limit.role) == ("canary", "stable", "limit")
    assert (canary.label, stable.label) == (f"canary {CANARY}", f"stable {STABLE}")
    # The canary started half an hour before the decision, within the two hours charted:
    # it is drawn only since it had traffic, stable the whole time.
    assert 0 < canary.points < stable.points == limit.points == POINTS
    assert canary.drawn[-1][1] == pytest.approx(panel.y_of(0.10), abs=0.5)
    assert stable.drawn[-1][1] == pytest.approx(panel.y_of(0.0001), abs=0.5)
    assert limit.drawn[-1][1] == pytest.approx(panel.y_of(0.0201), abs=0.5)


@pytest.mark.prometheus
def test_a_trickling_prometheus_costs_one_deadline_for_the_whole_run(
    cli: Runner, tmp_path: Path, env_remote: EnvRemote, lying_proxy: LyingProxy
) -> None:
    """Every answer trickled a byte at a time: the SLO queries time out, by then the run's
    deadline has passed, and the canary judgement after them asks nothing (it used to
    start a deadline of its own, holding a run twice as long as `deadline`)."""
    state = _state(tmp_path, env_remote, "")
    (state / "safedeploy.toml").write_text(
        f'[prometheus]\nurl = "{lying_proxy.url}"\ntimeout = 1\nretries = 0\ndeadline = 0.5\n'
        f'[environment]\nrepo = "{env_remote.path}"\n'
    )
    lying_proxy.trickle = 0.05
    started = time.monotonic()
    done = cli("--state", str(state), "reconcile", "--at", AT.isoformat(), "--json")
    elapsed = time.monotonic() - started
    assert done.code == 3, done.stdout + done.stderr
    assert "timed out after 1s" in " ".join(json.loads(done.stdout)["undecided"])
    asked = [a.promql for a in lying_proxy.asked]
    # The errors and the totals, each one query over its windows, were sent before the
    # deadline and timed out after it: none of the canary's queries was sent.
    assert len(asked) == 2, asked
    assert not any(f'version="{CANARY}"' in q for q in asked), asked
    # The deadline, the one timeout in flight when it passed, and the command's own start.
    assert elapsed < 0.5 + 1 + 10, elapsed
