"""What reconcile and `validate --env-repo` do with target files they cannot edit: no
proposal that could not be applied, the reason (file, line, field) in the evidence and in
the run's output, and an exit code that says so."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safedeploy.adapters.envrepo import EnvRepo
from safedeploy.adapters.store import StateStore
from safedeploy.adapters.target_versions import EnvRepos
from safedeploy.domain.catalog import Service
from safedeploy.domain.incidents import next_state, open_incident
from safedeploy.domain.proposals import VersionChange, new_proposal, next_status
from safedeploy.usecases.approval import approve
from safedeploy.usecases.context import Context
from safedeploy.usecases.reconcile import reconcile
from safedeploy.usecases.records import record_incident, record_proposal
from testing.cli import run, tree_snapshot
from testing.corpus import CASES, Case, CorpusWorld, build_corpus_world, build_world, later
from testing.faults import AT_BREACH, short_metrics
from testing.gitrepos import (
    EnvRemote,
    branch_file,
    git,
    helm_text,
    kustomize_text,
    push_change,
    rollout_text,
)

ROLLOUT = Case("apps/checkout/rollout.yaml", "rollout", "1.5.0", 34, container="checkout")
HELM = Case("apps/payments/values.yaml", "helm", "2.1.1", 6)
BAD_RELEASE = datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
APPROVED_AT = datetime(2026, 11, 1, 11, 15, tzinfo=UTC)


def _world(base: Path, files: list[tuple[Case, str, str]]) -> CorpusWorld:
    return build_world(base, files, short_metrics())


def _evidence_notes(state: Path) -> list[str]:
    [decision] = state.glob("evidence/incident-*/decision.json")
    notes: list[str] = json.loads(decision.read_text())["notes"]
    return notes


def test_a_rollback_that_cannot_be_applied_is_not_proposed(tmp_path: Path) -> None:
    # The version is an anchor that another key shares: editing it would change both.
    shared = _shared_image("1.5.0")
    world = _world(tmp_path, [(ROLLOUT, rollout_text("1.4.2"), shared)])
    done = run("reconcile", "--at", AT_BREACH, cwd=world.state)
    assert done.code == 2, done.stderr
    why = (
        "corpus-00: rollback-rollout not proposed: apps/checkout/rollout.yaml:34: "
        "spec.template.spec.containers[checkout].image: the value is reached through an "
        "alias (*); edit it by hand"
    )
    assert why in done.stderr.splitlines()
    proposals = sorted(p.name for p in (world.state / "action-proposals").iterdir())
    assert proposals == ["corpus-00-20261101t110500z-block-promotion.json"]
    assert why.removeprefix("corpus-00: ") in _evidence_notes(world.state)


FLOW_ROLLOUT = """\
kind: Rollout
metadata: {name: checkout}
spec: {replicas: 6, template: {spec: {containers: [{name: checkout, image: "r/checkout:1.5.0"}]}}}
"""


def test_a_pause_that_cannot_be_written_is_not_proposed(tmp_path: Path) -> None:
    case = Case(ROLLOUT.file, "rollout", "1.5.0", 3, container="checkout")
    world = _world(tmp_path, [(case, FLOW_ROLLOUT.replace("1.5.0", "1.4.2"), FLOW_ROLLOUT)])
    done = run("reconcile", "--at", AT_BREACH, "--json", cwd=world.state)
    assert done.code == 2
    created = json.loads(done.stdout)["created"]["proposals"]
    assert created == ["corpus-00-20261101t110500z-rollback-rollout"]
    assert json.loads(done.stdout)["errors"] == [
        "corpus-00: block-promotion not proposed: apps/checkout/rollout.yaml:3: spec: not "
        "written one key per line; add spec.paused: true by hand"
    ]


def test_a_helm_service_gets_no_block_promotion_and_the_evidence_says_the_gate_blocks(
    tmp_path: Path,
) -> None:
    world = _world(tmp_path, [(HELM, helm_text("2.1.0"), helm_text("2.1.1"))])
    done = run("reconcile", "--at", AT_BREACH, cwd=world.state)
    assert done.code == 0, done.stderr
    proposals = [p.name for p in (world.state / "action-proposals").iterdir()]
    assert proposals == ["corpus-00-20261101t110500z-rollback-rollout.json"]
    assert (
        "promotion blocked (the gate says no); block-promotion not proposed: a helm target "
        "has no pause safedeploy can write, only a Rollout"
    ) in _evidence_notes(world.state)
    gate = run("gate", "corpus-00", "--at", AT_BREACH, cwd=world.state)
    assert gate.code == 1


@pytest.fixture(scope="module")
def corpus_world(tmp_path_factory: pytest.TempPathFactory) -> CorpusWorld:
    return build_corpus_world(tmp_path_factory.mktemp("validate"), CASES, short_metrics())


def test_validate_env_repo_checks_every_target_file_now(corpus_world: CorpusWorld) -> None:
    done = run("validate", "--env-repo", cwd=corpus_world.state)
    assert done.code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(CASES)
    assert lines[0] == (
        "corpus-00: argo-rollouts/examples/rollout-canary.yaml:21: "
        "spec.template.spec.containers[rollouts-demo].image = blue-next; an edit changes "
        "that one value; block-promotion can pause it"
    )
    checked = json.loads(run("validate", "--env-repo", "--json", cwd=corpus_world.state).stdout)
    assert all(t["ok"] for t in checked["targets"])
    assert {t["line"] for t in checked["targets"]} == {c.line for c in CASES}


def test_validate_env_repo_names_the_file_line_and_field_that_block(tmp_path: Path) -> None:
    broken = rollout_text("1.5.0").replace(":1.5.0", "")
    world = _world(
        tmp_path,
        [(ROLLOUT, rollout_text("1.5.0"), broken), (HELM, helm_text("2.1.0"), helm_text("2.1.1"))],
    )
    before = tree_snapshot(world.state)
    done = run("validate", "--env-repo", cwd=world.state)
    assert done.code == 2
    assert done.stderr.splitlines() == [
        "corpus-00: apps/checkout/rollout.yaml:34: spec.template.spec.containers[checkout]."
        "image: image 'registry.example.com/checkout' has neither a tag nor a digest; "
        "safedeploy moves one of them"
    ]
    assert done.stdout.startswith("corpus-01: apps/payments/values.yaml:6: image.tag = 2.1.1;")
    assert tree_snapshot(world.state) == before


def test_after_a_merged_rollback_the_next_incident_goes_back_past_the_bad_version(
    tmp_path: Path,
) -> None:
    """1.5.0 burned and was rolled back to 1.4.2 (merged); now 1.4.2 burns: the commit
    before it holds 1.5.0, which must never be the target again."""
    day = timedelta(days=1)
    history = [
        ("checkout 1.3.0", {ROLLOUT.file: rollout_text("1.3.0")}, BAD_RELEASE - 3 * day),
        ("checkout 1.4.2", {ROLLOUT.file: rollout_text("1.4.2")}, BAD_RELEASE - 2 * day),
        ("checkout 1.5.0", {ROLLOUT.file: rollout_text("1.5.0")}, BAD_RELEASE - day),
        ("Roll back to 1.4.2", {ROLLOUT.file: rollout_text("1.4.2")}, BAD_RELEASE - day / 2),
    ]
    world = build_world(tmp_path, [(ROLLOUT, "", "")], short_metrics(), history)
    opened = BAD_RELEASE - day + timedelta(minutes=5)
    _an_incident_rolled_back(world.state, opened, "1.5.0", "1.4.2")
    done = run("reconcile", "--at", AT_BREACH, "--json", cwd=world.state)
    assert done.code == 0, done.stderr
    [proposal] = [
        json.loads(p.read_text())
        for p in (world.state / "action-proposals").glob("*-rollback-rollout.json")
        if "20261101t110500z" in p.name
    ]
    change = proposal["change"]
    assert (change["from_version"], change["to_version"]) == ("1.4.2", "1.3.0")
    assert change["chosen"]["committed_at"] == "2026-10-29T11:00:00Z"
    assert (
        "roll 1.4.2 back to 1.3.0, which ran 24h from 2026-10-29T11:00:00Z" in (proposal["reason"])
    )


def _an_incident_rolled_back(state: Path, opened: datetime, bad: str, good: str) -> None:
    """The record a day earlier: an incident, its approved rollback, the incident resolved."""
    store = StateStore(state)
    incident = open_incident(
        "corpus-00", "fast-burn", ("availability",), opened, actor="t", reason="burn"
    )
    change = VersionChange(path=ROLLOUT.file, kind="rollout", from_version=bad, to_version=good)
    proposal = new_proposal(
        "rollback-rollout", "corpus-00", incident.id, change, rule="r", reason="x", at=opened
    )
    later = opened + timedelta(minutes=10)
    approved = next_status(proposal, "approve", later, "alice", "approved")
    mitigated = next_state(incident, "mitigate", later, "alice", "rolled back")
    resolved = next_state(mitigated, "resolve", later + timedelta(hours=2), "t", "stable")
    with store.lock():
        record_incident(store, incident, "open", opened)
        record_proposal(store, proposal, "proposed", opened)
        record_proposal(store, approved, "approve", later)
        record_incident(store, mitigated, "mitigate", later)
        record_incident(store, resolved, "resolve", later + timedelta(hours=2))


class _WatchedRepos(EnvRepos):
    """The run's environment repos, noting whether the state lock was held at each read."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx.settings, ctx.state)
        self._store = ctx.store
        self.locked: list[bool] = []

    def synced(self, service: Service) -> EnvRepo:
        self.locked.append(self._store.is_locked)
        return super().synced(service)


def test_a_pause_is_checked_against_a_repo_fetched_before_the_lock(tmp_path: Path) -> None:
    """A slow burn proposes no rollback, only a pause; its file is read all the same, and
    the repo is fetched before the state lock is taken, never while it is held."""
    world = _world(tmp_path, [(ROLLOUT, rollout_text("1.4.2"), rollout_text("1.5.0"))])
    service_file = world.state / "services" / "corpus-00.yaml"
    service = json.loads(service_file.read_text())
    slow = {"severity": "slow-burn", "long": "1h", "short": "5m", "factor": 1}
    service["spec"]["slos"][0] |= {"objective": 0.998, "alerts": [slow]}
    service_file.write_text(json.dumps(service), encoding="utf-8")
    ctx = Context(world.state, environ={})
    watched = _WatchedRepos(ctx)
    ctx.__dict__["env_repos"] = watched  # the cached part, replaced before first use
    result = reconcile(ctx, datetime(2026, 11, 1, 11, 5, tzinfo=UTC), [], commit=False)
    [decision] = result.decisions
    assert decision.severity == "slow-burn"
    assert [p.kind for p in decision.new_proposals] == ["block-promotion"]
    assert watched.locked[0] is False
    assert result.exit_code == 0


def _shared_image(version: str) -> str:
    """The Rollout with its image behind an anchor that an env entry shares."""
    env = "\n          env: [{name: IMAGE, value: *image}]"
    text = rollout_text(version).replace(f"checkout:{version}", f"checkout:{version}{env}")
    return text.replace("image: registry", "image: &image registry")


def test_approve_refuses_a_file_changed_since_in_one_line_and_pushes_nothing(
    tmp_path: Path,
) -> None:
    world = _world(tmp_path, [(ROLLOUT, rollout_text("1.4.2"), rollout_text("1.5.0"))])
    assert run("reconcile", "--at", AT_BREACH, cwd=world.state).code == 0
    [proposal] = [p.stem for p in (world.state / "action-proposals").glob("*-rollback-rollout.*")]
    # Someone shares the image through an anchor after the proposal was made.
    remote = EnvRemote(world.env, "main")
    push_change(remote, tmp_path / "other", "main", ROLLOUT.file, _shared_image("1.5.0"))
    before = tree_snapshot(world.state)
    done = run("approve", proposal, "--by", "alice", cwd=world.state)
    assert done.code == 2
    assert done.stderr.splitlines() == [
        f"proposal {proposal}: on main: apps/checkout/rollout.yaml:34: "
        "spec.template.spec.containers[checkout].image: the value is reached through an "
        "alias (*); edit it by hand; nothing was changed"
    ]
    heads = git(world.env, "for-each-ref", "--format=%(refname:short)", "refs/heads")
    assert heads.split() == ["main"]
    after = {k: v for k, v in tree_snapshot(world.state).items() if "cache" not in k}
    assert after == {k: v for k, v in before.items() if "cache" not in k}


def test_validate_env_repo_without_a_repo_says_so_once_per_service(tmp_path: Path) -> None:
    world = _world(tmp_path, [(HELM, helm_text("2.1.0"), helm_text("2.1.1"))])
    (world.state / "safedeploy.toml").write_text(
        '[prometheus]\nmetrics_file = "../metrics.om"\n', encoding="utf-8"
    )
    done = run("validate", "--env-repo", cwd=world.state)
    assert done.code == 2
    assert done.stderr.splitlines() == [
        "corpus-00: no environment repo: set spec.target.repo or environment.repo in "
        "safedeploy.toml"
    ]


TEXT_VERSIONS = ("1.10", "1.0", "010", "1e3", "20240101", "0x1F", "true")


def _newer(version: str) -> str:
    """The release after `version`, read by YAML as the same type (`true` after `false`)."""
    return "false" if version == "true" else later(version)


def _text_version_case(number: int, version: str) -> tuple[Case, str, str]:
    """Unquoted, so YAML alone would read a number, a date or a boolean; A then B."""
    if number % 2:
        case = Case(f"apps/t{number}/kustomization.yaml", "kustomize", version, 10, image="search")
        text = kustomize_text
    else:
        case, text = Case(f"apps/t{number}/values.yaml", "helm", version, 6), helm_text
    return case, text(version).replace('"', ""), text(_newer(version)).replace('"', "")


def test_versions_stay_text_from_the_proposal_to_the_pushed_branch(tmp_path: Path) -> None:
    """1.11 goes back to 1.10, never to the number 1.1, and stays unquoted as written."""
    files = [_text_version_case(n, v) for n, v in enumerate(TEXT_VERSIONS)]
    world = _world(tmp_path, files)
    done = run("reconcile", "--at", AT_BREACH, cwd=world.state)
    assert done.code == 0, done.stderr
    for number, (case, before, _) in enumerate(files):
        written = before.splitlines()[case.line - 1]
        assert re.fullmatch(rf" *(newTag|tag): {re.escape(case.version)}( .*)?", written)
        [found] = (world.state / "action-proposals").glob(f"corpus-{number:02d}-*-rollback-*")
        proposal = json.loads(found.read_text())
        change = proposal["change"]
        newer = _newer(case.version)
        assert (change["from_version"], change["to_version"]) == (newer, case.version)
        assert f"roll {newer} back to {case.version}, which " in proposal["reason"]
        approved = approve(
            Context(world.state, environ={}), found.stem, "alice", APPROVED_AT, commit=False
        )
        assert approved.proposal.status == "approved"
        assert branch_file(world.env, f"safedeploy/{found.stem}", case.file) == before.encode()


def _renamed_container(text: str) -> str:
    return text.replace("- name: checkout", "- name: checkout-v2")


def _two_rollouts(text: str) -> str:
    return f"{text}---\n{text}"


def _image_listed_twice(text: str) -> str:
    return text + "- name: search\n  newTag: 1.0.2\n"


def _unclosed(text: str) -> str:
    return text.replace("service:", "service: [unclosed")


@pytest.mark.parametrize(
    ("case", "older", "breaks", "expected"),
    [
        (
            ROLLOUT,
            rollout_text("1.4.2"),
            _renamed_container,
            "apps/checkout/rollout.yaml:31: spec.template.spec: no container named 'checkout' "
            "(containers: checkout-v2, envoy)",
        ),
        (
            ROLLOUT,
            rollout_text("1.4.2"),
            _two_rollouts,
            "apps/checkout/rollout.yaml:47: kind: 2 Rollout documents (lines 2, 47); set "
            "spec.target.name",
        ),
        (
            Case("apps/search/kustomization.yaml", "kustomize", "1.0.1", 10, image="search"),
            kustomize_text("1.0.0"),
            _image_listed_twice,
            "apps/search/kustomization.yaml:13: images[search]: listed 2 times (lines 8, 13)",
        ),
        (HELM, helm_text("2.1.0"), _unclosed, "apps/payments/values.yaml:10: not valid YAML"),
    ],
    ids=["container-not-found", "ambiguous-file", "two-matching-images", "unreadable"],
)
def test_approve_names_the_file_line_and_field_of_a_target_gone_bad_and_writes_nothing(
    tmp_path: Path, case: Case, older: str, breaks: Callable[[str], str], expected: str
) -> None:
    """The file changed after the proposal: one line, exit 2, no branch, no state written."""
    current = {"rollout": rollout_text, "kustomize": kustomize_text, "helm": helm_text}
    after = current[case.kind](case.version)
    world = _world(tmp_path, [(case, older, after)])
    assert run("reconcile", "--at", AT_BREACH, cwd=world.state).code == 0
    [proposal] = [p.stem for p in (world.state / "action-proposals").glob("*-rollback-rollout.*")]
    push_change(EnvRemote(world.env, "main"), tmp_path / "other", "main", case.file, breaks(after))
    before = tree_snapshot(world.state)
    done = run("approve", proposal, "--by", "alice", cwd=world.state)
    assert done.code == 2
    [message] = done.stderr.splitlines()
    assert message.startswith(f"proposal {proposal}: on main: {expected}"), message
    assert message.endswith("; nothing was changed"), message
    heads = git(world.env, "for-each-ref", "--format=%(refname:short)", "refs/heads")
    assert heads.split() == ["main"]
    kept = {k: v for k, v in tree_snapshot(world.state).items() if "cache" not in k}
    assert kept == {k: v for k, v in before.items() if "cache" not in k}
