"""`safedeploy reconcile` end to end: the real command, a real Prometheus holding one day of
a service going healthy -> fast burn -> exhausted -> recovered, and a real bare environment
repo whose history gives the version to roll back to.

The SLO period is one day so that an exhausted budget can recover inside the history: the
burst leaves the budget window a day later, and the mitigated incident resolves itself after
the stable period (1h) of normal evaluations.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from safedeploy.adapters.store import StateStore
from testing.cli import Result, Runner, tree_snapshot
from testing.gitrepos import EnvRemote, build_env_remote
from testing.history import T_END, Phase, Scenario
from testing.prometheus import RunningPrometheus, prometheus_with_history
from testing.webhook import Webhook

pytestmark = pytest.mark.prometheus

HOUR = 3_600
BURST_START = 30 * HOUR  # seconds before the end of the history
BURST = HOUR
SCENARIOS = (
    Scenario(
        "checkout",
        "fast-burn",
        600,
        0.0001,
        0.0,
        phases=(Phase(BURST_START, 0.5, 0.0), Phase(BURST_START - BURST, 0.0001, 0.0)),
    ),
    Scenario("inventory", "healthy", 400, 0.0001, 0.0),
)

SERVICE = """\
apiVersion: safedeploy.dev/v1
kind: Service
metadata:
  name: {name}
  owner: team-{name}
  approvers: [alice]
spec:
  target:
    path: apps/{name}/rollout.yaml
    kind: rollout
    container: {name}
  deployment: {{strategy: canary, steps: [20, 50, 100]}}
  rollback: {{strategy: revert-image}}
  slos:
    - name: availability
      objective: 0.99
      period: 1d
      sli:
        errors: http_requests_total{{service="{name}", code=~"5.."}}
        total: http_requests_total{{service="{name}"}}
  policy: {{max_burn_rate: 2, budget_safety_margin: 0.1, freeze: 24h, stable_period: 1h}}
"""


# What reconcile draws for the one availability SLO (tests/usecases/test_evidence_charts.py
# checks what the charts hold).
CHARTS = ("chart-availability-budget.svg", "chart-availability-burn-rates.svg")


def instant(after_burst_start: int) -> str:
    """RFC 3339 for `after_burst_start` seconds after the burst began."""
    moment = T_END + timedelta(seconds=after_burst_start - BURST_START)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


HEALTHY = instant(-HOUR)
FAST = instant(10 * 60)  # 10 minutes into the burst
EXHAUSTED = instant(65 * 60)  # the whole burst spent the day's budget
MITIGATED = instant(90 * 60)
STILL_EXHAUSTED = instant(2 * HOUR)
RECOVERED = instant(24 * HOUR + 40 * 60)  # a third of the burst left in the 1d window
NOT_YET = instant(25 * HOUR + 39 * 60)
RESOLVED = instant(25 * HOUR + 40 * 60)  # the stable period of normal has passed
INCIDENT = "checkout-20261030t181000z"
ROLLBACK = f"{INCIDENT}-rollback-rollout"
BLOCK = f"{INCIDENT}-block-promotion"


@dataclass(frozen=True)
class World:
    prometheus: RunningPrometheus
    env: EnvRemote


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("reconcile")
    (root / "prometheus").mkdir()
    env = build_env_remote(root)
    with prometheus_with_history(root / "prometheus", SCENARIOS, duration=5 * 86_400) as running:
        yield World(running, env)


def make_state(root: Path, url: str, env: EnvRemote) -> Path:
    state = root / "state"
    (state / "services").mkdir(parents=True)
    for name in ("checkout", "inventory"):
        (state / "services" / f"{name}.yaml").write_text(SERVICE.format(name=name))
    (state / "safedeploy.toml").write_text(
        f'[prometheus]\nurl = "{url}"\n\n[environment]\nrepo = "{env.path}"\n'
        # The hand-made transitions of these tests declare who makes them.
        '\n[approvals]\nidentity = "declared"\n'
    )
    return state


@pytest.fixture
def state(world: World, tmp_path: Path) -> Path:
    return make_state(tmp_path, world.prometheus.url, world.env)


def audit(state: Path) -> dict[str, list[tuple[str, str, str]]]:
    """(stream, event, service) of every audit line, per stream in file order."""
    lines: dict[str, list[tuple[str, str, str]]] = {}
    for stream in ("metrics", "budget", "incidents", "governance"):
        path = state / "audit" / f"{stream}.log"
        raw = path.read_text().splitlines() if path.exists() else []
        entries = [json.loads(line) for line in raw]
        lines[stream] = [(e["stream"], e["event"], e["data"]["service"]) for e in entries]
    return lines


def read(state: Path, relative: str) -> Any:
    return json.loads((state / relative).read_text())


def files(state: Path, folder: str) -> list[str]:
    return sorted(p.name for p in (state / folder).glob("*")) if (state / folder).is_dir() else []


class Steps:
    """Runs the real command against one state directory and checks every invariant."""

    def __init__(self, cli: Runner, state: Path) -> None:
        self.cli = cli
        self.state = state
        self.seen: dict[str, list[tuple[str, str, str]]] = {}

    def reconcile(self, at: str, *extra: str) -> dict[str, Any]:
        done = self.cli("reconcile", "--at", at, "--json", *extra, cwd=self.state)
        assert done.code == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        assert result["at"] == at
        self.intact()
        self.rerun_changes_nothing(at)
        return result

    def rerun_changes_nothing(self, at: str) -> None:
        before = tree_snapshot(self.state)
        again = self.cli("reconcile", "--at", at, "--json", cwd=self.state)
        assert again.code == 0, again.stderr
        assert json.loads(again.stdout)["created"] == {"incidents": [], "proposals": []}
        after = tree_snapshot(self.state)
        assert sorted(after) == sorted(before)
        changed = [name for name in before if after[name] != before[name]]
        assert not changed, changes(before, after, changed)

    def intact(self) -> None:
        verified = self.cli("audit", "verify", cwd=self.state)
        assert verified.code == 0, verified.stdout + verified.stderr
        replayed = self.cli("replay", "--check", cwd=self.state)
        assert replayed.code == 0, replayed.stdout + replayed.stderr

    def new_audit(self) -> list[tuple[str, str, str]]:
        """Audit lines written since the last call; earlier lines must be untouched."""
        everything = audit(self.state)
        fresh: list[tuple[str, str, str]] = []
        for stream, lines in everything.items():
            seen = self.seen.get(stream, [])
            assert lines[: len(seen)] == seen
            fresh += lines[len(seen) :]
        self.seen = everything
        return sorted(fresh)


def changes(before: dict[str, bytes], after: dict[str, bytes], names: list[str]) -> str:
    return "\n".join(
        line
        for name in names
        for line in difflib.unified_diff(
            before[name].decode().splitlines(), after[name].decode().splitlines(), name, name
        )
    )


def evaluated(*services: str) -> list[tuple[str, str, str]]:
    lines = [("metrics", "evaluated", s) for s in services]
    return lines + [("budget", "budget", s) for s in services]


def row(result: dict[str, Any], service: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in result["services"] if s["service"] == service)
    return found


def test_healthy_fast_burn_exhausted_recovery(cli: Runner, state: Path, world: World) -> None:
    steps = Steps(cli, state)

    # Healthy: every service evaluated, nothing opened, nothing proposed.
    healthy = steps.reconcile(HEALTHY)
    assert [(s["service"], s["severity"], s["incident"]) for s in healthy["services"]] == [
        ("checkout", "normal", None),
        ("inventory", "normal", None),
    ]
    assert healthy["created"] == {"incidents": [], "proposals": []}
    assert files(state, "incidents") == files(state, "action-proposals") == []
    assert not (state / "evidence").exists()
    assert steps.new_audit() == sorted(evaluated("checkout", "inventory"))

    # Fast burn: an incident, a rollback to the previous version in the env repo, a block.
    fast = steps.reconcile(FAST)
    checkout = row(fast, "checkout")
    assert (checkout["severity"], checkout["incident"]) == ("fast-burn", INCIDENT)
    assert checkout["proposals"] == [ROLLBACK, BLOCK]
    assert checkout["freeze_until"] is None
    assert (row(fast, "inventory")["severity"], row(fast, "inventory")["incident"]) == (
        "normal",
        None,
    )
    assert fast["created"] == {"incidents": [INCIDENT], "proposals": [ROLLBACK, BLOCK]}
    assert files(state, "incidents") == [f"{INCIDENT}.json"]
    assert files(state, "action-proposals") == [f"{BLOCK}.json", f"{ROLLBACK}.json"]
    rollback = read(state, f"action-proposals/{ROLLBACK}.json")
    # The evidence names the commit that wrote 1.4.2, when, and why it counts as stable.
    wrote = next(c for c in world.env.commits if c.message == "checkout 1.4.2")
    assert rollback["change"] == {
        "path": "apps/checkout/rollout.yaml",
        "kind": "rollout",
        "from_version": "1.5.0",
        "to_version": "1.4.2",
        "chosen": {
            "version": "1.4.2",
            "commit": wrote.sha,
            "committed_at": "2026-01-01T01:00:00Z",
            "reason": f"ran 6h from 2026-01-01T01:00:00Z (commit {wrote.sha[:12]}) until "
            "2026-01-01T07:00:00Z; no incident opened while it ran and no rollback left it",
        },
    }
    assert (rollback["status"], rollback["rule"]) == (
        "proposed",
        "fast-burn 1h/5m over 0.48 (availability)",
    )
    block = read(state, f"action-proposals/{BLOCK}.json")
    assert (block["change"], block["rule"]) == ({"paused": True}, "max-burn-rate")
    assert steps.new_audit() == sorted(
        [
            *evaluated("checkout", "inventory"),
            ("incidents", "opened", "checkout"),
            ("governance", "proposed", "checkout"),
            ("governance", "proposed", "checkout"),
        ]
    )
    check_fast_burn_evidence(cli, state)

    # Exhausted: escalated, the freeze starts; nothing proposed twice.
    exhausted = steps.reconcile(EXHAUSTED)
    checkout = row(exhausted, "checkout")
    assert checkout["severity"] == "exhausted"
    assert checkout["freeze_until"] == instant(24 * HOUR + 65 * 60)
    assert exhausted["created"] == {"incidents": [], "proposals": []}
    incident = read(state, f"incidents/{INCIDENT}.json")
    assert (incident["state"], incident["severity"]) == ("detected", "exhausted")
    assert [t["event"] for t in incident["transitions"]] == ["open", "escalate"]
    assert files(state, "action-proposals") == [f"{BLOCK}.json", f"{ROLLBACK}.json"]
    control = read(state, "control-plane/state/services/checkout.json")
    assert control["freeze_until"] == checkout["freeze_until"]
    assert read(state, f"evidence/incident-{INCIDENT}/budget.json")["slos"][0]["remaining"] <= 0
    assert steps.new_audit() == sorted(
        [
            *evaluated("checkout", "inventory"),
            ("incidents", "escalated", "checkout"),
            ("governance", "freeze", "checkout"),
        ]
    )

    # A human mitigates (e.g. after approving the rollback).
    moved = cli(
        "incidents",
        "transition",
        INCIDENT,
        "mitigate",
        "--by",
        "alice",
        "--reason",
        "rolled back to 1.4.2",
        "--at",
        MITIGATED,
        cwd=state,
    )
    assert moved.code == 0, moved.stderr
    steps.intact()
    assert steps.new_audit() == [("incidents", "mitigate", "checkout")]

    # Still exhausted: the freeze is extended, the mitigated incident stays as it is.
    still = steps.reconcile(STILL_EXHAUSTED)
    assert row(still, "checkout")["freeze_until"] == instant(26 * HOUR)
    assert read(state, f"incidents/{INCIDENT}.json")["state"] == "mitigated"
    assert steps.new_audit() == sorted(
        [*evaluated("checkout", "inventory"), ("governance", "freeze", "checkout")]
    )

    # Recovered: normal again, but the incident waits for the stable period.
    recovered = steps.reconcile(RECOVERED)
    checkout = row(recovered, "checkout")
    assert (checkout["severity"], checkout["incident"]) == ("normal", INCIDENT)
    assert checkout["freeze_until"] == instant(26 * HOUR), "a freeze outlives the burn"
    assert read(state, "control-plane/state/services/checkout.json")["normal_since"] == (RECOVERED)
    steps.reconcile(NOT_YET)
    assert read(state, f"incidents/{INCIDENT}.json")["state"] == "mitigated"
    assert steps.new_audit() == sorted(evaluated("checkout", "inventory") * 2)

    # The stable period has passed: resolved by reconcile, nothing new proposed.
    resolved = steps.reconcile(RESOLVED)
    checkout = row(resolved, "checkout")
    assert (checkout["severity"], checkout["incident"]) == ("normal", INCIDENT)
    assert resolved["created"] == {"incidents": [], "proposals": []}
    incident = read(state, f"incidents/{INCIDENT}.json")
    assert incident["state"] == "resolved"
    assert [(t["event"], t["actor"], t["at"]) for t in incident["transitions"]] == [
        ("open", "safedeploy-reconcile", FAST),
        ("escalate", "safedeploy-reconcile", EXHAUSTED),
        ("mitigate", "alice (identity not verified)", MITIGATED),
        ("resolve", "safedeploy-reconcile", RESOLVED),
    ]
    assert files(state, "incidents") == [f"{INCIDENT}.json"]
    assert files(state, "action-proposals") == [f"{BLOCK}.json", f"{ROLLBACK}.json"]
    assert steps.new_audit() == sorted(
        [*evaluated("checkout", "inventory"), ("incidents", "resolved", "checkout")]
    )
    ended = read(state, f"evidence/incident-{INCIDENT}/resolution.json")
    assert (ended["resolved_at"], ended["resolved_by"]) == (RESOLVED, "safedeploy-reconcile")
    assert (ended["mitigated_at"], ended["mitigated_by"]) == (
        MITIGATED,
        "alice (identity not verified)",
    )
    assert ended["reason"].startswith("every SLO normal since")
    assert files(state, f"evidence/incident-{INCIDENT}") == [
        "README.md",
        "budget.json",
        *CHARTS,
        "decision.json",
        "proposal.json",
        "resolution.json",
        "slo.json",
    ]
    assert read(state, f"evidence/incident-{INCIDENT}/decision.json")["incident_state"] == (
        "resolved"
    )
    # The README a reviewer opens says where it stands now, not where it stood at opening.
    readme = (state / "evidence" / f"incident-{INCIDENT}" / "README.md").read_text()
    assert f"Incident `{INCIDENT}` is **resolved** (exhausted) since {RESOLVED}" in readme
    assert "(rollback-rollout, proposed)" in readme  # nobody approved it: still proposed
    # Resolved incidents are history: the next run shows no incident for the service.
    after = cli("reconcile", "--at", instant(25 * HOUR + 50 * 60), "--json", cwd=state)
    assert row(json.loads(after.stdout), "checkout")["incident"] is None


def check_fast_burn_evidence(cli: Runner, state: Path) -> None:
    """The evidence holds the numbers `slo status` computes from the same Prometheus."""
    folder = f"evidence/incident-{INCIDENT}"
    assert files(state, folder) == [
        "README.md",
        "budget.json",
        *CHARTS,
        "decision.json",
        "proposal.json",
        "slo.json",
    ]
    measured = cli("slo", "status", "--service", "checkout", "--json", "--at", FAST, cwd=state)
    expected = json.loads(measured.stdout)[0]
    decision = read(state, f"{folder}/decision.json")
    assert (decision["severity"], decision["incident_change"], decision["at"]) == (
        "fast-burn",
        "opened",
        FAST,
    )
    assert decision["reason"] == f"availability: {expected['reason']}"
    assert decision["proposals"] == [ROLLBACK, BLOCK]
    assert decision["policy"]["decision"] == "RED"
    fired = {a["windows"]: a for a in decision["alerts_fired"]}
    assert "1h/5m" in fired
    one_hour = fired["1h/5m"]
    assert one_hour["long_burn_rate"] == pytest.approx(expected["windows"]["1h"]["burn_rate"])
    assert one_hour["short_burn_rate"] == pytest.approx(expected["windows"]["5m"]["burn_rate"])
    # Ten minutes at 50% errors against a 1% budget: about 50x over five minutes, about 8x
    # over the hour (10/60 of 50).
    assert 45 < one_hour["short_burn_rate"] < 55
    assert 7 < one_hour["long_burn_rate"] < 10
    budget = read(state, f"{folder}/budget.json")["slos"][0]
    assert budget["error_budget"] == pytest.approx(0.01)
    assert budget["consumed"] == pytest.approx(expected["budget"]["consumed"])
    assert 0.15 < budget["consumed"] < 0.4
    slo = read(state, f"{folder}/slo.json")["slos"][0]
    assert slo["windows"]["5m"]["total"] == pytest.approx(expected["windows"]["5m"]["total"])
    proposals = read(state, f"{folder}/proposal.json")["proposals"]
    assert [p["id"] for p in proposals] == [ROLLBACK, BLOCK]
    readme = (state / folder / "README.md").read_text()
    assert f"# Incident {INCIDENT}: checkout is fast-burn" in readme
    assert f"{one_hour['long_burn_rate']:.2f} / {one_hour['short_burn_rate']:.2f}" in readme
    assert "roll 1.5.0 back to 1.4.2" in readme


def test_prometheus_down_decides_nothing(
    cli: Runner, state: Path, world: World, tmp_path: Path
) -> None:
    opened = cli("reconcile", "--at", FAST, cwd=state)
    assert opened.code == 0, opened.stderr
    moved = cli(
        "incidents", "transition", INCIDENT, "mitigate", "--by", "alice", "--reason", "r",
        "--at", MITIGATED, cwd=state,
    )  # fmt: skip
    assert moved.code == 0, moved.stderr
    dead = make_state(tmp_path / "dead", "http://127.0.0.1:9", world.env)
    (state / "safedeploy.toml").write_text((dead / "safedeploy.toml").read_text())
    incidents_before = (state / "incidents" / f"{INCIDENT}.json").read_bytes()
    proposals_before = files(state, "action-proposals")

    # Where real data would resolve the mitigated incident, no data must leave it alone.
    down = cli("reconcile", "--at", RESOLVED, "--json", cwd=state)
    assert down.code == 3, down.stdout + down.stderr
    result = json.loads(down.stdout)
    assert [s["severity"] for s in result["services"]] == ["unknown", "unknown"]
    assert result["created"] == {"incidents": [], "proposals": []}
    assert "127.0.0.1:9" in " ".join(result["undecided"])
    assert (state / "incidents" / f"{INCIDENT}.json").read_bytes() == incidents_before
    assert files(state, "action-proposals") == proposals_before
    assert read(state, "control-plane/state/services/checkout.json")["normal_since"] is None
    assert cli("replay", "--check", cwd=state).code == 0

    fresh = make_state(tmp_path / "fresh", "http://127.0.0.1:9", world.env)
    first = cli("reconcile", "--at", FAST, cwd=fresh)
    assert first.code == 3
    assert files(fresh, "incidents") == files(fresh, "action-proposals") == []
    assert "0 incidents" in first.stdout or "opened 0 incidents" in first.stdout


def test_a_broken_incident_file_skips_only_its_service(cli: Runner, state: Path) -> None:
    broken = state / "incidents" / f"{INCIDENT}.json"
    broken.parent.mkdir()
    broken.write_text('{"schema_version": 1, "id": "checkout-20261030t181000z", "state": "lost"')
    done = cli("reconcile", "--at", FAST, "--json", cwd=state)
    assert done.code == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"checkout: not reconciled: incidents/{INCIDENT}.json: ")
    assert "Invalid JSON" in errors[0]
    result = json.loads(done.stdout)
    assert [s["service"] for s in result["services"]] == ["inventory"]
    assert result["created"] == {"incidents": [], "proposals": []}
    assert (state / "control-plane/state/services/inventory.json").exists()
    assert not (state / "control-plane/state/services/checkout.json").exists()
    assert files(state, "action-proposals") == []
    assert broken.read_text().endswith('"lost"'), "a broken file is reported, never rewritten"


def test_a_held_lock_makes_the_second_run_wait_then_give_up(cli: Runner, state: Path) -> None:
    store = StateStore(state)
    with store.lock():
        started = time.monotonic()
        waited = cli("reconcile", "--at", FAST, "--lock-timeout", "1.5", cwd=state)
        elapsed = time.monotonic() - started
    assert waited.code == 3, waited.stdout + waited.stderr
    assert elapsed >= 1.5
    assert "locked by another run" in waited.stderr
    assert "gave up after 1.5s" in waited.stderr
    assert files(state, "incidents") == files(state, "action-proposals") == []
    assert not (state / "audit").exists()
    after = cli("reconcile", "--at", FAST, "--lock-timeout", "1.5", cwd=state)
    assert after.code == 0, after.stderr
    assert files(state, "incidents") == [f"{INCIDENT}.json"]


def test_dry_run_decides_and_writes_nothing(cli: Runner, state: Path) -> None:
    before = tree_snapshot(state)
    done = cli("reconcile", "--at", FAST, "--dry-run", "--json", cwd=state)
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["dry_run"] is True
    assert result["created"] == {"incidents": [INCIDENT], "proposals": [ROLLBACK, BLOCK]}
    # The clone of the environment repo (read for the rollback version) is a cache, not state.
    after = tree_snapshot(state)
    assert {k: v for k, v in after.items() if not k.startswith(".safedeploy-cache/")} == before
    assert not (state / "audit").exists()
    text = cli("reconcile", "--at", FAST, "--dry-run", cwd=state)
    assert "dry run: would have opened 1 incident (" in text.stdout


def test_json_has_the_documented_shape(cli: Runner, state: Path) -> None:
    done: Result = cli("reconcile", "--at", EXHAUSTED, "--json", cwd=state)
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"at", "services", "created"} <= set(result)
    assert result["at"] == EXHAUSTED
    datetime.fromisoformat(result["at"].replace("Z", "+00:00"))
    for entry in result["services"]:
        assert {"service", "severity", "incident", "proposals", "freeze_until"} <= set(entry)
        assert isinstance(entry["proposals"], list)
    checkout = row(result, "checkout")
    opened_at = INCIDENT.replace("181000z", "190500z")
    assert checkout == {
        **checkout,
        "severity": "exhausted",
        "incident": opened_at,
        "proposals": [f"{opened_at}-rollback-rollout", f"{opened_at}-block-promotion"],
        "freeze_until": instant(24 * HOUR + 65 * 60),
    }
    inventory = row(result, "inventory")
    assert (inventory["incident"], inventory["proposals"], inventory["freeze_until"]) == (
        None,
        [],
        None,
    )
    assert result["created"] == {
        "incidents": [opened_at],
        "proposals": [f"{opened_at}-rollback-rollout", f"{opened_at}-block-promotion"],
    }


def test_a_broken_service_file_holds_back_its_own_service_only(
    cli: Runner, state: Path, webhook: Webhook
) -> None:
    """One team's typo: the others are decided as usual; the broken one is reported by
    validate, reconcile (exit 2, one notification), report (stale, exit 2), slo status and
    the gate; fixing the file clears it."""
    env = {"SAFEDEPLOY_WEBHOOK_URL": webhook.url}
    first = cli("reconcile", "--at", HEALTHY, cwd=state, env=env)
    assert first.code == 0, first.stderr
    service_file = state / "services" / "inventory.yaml"
    good = service_file.read_text()
    service_file.write_text(good.replace("objective: 0.99", "objective: 1"))
    violation = "services/inventory.yaml:16: spec.slos[0].objective: an objective of 1"

    assert cli("validate", cwd=state).code == 2
    done = cli("reconcile", "--at", FAST, "--json", cwd=state, env=env)
    assert done.code == 2, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert [s["service"] for s in result["services"]] == ["checkout"]
    assert result["created"]["incidents"] == [INCIDENT]
    # pydantic adds the emptied list of SLOs: one line each, both named.
    errors = result["errors"]
    assert errors[0].startswith(f"inventory: not reconciled: {violation}"), errors
    assert all(e.startswith("inventory: not reconciled: services/inventory.yaml:") for e in errors)
    assert all(e in done.stderr for e in errors)
    [body] = webhook.bodies
    assert f":warning: inventory: not reconciled: {violation}" in body["text"]
    assert "(and 1 more)" in body["text"]
    assert ":rotating_light: checkout: incident" in body["text"]
    # The next run finds it still broken: no second notice.
    again = cli("reconcile", "--at", FAST, cwd=state, env=env)
    assert again.code == 2 and len(webhook.bodies) == 1

    report = cli("report", "--json", cwd=state)
    assert report.code == 2, report.stderr
    entries = {s["service"]: s for s in json.loads(report.stdout)["services"]}
    assert entries["checkout"]["stale"] is None and entries["checkout"]["severity"] == "fast-burn"
    assert entries["inventory"]["evaluated_at"] == HEALTHY
    assert entries["inventory"]["stale"].startswith(violation)
    text = cli("report", cwd=state)
    assert f"inventory STALE: not reconciled since {HEALTHY}, its service file is invalid: " in (
        text.stdout
    )
    assert cli("gate", "checkout", "--at", FAST, cwd=state).code == 1
    gated = cli("gate", "inventory", "--at", FAST, cwd=state)
    assert gated.code == 2 and violation in gated.stderr
    status = cli("slo", "status", "--json", "--at", FAST, cwd=state)
    assert status.code == 2 and f"inventory: not evaluated: {violation}" in status.stderr
    assert {e["service"] for e in json.loads(status.stdout)} == {"checkout"}

    service_file.write_text(good)
    fixed = cli("reconcile", "--at", FAST, cwd=state, env=env)
    assert fixed.code == 0, fixed.stderr
    after = cli("report", "--json", cwd=state)
    assert after.code == 0
    assert all(s["stale"] is None for s in json.loads(after.stdout)["services"])


def test_history_never_overwrites_the_present(cli: Runner, state: Path) -> None:
    """A run at an instant before the last run's is a dry run; --backfill records what that
    instant measured, once, and moves nothing else."""
    live = cli("reconcile", "--at", FAST, cwd=state)
    assert live.code == 0, live.stderr
    assert read(state, "control-plane/state/summary.json")["at"] == FAST
    before = tree_snapshot(state)

    past = cli("reconcile", "--at", HEALTHY, cwd=state)
    assert past.code == 0, past.stderr
    assert f"{HEALTHY} is before the last run's instant {FAST}: a dry run" in past.stdout
    assert "dry run: would have opened 0 incidents" in past.stdout
    assert tree_snapshot(state) == before
    summary = read(state, "control-plane/state/summary.json")
    assert [s["severity"] for s in summary["services"]] == ["fast-burn", "normal"]

    filled = cli("reconcile", "--at", HEALTHY, "--backfill", "--json", cwd=state)
    assert filled.code == 0, filled.stderr
    result = json.loads(filled.stdout)
    assert (result["backfill"], result["dry_run"]) == (True, False)
    assert result["created"] == {"incidents": [], "proposals": []}
    after = tree_snapshot(state)
    changed = sorted(name for name in after if after[name] != before.get(name))
    assert changed == [
        "audit/budget.log",
        "audit/metrics.log",
        "control-plane/state/backfilled.json",
    ]
    lines = [json.loads(line) for line in (state / "audit/metrics.log").read_text().splitlines()]
    recorded = [(e["at"], e["data"]["service"], e["data"].get("backfill")) for e in lines[-2:]]
    assert recorded == [(HEALTHY, "checkout", True), (HEALTHY, "inventory", True)]
    assert all(line["data"]["severity"] == "normal" for line in lines[-2:])
    self_check = Steps(cli, state)
    self_check.intact()

    again = cli("reconcile", "--at", HEALTHY, "--backfill", cwd=state)
    assert again.code == 0, again.stderr
    assert "recorded the evaluation of 0 services (none new)" in again.stdout
    assert tree_snapshot(state) == after

    ahead = cli("reconcile", "--at", EXHAUSTED, "--backfill", cwd=state)
    assert ahead.code == 2
    assert f"--backfill: {EXHAUSTED} is not before the last run's instant ({FAST})" in ahead.stderr
    assert tree_snapshot(state) == after
