"""gate: live evaluation against a real Prometheus, freeze windows, commit statuses."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest

from safedeploy.adapters.github import Throttle
from safedeploy.adapters.store import StateStore
from safedeploy.domain.control import ServiceControl
from safedeploy.errors import BadInputError, GitHubError
from safedeploy.usecases.context import Context
from safedeploy.usecases.gate import (
    STATUS_CONTEXT,
    GateResult,
    gate,
    post_github_status,
    status_description,
)
from testing.builders import story_state, write_service
from testing.github_server import FakeGitHub
from testing.history import T_END
from testing.prometheus import RunningPrometheus

pytestmark = pytest.mark.prometheus

NO_WAIT = Throttle(seconds_between_requests=0, seconds_between_writes=0, retries=0)
SHA = "0123456789abcdef0123456789abcdef01234567"


def state_for(root: Path, url: str, *services: str) -> Path:
    for name in services:
        write_service(root / "services", name)
    (root / "safedeploy.toml").write_text(
        f'[prometheus]\nurl = "{url}"\ntimeout = 2\n\n[github]\nrepo = "acme/env"\n'
    )
    return root


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_burning_service_is_blocked_naming_rule_and_numbers(
    tmp_path: Path, prometheus: RunningPrometheus
) -> None:
    state = state_for(tmp_path, prometheus.url, "checkout")
    result = gate(Context(state), "checkout", prometheus.at)
    assert result.exit_code == 1
    assert result.verdict.decision == "RED"
    first = result.verdict.failed[0]
    assert first.rule == "max-burn-rate"
    assert first.value is not None and first.value > 14.4
    assert first.threshold == 2
    assert result.message.startswith("checkout: promotion blocked: max-burn-rate: availability")


def test_healthy_service_is_allowed(tmp_path: Path, prometheus: RunningPrometheus) -> None:
    state = state_for(tmp_path, prometheus.url, "inventory")
    result = gate(Context(state), "inventory", prometheus.at)
    assert (result.exit_code, result.verdict.decision) == (0, "GREEN")
    assert result.message == "inventory: promotion allowed: every release rule passes"


def test_source_down_cannot_decide(tmp_path: Path) -> None:
    state = state_for(tmp_path, closed_port_url(), "inventory")
    result = gate(Context(state), "inventory", T_END)
    assert (result.exit_code, result.verdict.decision) == (3, "UNKNOWN")
    assert "cannot connect" in result.message


def test_active_freeze_blocks_a_healthy_service(
    tmp_path: Path, prometheus: RunningPrometheus
) -> None:
    state = state_for(tmp_path, prometheus.url, "inventory")
    until = prometheus.at + timedelta(hours=3)
    store = StateStore(state)
    with store.lock():
        store.write_control(ServiceControl(service="inventory", freeze_until=until))
    result = gate(Context(state), "inventory", prometheus.at)
    assert result.exit_code == 1
    assert result.message == (
        "inventory: promotion blocked: freeze-window: release freeze until 2026-11-01T03:00:00Z"
    )

    # A window that ended before the gate runs no longer blocks.
    ended = prometheus.at - timedelta(minutes=1)
    with store.lock():
        store.write_control(ServiceControl(service="inventory", freeze_until=ended))
    assert gate(Context(state), "inventory", prometheus.at).exit_code == 0


def test_unknown_service_is_bad_input(tmp_path: Path, prometheus: RunningPrometheus) -> None:
    state = state_for(tmp_path, prometheus.url, "inventory")
    with pytest.raises(BadInputError, match="unknown service 'nope'"):
        gate(Context(state), "nope", prometheus.at)


@pytest.fixture
def blocked(tmp_path: Path, prometheus: RunningPrometheus) -> tuple[Path, GateResult]:
    state = state_for(tmp_path, prometheus.url, "checkout")
    return state, gate(Context(state), "checkout", prometheus.at)


def test_commit_status_is_posted_with_context_state_and_reason(
    blocked: tuple[Path, GateResult], github_server: FakeGitHub
) -> None:
    state, result = blocked
    environ = {"GITHUB_TOKEN": "t0ken", "SAFEDEPLOY_GITHUB_API_URL": github_server.base_url}

    posted = post_github_status(
        Context(state, environ=environ, github_throttle=NO_WAIT), result, SHA
    )

    assert posted == "failure"
    [request] = github_server.requests_to(f"/statuses/{SHA}", "POST")
    assert request.body == {
        "state": "failure",
        "context": STATUS_CONTEXT,
        "description": result.message[:140],
    }
    assert request.headers["Authorization"] == "token t0ken"


def test_long_reasons_are_cut_to_140_characters(tmp_path: Path, github_server: FakeGitHub) -> None:
    state = state_for(tmp_path, closed_port_url(), "inventory")
    result = gate(Context(state), "inventory", T_END)
    assert len(result.message) > 140
    environ = {"GITHUB_TOKEN": "t", "SAFEDEPLOY_GITHUB_API_URL": github_server.base_url}

    assert (
        post_github_status(Context(state, environ=environ, github_throttle=NO_WAIT), result, SHA)
        == "error"
    )

    [request] = github_server.requests_to(f"/statuses/{SHA}", "POST")
    assert request.body["description"] == status_description(result)
    assert len(request.body["description"]) == 140
    assert request.body["description"].endswith("…")


def test_github_refusal_is_an_error_naming_the_status(
    blocked: tuple[Path, GateResult], github_server: FakeGitHub
) -> None:
    state, result = blocked
    github_server.fail_next(f"/statuses/{SHA}", 500, method="POST")
    environ = {"GITHUB_TOKEN": "t", "SAFEDEPLOY_GITHUB_API_URL": github_server.base_url}
    with pytest.raises(GitHubError, match="post status safedeploy/slo-gate"):
        post_github_status(Context(state, environ=environ, github_throttle=NO_WAIT), result, SHA)


@pytest.mark.parametrize("sha", ["", "not-a-sha", "g" * 40, "a" * 41])
def test_bad_sha_is_refused_before_any_request(
    blocked: tuple[Path, GateResult], github_server: FakeGitHub, sha: str
) -> None:
    state, result = blocked
    environ = {"GITHUB_TOKEN": "t", "SAFEDEPLOY_GITHUB_API_URL": github_server.base_url}
    with pytest.raises(BadInputError, match="not a commit SHA"):
        post_github_status(Context(state, environ=environ, github_throttle=NO_WAIT), result, sha)
    assert github_server.requests == []


def test_gate_applies_the_teams_rego_policies(tmp_path: Path) -> None:
    """The gate and reconcile share one verdict: a Rego denial blocks a healthy service."""
    from safedeploy.demo import story
    from safedeploy.usecases.gate import gate as run_gate

    state = story_state(tmp_path / "state")
    assert run_gate(Context(state), "payments", story.END).verdict.decision == "GREEN"
    (state / "policies").mkdir()
    (state / "policies" / "no-friday.rego").write_text(
        "package safedeploy\nimport rego.v1\n"
        'deny contains "payments is frozen for the audit" if { input.service == "payments" }\n'
    )
    result = run_gate(Context(state), "payments", story.END)
    assert result.verdict.decision == "RED"
    assert result.exit_code == 1
    assert result.message == (
        "payments: promotion blocked: "
        "rego:policies/no-friday.rego: payments is frozen for the audit"
    )


def test_gate_and_reconcile_reach_the_same_verdict(tmp_path: Path) -> None:
    """One release verdict: for every service and instant, the gate says what reconcile did."""
    from datetime import timedelta

    from safedeploy.demo import story
    from safedeploy.usecases.gate import gate as run_gate
    from safedeploy.usecases.reconcile import reconcile

    state = story_state(tmp_path / "state")
    (state / "policies").mkdir()
    (state / "policies" / "search.rego").write_text(
        "package safedeploy\nimport rego.v1\n"
        'deny contains "search waits for the index" if { input.service == "search" }\n'
    )
    seen = set()
    for minutes in (90, 30, 0):
        at = story.END - timedelta(minutes=minutes)
        decided = reconcile(Context(state), at, [], commit=False)
        for decision in decided.decisions:
            verdict = run_gate(Context(state), decision.service, at).verdict
            assert verdict == decision.verdict, decision.service
            seen.add(verdict.decision)
    # The instants cover a blocked release and an allowed one, not one verdict many times.
    assert {"GREEN", "RED"} <= seen
