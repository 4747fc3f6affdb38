"""report, explain and gate through the installed `safedeploy` command.

Golden files live in tests/data/golden/; `SAFEDEPLOY_REGENERATE_GOLDEN=1 pytest` rewrites
them, and the diff is then reviewed like any other change.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safedeploy.adapters.store import StateStore, atomic_write_bytes
from safedeploy.domain.control import ServiceControl
from safedeploy.domain.incidents import next_state, open_incident
from safedeploy.domain.proposals import PauseChange, VersionChange, new_proposal, next_status
from safedeploy.domain.summary import ServiceSummary, SLOSummary, Summary
from testing.builders import write_service
from testing.cli import Runner
from testing.github_server import FakeGitHub
from testing.prometheus import RunningPrometheus

GOLDEN = Path(__file__).parents[1] / "data" / "golden"
REGENERATE = os.environ.get("SAFEDEPLOY_REGENERATE_GOLDEN") == "1"
AT = datetime(2026, 11, 1, tzinfo=UTC)
INCIDENT = "checkout-20261101t000000z"
ROLLBACK = f"{INCIDENT}-rollback-rollout"
BLOCK = f"{INCIDENT}-block-promotion"
SHA = "0123456789abcdef0123456789abcdef01234567"


def slo(name: str, objective: float, remaining: float | None, **burn: float | None) -> SLOSummary:
    return SLOSummary(
        slo=name,
        objective=objective,
        period="30d",
        severity="normal" if remaining is not None else "unknown",
        reason="r",
        budget_remaining=remaining,
        burn_rates={window.removeprefix("w"): value for window, value in burn.items()},
    )


def fixed_state(state: Path) -> Path:
    """Three services as reconcile would leave them; the rollback was approved since."""
    incident = open_incident(
        "checkout", "fast-burn", ("availability",), AT, actor="safedeploy-reconcile",
        reason="availability: 1h/5m burn rate 99.95/99.76 over 14.4",
    )  # fmt: skip
    change = VersionChange(
        path="apps/checkout/rollout.yaml", kind="rollout", from_version="1.5.0", to_version="1.4.2"
    )
    rollback = new_proposal(
        "rollback-rollout", "checkout", INCIDENT, change,
        rule="fast-burn 1h/5m over 14.4 (availability)",
        reason="availability burning; roll 1.5.0 back to 1.4.2", at=AT,
    )  # fmt: skip
    block = new_proposal(
        "block-promotion", "checkout", INCIDENT, PauseChange(), rule="max-burn-rate",
        reason="max-burn-rate: availability: 1h burn rate 99.95, limit 2", at=AT,
    )  # fmt: skip
    later = AT + timedelta(minutes=20)
    pr = "https://github.example.com/acme/env/pull/7"
    store = StateStore(state)
    with store.lock():
        store.write_incident(next_state(incident, "mitigate", later, "alice", f"{ROLLBACK} ok"))
        store.write_proposal(
            next_status(rollback, "approve", later, "alice", "ok", branch=f"safedeploy/{ROLLBACK}",
                        pr_url=pr)
        )  # fmt: skip
        store.write_proposal(block)
    checkout = ServiceSummary(
        service="checkout", owner="team-payments", at=AT, severity="fast-burn",
        reason="availability: 1h/5m burn rate 99.95/99.76 over 14.4", decision="RED",
        decision_reason="max-burn-rate: availability: 1h burn rate 99.95, limit 2",
        budget_remaining=0.169, incident=INCIDENT, incident_state="detected",
        proposals=(ROLLBACK, BLOCK), freeze_until=AT + timedelta(hours=24),
        slos=(
            slo("availability", 0.999, 0.169, w5m=99.76, w1h=99.95, w6h=20.14, w1d=4.47, w3d=1.82),
            slo("latency", 0.99, 0.7, w1h=0.29, w6h=0.3, w1d=0.3, w3d=0.3),
        ),
    )  # fmt: skip
    inventory = checkout.model_copy(
        update={
            "service": "inventory", "owner": "team-stock", "severity": "normal",
            "reason": "all burn rates under their thresholds", "decision": "GREEN",
            "decision_reason": "every release rule passes", "budget_remaining": 0.7,
            "incident": None, "incident_state": None, "proposals": (), "freeze_until": None,
            "slos": (slo("availability", 0.999, 0.7, w1h=0.3, w6h=0.3, w1d=0.3, w3d=0.3),),
        }
    )  # fmt: skip
    quiet = inventory.model_copy(
        update={
            "service": "lowtraffic", "owner": "team-edge", "severity": "unknown",
            "decision": "UNKNOWN", "budget_remaining": None,
            "decision_reason": "cannot decide: availability: budget unknown (5m: 12 events)",
            "slos": (slo("availability", 0.99, None, w1h=None, w6h=None, w1d=None, w3d=None),),
        }
    )  # fmt: skip
    summary = Summary(at=AT, services=(checkout, inventory, quiet))
    atomic_write_bytes(
        state / "control-plane/state/summary.json", summary.model_dump_json(indent=2).encode()
    )
    return state


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name} differs; see the module docstring"


# --- report ------------------------------------------------------------------------------


def test_report_table_golden(cli: Runner, tmp_path: Path) -> None:
    state = fixed_state(tmp_path / "state")
    done = cli("--state", str(state), "report", "--out", str(tmp_path / "report.txt"))
    assert (done.code, done.stdout, done.stderr) == (0, "", "")
    check_golden("report.table.txt", (tmp_path / "report.txt").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("fmt", "golden"), [("markdown", "report.md"), ("json", "report.json")])
def test_report_markdown_and_json_golden(
    cli: Runner, tmp_path: Path, fmt: str, golden: str
) -> None:
    state = fixed_state(tmp_path / "state")
    done = cli("--state", str(state), "report", "--format", fmt)
    assert (done.code, done.stderr) == (0, "")
    check_golden(golden, done.stdout)
    out = tmp_path / golden
    assert cli("--state", str(state), "report", "--format", fmt, "--out", str(out)).code == 0
    assert out.read_text(encoding="utf-8") == done.stdout


def test_report_json_carries_the_design_contract(cli: Runner, tmp_path: Path) -> None:
    state = fixed_state(tmp_path / "state")
    data = json.loads(cli("--state", str(state), "report", "--format", "json").stdout)
    checkout = data["services"][0]
    assert {k: checkout[k] for k in ("decision", "incident", "proposals", "freeze_until")} == {
        "decision": "RED",
        "incident": INCIDENT,
        "proposals": [BLOCK],
        "freeze_until": "2026-11-02T00:00:00Z",
    }
    assert checkout["incident_state"] == "mitigated"


def test_report_without_summary_says_so_and_exits_3(cli: Runner, tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()  # a state directory, never reconciled
    done = cli("report")
    assert done.code == 3
    assert done.stdout == ""
    assert done.stderr == (
        "control-plane/state/summary.json: no summary yet; run `safedeploy reconcile` first "
        "to evaluate services\n"
    )


# --- explain -----------------------------------------------------------------------------


def write_evidence(state: Path) -> Path:
    folder = state / "evidence" / f"incident-{INCIDENT}"
    folder.mkdir(parents=True)
    documents = {
        "decision.json": {
            "at": "2026-11-01T00:00:00Z",
            "reason": "availability: 1h/5m burn rate 99.95/99.76 over 14.4",
            "alerts_fired": [
                {"slo": "availability", "severity": "fast-burn", "windows": "1h/5m",
                 "factor": 14.4, "long_burn_rate": 99.95, "short_burn_rate": 99.76}
            ],
            "policy": {
                "decision": "RED",
                "reason": "max-burn-rate: availability: 1h burn rate 99.95, limit 2",
                "rules": [
                    {"rule": "max-burn-rate", "outcome": "fail",
                     "detail": "availability: 1h burn rate 99.95, limit 2"},
                    {"rule": "freeze-window", "outcome": "pass", "detail": "no release freeze"},
                ],
            },
        },
        "slo.json": {
            "slos": [
                {"slo": "availability", "objective": 0.999, "period": "30d",
                 "severity": "fast-burn", "budget": {"consumed": 0.831, "remaining": 0.169},
                 "windows": {"1h": {"sli": 0.90005, "error_ratio": 0.09995,
                                    "burn_rate": 99.95, "total": 34456}}}
            ]
        },
        "approval.json": {
            "proposal": ROLLBACK, "status": "approved", "by": "alice",
            "at": "2026-11-01T00:20:00Z", "branch": f"safedeploy/{ROLLBACK}",
            "pr_url": "https://github.example.com/acme/env/pull/7", "commit": "abc1234",
            "remote": "git@example.com:acme/env.git",
        },
    }  # fmt: skip
    for name, data in documents.items():
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
    return folder


def test_explain_an_incident_tells_the_whole_chain(cli: Runner, tmp_path: Path) -> None:
    state = fixed_state(tmp_path / "state")
    write_evidence(state)
    done = cli("--state", str(state), "explain", INCIDENT)
    assert (done.code, done.stderr) == (0, "")
    text = done.stdout
    for expected in (
        f"Incident {INCIDENT}: checkout is fast-burn, now mitigated.",
        "availability (objective 99.900% over 30d): fast-burn; budget 83.1% consumed, 16.9% left",
        "1h: SLI 90.005%, error ratio 9.995%, burn rate 99.95x over 34,456 events",
        "availability: fast-burn pair 1h/5m: burn rate 99.95x (long) and 99.76x (short), "
        "both must exceed 14.4",
        "Release policy: RED: max-burn-rate: availability: 1h burn rate 99.95, limit 2",
        f"{ROLLBACK}: rollback-rollout, approved",
        "change: apps/checkout/rollout.yaml: 1.5.0 -> 1.4.2 (rollout)",
        f"{BLOCK}: block-promotion, proposed",
        f"{ROLLBACK}: approved by alice at 2026-11-01T00:20:00Z (approval.json)",
        f"branch: safedeploy/{ROLLBACK}",
        "pr_url: https://github.example.com/acme/env/pull/7",
        "commit: abc1234",
        f"Evidence: evidence/incident-{INCIDENT}/ (approval.json, decision.json, slo.json)",
    ):
        assert expected in text, expected
    assert "no release freeze" not in text  # passing rules stay out of the way


def test_explain_a_proposal_without_evidence_names_what_is_missing(
    cli: Runner, tmp_path: Path
) -> None:
    state = fixed_state(tmp_path / "state")
    done = cli("--state", str(state), "explain", BLOCK)
    assert done.code == 0
    assert f"{BLOCK}: block-promotion, proposed" in done.stdout
    assert f"{ROLLBACK}: rollback-rollout" not in done.stdout
    assert f"problem: evidence/incident-{INCIDENT}/ does not exist" in done.stdout
    data = json.loads(cli("--state", str(state), "explain", BLOCK, "--json").stdout)
    assert [p["id"] for p in data["proposals"]] == [BLOCK]
    assert data["incident"]["state"] == "mitigated"


@pytest.mark.parametrize("subject", ["../incidents/x", "Checkout", "a/b", "x.json", "-"])
def test_explain_refuses_unsafe_ids(cli: Runner, tmp_path: Path, subject: str) -> None:
    state = fixed_state(tmp_path / "state")
    done = cli("--state", str(state), "explain", "--", subject)
    assert done.code == 2
    assert "not file-name safe" in done.stderr


def test_explain_unknown_id_is_bad_input(cli: Runner, tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    done = cli("explain", "nope-20261101t0000z")
    assert done.code == 2
    assert "no such incident" in done.stderr


# --- gate --------------------------------------------------------------------------------


def gate_state(root: Path, url: str, github_api: str | None = None) -> Path:
    for name in ("checkout", "inventory"):
        write_service(root / "services", name)
    github = f'\n[github]\nrepo = "acme/env"\napi_url = "{github_api}"\n' if github_api else ""
    (root / "safedeploy.toml").write_text(f'[prometheus]\nurl = "{url}"\n{github}')
    return root


@pytest.mark.prometheus
@pytest.mark.parametrize(
    ("service", "code", "first_line"),
    [
        ("checkout", 1, "checkout: promotion blocked: max-burn-rate: availability: 1h burn rate"),
        ("inventory", 0, "inventory: promotion allowed: every release rule passes"),
    ],
)
def test_gate_exit_codes(
    cli: Runner,
    tmp_path: Path,
    prometheus: RunningPrometheus,
    service: str,
    code: int,
    first_line: str,
) -> None:
    state = gate_state(tmp_path, prometheus.url)
    done = cli("--state", str(state), "gate", service, "--at", "2026-11-01T00:00:00Z")
    assert done.code == code, done.stderr
    assert done.stdout.startswith(first_line)


@pytest.mark.prometheus
def test_gate_blocks_on_an_active_freeze(
    cli: Runner, tmp_path: Path, prometheus: RunningPrometheus
) -> None:
    state = gate_state(tmp_path, prometheus.url)
    store = StateStore(state)
    with store.lock():
        store.write_model(
            "control-plane/state/services/inventory.json",
            ServiceControl(service="inventory", freeze_until=AT + timedelta(hours=2)),
        )
    done = cli("--state", str(state), "gate", "inventory", "--at", "2026-11-01T00:00:00Z")
    assert done.code == 1
    assert done.stdout.startswith(
        "inventory: promotion blocked: freeze-window: release freeze until 2026-11-01T02:00:00Z"
    )


def test_gate_with_the_source_down_cannot_decide(cli: Runner, tmp_path: Path) -> None:
    state = gate_state(tmp_path, "http://127.0.0.1:9")
    done = cli("--state", str(state), "gate", "inventory", "--at", "2026-11-01T00:00:00Z")
    assert done.code == 3
    assert done.stdout.startswith("inventory: cannot decide on promotion: availability: budget")


@pytest.mark.prometheus
def test_gate_posts_the_commit_status(
    cli: Runner, tmp_path: Path, prometheus: RunningPrometheus, github_server: FakeGitHub
) -> None:
    state = gate_state(tmp_path, prometheus.url, github_server.base_url)
    done = cli(
        "--state", str(state), "gate", "checkout", "--at", "2026-11-01T00:00:00Z",
        "--github-status", SHA, "--target-url", "https://ci.example.com/run/1",
        env={"GITHUB_TOKEN": "t0ken"},
    )  # fmt: skip
    assert done.code == 1, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "commit status safedeploy/slo-gate on 0123456789ab: failure"
    )
    [request] = github_server.requests_to(f"/statuses/{SHA}", "POST")
    assert request.body == {
        "state": "failure",
        "context": "safedeploy/slo-gate",
        "description": done.stdout.splitlines()[0][:140],
        "target_url": "https://ci.example.com/run/1",
    }


def test_gate_status_without_a_token_is_bad_input(
    cli: Runner, tmp_path: Path, github_server: FakeGitHub
) -> None:
    state = gate_state(tmp_path, "http://127.0.0.1:9", github_server.base_url)
    done = cli(
        "--state", str(state), "gate", "inventory", "--at", "2026-11-01T00:00:00Z",
        "--github-status", SHA, env={"GITHUB_TOKEN": ""},
    )  # fmt: skip
    assert done.code == 2
    assert "GITHUB_TOKEN is not set" in done.stderr
    assert done.stdout.startswith("inventory: cannot decide on promotion")  # verdict first
    assert github_server.requests == []
