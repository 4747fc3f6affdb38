"""`reconcile --shard I/N`: N shards leave the state one unsharded run leaves, file by file.

Two copies of the demo story's state repository (example catalog, embedded metrics, a real
environment repository): one reconciled whole, one shard by shard, at the same instants.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from safedeploy.demo import story
from safedeploy.domain import layout
from safedeploy.domain.shards import WHOLE, Shard, shard_of
from safedeploy.usecases.audit_replay import verify
from safedeploy.usecases.context import Context
from safedeploy.usecases.gate import gate
from safedeploy.usecases.reconcile import reconcile
from safedeploy.usecases.report import report
from testing.builders import story_state
from testing.cli import Runner, tree_snapshot
from testing.shards import audit_lines, decided_state
from testing.state_repo import StateRepoFixture, build_state_repo, clone, git

INSTANTS = (story.BEFORE_RELEASE, story.END, story.END + timedelta(minutes=5))
END = story.END.isoformat()
SERVICES = ("checkout", "payments", "search")


def run(root: Path, at: datetime, shard: Shard = WHOLE) -> int:
    return reconcile(Context(root), at, [], shard=shard).exit_code


@pytest.mark.parametrize(
    ("count", "instants"),
    [
        # 3 shards of these names leave one empty: it must write nothing wrong either.
        (3, INSTANTS[:2]),
        pytest.param(2, INSTANTS, marks=pytest.mark.soak),
        pytest.param(4, INSTANTS, marks=pytest.mark.soak),
    ],
)
def test_n_shards_leave_the_state_one_run_leaves(
    tmp_path: Path, count: int, instants: tuple[datetime, ...]
) -> None:
    whole = build_state_repo(tmp_path / "whole").root
    sharded = build_state_repo(tmp_path / "sharded").root
    for at in instants:
        expected = run(whole, at)
        codes = [run(sharded, at, Shard(index=i, count=count)) for i in range(count)]
        assert max(codes) == expected, at
        assert decided_state(sharded) == decided_state(whole), at
        assert audit_lines(sharded) == audit_lines(whole), at
        assert verify(Context(sharded)).ok
        assert report(Context(sharded)) == report(Context(whole)), at
    # The story opened an incident and proposed a rollback: the comparison saw decisions.
    assert any(name.startswith(layout.INCIDENTS) for name in decided_state(sharded))
    files = sorted(p.relative_to(sharded).as_posix() for p in sharded.rglob("summary.json"))
    # Every shard ran, an empty one too: each has its own summary and last-run record.
    assert files == [layout.shard_summary(f"{i}-of-{count}") for i in range(count)]
    for index in range(count):
        label = f"{index}-of-{count}"
        mine = json.loads((sharded / layout.shard_summary(label)).read_text())
        assert [s["service"] for s in mine["services"]] == [
            n for n in sorted(SERVICES) if shard_of(n, count) == index
        ]
        last = json.loads((sharded / layout.shard_last_run(label)).read_text())
        assert sorted(last["services"]) == [n for n in SERVICES if shard_of(n, count) == index]
    # The gate reads the control state every shard writes per service.
    at = instants[-1]
    for name in SERVICES:
        ours, theirs = gate(Context(sharded), name, at), gate(Context(whole), name, at)
        assert ours.verdict == theirs.verdict and ours.freeze_until == theirs.freeze_until
    assert gate(Context(sharded), "checkout", at).verdict.decision == "RED"


def test_a_shard_decides_and_writes_only_its_services(tmp_path: Path) -> None:
    root = build_state_repo(tmp_path).root
    checkout = Shard(index=shard_of("checkout", 2), count=2)
    result = reconcile(Context(root), story.END, [], shard=checkout)
    assert sorted(d.service for d in result.decisions) == ["checkout", "search"]
    controls = sorted(p.stem for p in (root / layout.SERVICE_CONTROL).glob("*.json"))
    assert controls == ["checkout", "search"]
    assert not (root / layout.SUMMARY).exists()
    # Together with nothing else yet, report shows what this shard decided.
    assert [s.service for s in report(Context(root)).services] == ["checkout", "search"]


def test_a_shard_after_an_unsharded_run_keeps_the_others_in_the_report(tmp_path: Path) -> None:
    root = build_state_repo(tmp_path).root
    run(root, story.BEFORE_RELEASE)
    payments = Shard(index=shard_of("payments", 2), count=2)
    run(root, story.END, payments)
    by_name = {s.service: s for s in report(Context(root)).services}
    assert sorted(by_name) == sorted(SERVICES)
    assert by_name["payments"].evaluated_at == story.END
    assert by_name["checkout"].evaluated_at == story.BEFORE_RELEASE
    # A shard judges "in the past" by its own services' latest decision.
    earlier = reconcile(Context(root), story.END - timedelta(minutes=1), [], shard=payments)
    assert earlier.dry_run and earlier.note is not None
    other = Shard(index=shard_of("checkout", 2), count=2)
    assert not reconcile(Context(root), story.END - timedelta(minutes=1), [], shard=other).dry_run


def test_shards_pushing_to_one_state_repository_lose_no_line(
    cli: Runner, state_repo: StateRepoFixture, tmp_path: Path
) -> None:
    """Two shards on two machines (two clones), one remote: the second push is replayed on
    the first; together they are what one unsharded run leaves."""
    clones = [clone(state_repo, tmp_path / f"shard-{i}") for i in range(2)]
    codes = []
    for index, root in enumerate(clones):
        done = cli(
            "--state", str(root), "reconcile", "--at", END, "--shard", f"{index}/2", "--push"
        )
        assert "pushed" in done.stdout, done.stderr
        codes.append(done.code)
    assert "combined with a concurrent push" in done.stdout  # the second replayed its commit
    fresh = clone(state_repo, tmp_path / "fresh")
    assert cli("--state", str(fresh), "audit", "verify").code == 0
    whole = clone(state_repo, tmp_path / "whole")
    assert max(codes) == run(whole, story.END)
    assert decided_state(fresh) == decided_state(whole)
    assert audit_lines(fresh) == audit_lines(whole)
    assert report(Context(fresh)) == report(Context(whole))
    log = git(fresh, "log", "--format=%s").splitlines()
    assert len(log) == 3  # initial, the first shard's decision, the second's on top


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("--shard", "2/2"), "--shard: '2/2': shards are numbered from 0 to 1 (0-based)"),
        (("--shard", "1of2"), "--shard: '1of2' is not I/N"),
        (("--shard", "0/2", "--backfill"), "--backfill: run a backfill without --shard"),
    ],
)
def test_a_bad_shard_is_bad_input_and_writes_nothing(
    cli: Runner, tmp_path: Path, args: tuple[str, ...], why: str
) -> None:
    root = story_state(tmp_path / "state")
    before = tree_snapshot(root)
    done = cli("--state", str(root), "reconcile", "--at", END, *args, "--json")
    assert done.code == 2
    assert why in done.stderr
    answer = json.loads(done.stdout)
    assert why in answer["error"] and answer["exit"] == 2
    assert tree_snapshot(root) == before
