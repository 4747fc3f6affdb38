"""docs/runbook.md's table of exit codes, row by row: the real command in the situation the
row names must exit with the row's code. A row without a scenario here, or a scenario
without its row, fails too, so the table and the behaviour cannot drift apart."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

from safedeploy.adapters.store import StateStore
from testing.builders import service_yaml, write_service
from testing.cli import REPO_ROOT, Result, Runner
from testing.demo_state import AFTER_DEMO
from testing.gitrepos import EnvRemote
from testing.prometheus import RunningPrometheus
from testing.state_repo import StateRepoFixture

RUNBOOK = REPO_ROOT / "docs" / "runbook.md"
ROW = re.compile(r"^\| `([^`]+)` \| (.+) \| (\d) \|$")
AT = "2026-11-01T00:00:00Z"  # the instant the Prometheus fixture's history ends
SIMULATE_HOUR = (
    "simulate", "--metrics", "metrics.om", "--from", "2026-11-01T11:00:00Z",
    "--to", "2026-11-01T12:00:00Z", "--step", "10m",
)  # fmt: skip


def documented() -> dict[tuple[str, str], int]:
    """(command, when) -> exit, from the runbook's table under "By command"."""
    text = RUNBOOK.read_text(encoding="utf-8")
    table = text[text.index("### By command") :].split("\n\n## ", 1)[0]
    rows = [ROW.match(line) for line in table.splitlines() if line.startswith("| `")]
    assert all(rows), "every row is | `command` | when | exit |"
    return {(m.group(1), m.group(2)): int(m.group(3)) for m in rows if m is not None}


@dataclass
class World:
    """What a scenario may need, each part made only when it asks for it."""

    request: pytest.FixtureRequest
    cli: Runner
    root: Path

    @cached_property
    def prometheus(self) -> RunningPrometheus:
        found: RunningPrometheus = self.request.getfixturevalue("prometheus")
        return found

    @cached_property
    def env_remote(self) -> EnvRemote:
        found: EnvRemote = self.request.getfixturevalue("env_remote")
        return found

    @cached_property
    def state_repo(self) -> Path:
        """A state directory that is a Git work tree with one commit."""
        found: StateRepoFixture = self.request.getfixturevalue("state_repo")
        return found.root

    @cached_property
    def demo(self) -> Path:
        """The demo's state: an incident, an approved rollback, a proposed block."""
        found: Path = self.request.getfixturevalue("demo_state")
        return found

    def live(self, *names: str, url: str | None = None, **texts: str) -> Path:
        """A state directory of `names` against the real Prometheus (or `url`), with the
        environment repository; `texts` replaces a service's file."""
        state = self.root / "live"
        for name in names:
            write_service(state / "services", name, texts.get(name))
        (state / "safedeploy.toml").write_text(
            f'[prometheus]\nurl = "{url or self.prometheus.url}"\n'
            f'[environment]\nrepo = "{self.env_remote.path}"\n'
        )
        return state

    def run(self, state: Path, *args: str) -> Result:
        return self.cli(*args, cwd=state)

    @cached_property
    def incident(self) -> str:
        """The demo's incident, read from its state rather than assumed."""
        [found] = json.loads(self.run(self.demo, "incidents", "list", "--json").stdout)
        incident: str = found["id"]
        return incident

    @cached_property
    def block(self) -> str:
        """The demo's proposed block-promotion."""
        listed = json.loads(self.run(self.demo, "proposals", "list", "--json").stdout)
        [found] = [p["id"] for p in listed if p["kind"] == "block-promotion"]
        block: str = found
        return block


Scenario = Callable[[World], Result]


def closed_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def typo(name: str) -> str:
    return service_yaml(name).replace("errors: http_requests_total", "errors: http_request_total")


def broken(name: str) -> str:
    return service_yaml(name).replace("owner:", "ownr:")


def thin(name: str) -> str:
    """Every window below min_events: unknown for low traffic, never for missing data."""
    return service_yaml(name).replace(
        "period: 30d\n", "period: 30d\n      min_events: 1000000000\n"
    )


def _availability_only(name: str) -> str:
    text = service_yaml(name)
    return text[: text.index("    - name: latency")]


def _edited(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def _reconciled(world: World, state: Path, at: str = AT) -> Path:
    done = world.run(state, "reconcile", "--at", at)
    assert done.code in (0, 3), done.stdout + done.stderr
    return state


def _opened(world: World) -> Result:
    state = world.live("checkout", "inventory", checkout=_availability_only("checkout"))
    done = world.run(state, "reconcile", "--at", AT, "--json")
    assert json.loads(done.stdout)["created"]["incidents"], done.stdout
    return done


def _missing_target(world: World) -> Result:
    _edited(world.demo / "services" / "checkout.yaml", "checkout/rollout.yaml", "checkout/x.yaml")
    return world.run(world.demo, "validate", "--env-repo")


def _lost_env_repo(world: World) -> Result:
    _edited(world.demo / "safedeploy.toml", 'repo = "env.git"', f'repo = "{world.root / "no.git"}"')
    return world.run(world.demo, "validate", "--env-repo")


def _not_an_approver(world: World) -> Result:
    done = world.run(world.demo, "approve", world.block, "--by", "mallory")
    assert "mallory" in done.stderr, done.stderr
    return done


def _postmortem_too_early(world: World) -> Result:
    transition = ("incidents", "transition", world.incident, "complete-postmortem")
    done = world.run(world.demo, *transition, "--by", "alice", "--reason", "too early")
    assert "complete-postmortem" in done.stderr, done.stderr
    return done


def _blind_beside_a_burn(world: World) -> Result:
    """checkout burns and is decided (an incident opens); inventory's errors are a typo."""
    texts = {"checkout": _availability_only("checkout"), "inventory": typo("inventory")}
    state = world.live("checkout", "inventory", **texts)
    done = world.run(state, "reconcile", "--at", AT, "--json")
    result = json.loads(done.stdout)
    assert result["created"]["incidents"], done.stdout
    assert [u.split(":")[0] for u in result["undecided"]] == ["inventory"], done.stdout
    return done


def _locked(world: World) -> Result:
    state = world.live("inventory")
    with StateStore(state).lock():
        return world.run(state, "reconcile", "--at", AT, "--lock-timeout", "0.5")


def _gates_broken_only(world: World) -> Result:
    state = world.live("checkout", "inventory", checkout=broken("checkout"))
    assert world.run(state, "gate", "inventory", "--at", AT).code == 0
    return world.run(state, "gate", "checkout", "--at", AT)


def _stale_report(world: World) -> Result:
    state = _reconciled(world, world.live("checkout", "inventory"))
    (state / "services" / "inventory.yaml").write_text(broken("inventory"))
    assert world.run(state, "reconcile", "--at", "2026-11-01T00:01:00Z").code == 2
    return world.run(state, "report")


def _tampered(world: World) -> Result:
    log = world.demo / "audit" / "governance.log"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join([lines[1], lines[0], *lines[2:]]))
    return world.run(world.demo, "audit", "verify")


def _cut_after_commit(world: World) -> Path:
    """The state repository after one decision commit, its metrics stream's last line cut."""
    done = world.run(world.state_repo, "reconcile", "--at", "2026-11-01T11:05:00Z")
    assert done.code == 0, done.stderr
    log = world.state_repo / "audit" / "metrics.log"
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-1]))
    return world.state_repo


def _tampered_replay(world: World) -> Result:
    _tampered(world)
    return world.run(world.demo, "replay")


def _lost_incident(world: World) -> Result:
    (world.demo / "incidents" / f"{world.incident}.json").unlink()
    return world.run(world.demo, "replay", "--check")


def _broken_rules(world: World) -> Result:
    state = world.root / "rules"
    shutil.copytree(REPO_ROOT / "services", state / "services")
    _edited(state / "services" / "search.yaml", "owner:", "ownr:")
    done = world.run(state, "generate", "rules", "--out-dir", "rules")
    assert not (state / "rules").exists() or not any((state / "rules").iterdir())
    return done


def _refused_import(world: World) -> Result:
    source = world.root / "slo.yaml"
    source.write_text("apiVersion: openslo/v1\nkind: AlertPolicy\nmetadata: {name: x}\n")
    state = world.root / "import"
    state.mkdir()
    return world.run(state, "import", "openslo", str(source), "--owner", "t", "--approvers", "a")


SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("validate", "every service file follows the structural policy"): lambda w: w.cli(
        "validate", cwd=REPO_ROOT
    ),
    ("validate", "a service file breaks it (every violation is listed)"): lambda w: w.run(
        w.live("checkout", url="http://x", checkout=broken("checkout")), "validate"
    ),
    (
        "validate --live",
        "every selector of every SLO matches series (notes allowed)",
    ): lambda w: w.run(w.live("checkout", "inventory"), "validate", "--live", "--at", AT),
    (
        "validate --live",
        "a selector names a metric or label that has no series: a typo",
    ): lambda w: w.run(w.live("checkout", checkout=typo("checkout")), "validate", "--live"),
    ("validate --live", "the metrics source cannot answer"): lambda w: w.run(
        w.live("checkout", url=closed_url()), "validate", "--live", "--at", AT
    ),
    ("validate --env-repo", "every target file takes its service's changes"): lambda w: w.run(
        w.demo, "validate", "--env-repo"
    ),
    (
        "validate --env-repo",
        "a target file would refuse an edit (missing, or no such value)",
    ): _missing_target,
    ("validate --env-repo", "the environment repository cannot be read"): _lost_env_repo,
    ("slo status", "every SLO is normal"): lambda w: w.run(
        w.live("inventory"), "slo", "status", "--at", AT
    ),
    ("slo status", "an SLO burns and none is unknown"): lambda w: w.run(
        w.live("checkout", "inventory"), "slo", "status", "--at", AT
    ),
    ("slo status", "an SLO is unknown, whatever else burns"): lambda w: w.run(
        w.live("checkout", "inventory", inventory=typo("inventory")), "slo", "status", "--at", AT
    ),
    ("slo status", "a service file is invalid (the other services are shown)"): lambda w: w.run(
        w.live("checkout", "inventory", inventory=broken("inventory")), "slo", "status", "--at", AT
    ),
    ("reconcile", "every service decided, an incident opened or not"): _opened,
    ("reconcile", "SLOs unknown for low traffic alone"): lambda w: w.run(
        w.live("inventory", inventory=thin("inventory")), "reconcile", "--at", AT
    ),
    (
        "reconcile",
        "an SLO unknown from missing or untrue data, whatever else burns",
    ): _blind_beside_a_burn,
    (
        "reconcile",
        "a service file, or an incident or proposal file, is invalid (the other services are "
        "decided)",
    ): lambda w: w.run(
        w.live("checkout", "inventory", checkout=broken("checkout")), "reconcile", "--at", AT
    ),
    ("reconcile", "another run holds the state lock past `--lock-timeout`"): _locked,
    ("reconcile", "`prometheus.url` has no `http://` or `https://`"): lambda w: w.run(
        w.live("inventory", url="127.0.0.1:9090"), "reconcile", "--at", AT
    ),
    ("reconcile", "`--at` before the last run's instant: a dry run, nothing written"): lambda w: (
        w.run(_reconciled(w, w.live("inventory")), "reconcile", "--at", "2026-10-31T23:00:00Z")
    ),
    ("reconcile --backfill", "`--at` not before the last run's instant"): lambda w: w.run(
        _reconciled(w, w.live("inventory")), "reconcile", "--backfill", "--at", AT
    ),
    ("gate", "promotion allowed (GREEN)"): lambda w: w.run(
        w.live("inventory"), "gate", "inventory", "--at", AT
    ),
    (
        "gate",
        "promotion blocked (RED): a burn, a spent budget, a freeze, a failing canary",
    ): lambda w: w.run(w.live("checkout"), "gate", "checkout", "--at", AT),
    ("gate", "cannot decide (UNKNOWN): an SLO or the canary is unknown"): lambda w: w.run(
        w.live("inventory", inventory=typo("inventory")), "gate", "inventory", "--at", AT
    ),
    (
        "gate",
        "the service's own file is invalid (another service's is no matter)",
    ): _gates_broken_only,
    (
        "reconcile",
        "the audit log is not what the last state commit recorded (nothing is written)",
    ): lambda w: w.run(_cut_after_commit(w), "reconcile", "--at", "2026-11-01T11:10:00Z"),
    ("report", "the summary the last reconcile wrote"): lambda w: w.run(w.demo, "report"),
    (
        "report",
        "a service file was invalid at the last reconcile (its entry is marked stale)",
    ): _stale_report,
    ("report", "no reconcile has written a summary yet"): lambda w: w.run(
        w.live("inventory", url="http://x"), "report"
    ),
    ("explain", "an incident or proposal id"): lambda w: w.run(w.demo, "explain", w.incident),
    ("explain", "an id that is neither"): lambda w: w.run(w.demo, "explain", "checkout-nothing"),
    ("approve", "by an approver of the service"): lambda w: w.run(
        w.demo, "approve", w.block, "--by", "alice"
    ),
    ("approve", "by someone who is not one"): _not_an_approver,
    ("reject", "by an approver, with a reason"): lambda w: w.run(
        w.demo, "reject", w.block, "--by", "bob", "--reason", "load test"
    ),
    ("incidents list", "the incidents, open or closed"): lambda w: w.run(
        w.demo, "incidents", "list"
    ),
    ("incidents transition", "an edge the lifecycle does not have"): _postmortem_too_early,
    ("proposals show", "an id that is no proposal"): lambda w: w.run(
        w.demo, "proposals", "show", "checkout-nothing"
    ),
    ("audit verify", "every stream's chain is intact"): lambda w: w.run(w.demo, "audit", "verify"),
    ("audit verify", "a line was edited, removed or reordered"): _tampered,
    (
        "audit verify",
        "the log does not extend what a state commit recorded: cut, or rewritten and sealed anew",
    ): lambda w: w.run(_cut_after_commit(w), "audit", "verify"),
    (
        "audit verify",
        "`--state` is not a state directory (every command that reads one)",
    ): lambda w: w.cli("--state", str(w.root / "nowhere"), "audit", "verify"),
    ("replay", "the audit log does not verify (nothing is restored)"): _tampered_replay,
    ("replay --check", "the files are what the audit log rebuilds"): lambda w: w.run(
        w.demo, "replay", "--check"
    ),
    ("replay --check", "a file is missing, extra or different"): _lost_incident,
    ("history", "a state directory that is a Git work tree"): lambda w: w.run(
        w.state_repo, "history"
    ),
    ("history", "a state directory that is not one"): lambda w: w.run(w.demo, "history"),
    ("simulate", "a replay over recorded metrics"): lambda w: w.run(w.demo, *SIMULATE_HOUR),
    ("simulate", "`--to` not after `--from`"): lambda w: w.run(
        w.demo, "simulate", "--metrics", "metrics.om", "--from", AFTER_DEMO, "--to", AFTER_DEMO
    ),
    ("generate rules", "every service file is valid"): lambda w: w.cli(
        "generate", "rules", cwd=REPO_ROOT
    ),
    (
        "generate rules",
        "a service file is invalid (no service's rules are written)",
    ): _broken_rules,
    ("import openslo", "a file it cannot import"): _refused_import,
    ("init", "a directory without safedeploy's files"): lambda w: w.cli(
        "init", str(w.root / "new")
    ),
    ("init", "a directory that has them already"): lambda w: w.cli("init", str(w.demo)),
    ("schema", "a published schema (`service`, `report`)"): lambda w: w.cli("schema", "report"),
    ("demo", "anywhere: no network, no services needed"): lambda w: w.cli(
        "demo", "--dir", str(w.root / "demo")
    ),
}


def test_every_row_has_a_scenario_and_every_scenario_a_row() -> None:
    rows = documented()
    assert len(rows) >= 40
    assert sorted(rows) == sorted(SCENARIOS)


@pytest.mark.parametrize("row", list(SCENARIOS), ids=[f"{c}: {w}" for c, w in SCENARIOS])
def test_the_documented_exit_code(
    row: tuple[str, str], request: pytest.FixtureRequest, cli: Runner, tmp_path: Path
) -> None:
    expected = documented().get(row)
    assert expected is not None, f"no row in docs/runbook.md for {row}"
    done = SCENARIOS[row](World(request, cli, tmp_path))
    assert done.code == expected, f"{row}: exit {done.code}\n{done.stdout}\n{done.stderr}"
