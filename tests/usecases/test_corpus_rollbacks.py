"""The whole loop on every real manifest of the corpus: a release from A to B in a real bare
repository, a burn that reconcile answers with a rollback, its approval, and a pushed
branch whose file is A again, byte for byte."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from safedeploy.domain.proposals import VersionChange
from safedeploy.usecases.approval import approve
from safedeploy.usecases.context import Context
from safedeploy.usecases.reconcile import ReconcileResult, reconcile
from testing.corpus import CASES, Case, CorpusWorld, build_corpus_world, later, service_name
from testing.faults import short_metrics
from testing.gitrepos import branch_file

AT = datetime(2026, 11, 1, 11, 5, tzinfo=UTC)  # five minutes into the demo's bad release


@pytest.fixture(scope="module")
def reconciled(tmp_path_factory: pytest.TempPathFactory) -> tuple[CorpusWorld, ReconcileResult]:
    world = build_corpus_world(tmp_path_factory.mktemp("corpus"), CASES, short_metrics())
    return world, reconcile(Context(world.state, environ={}), AT, [], commit=False)


def test_reconcile_proposes_a_rollback_to_a_for_every_file(
    reconciled: tuple[CorpusWorld, ReconcileResult],
) -> None:
    world, result = reconciled
    assert result.errors == []
    changes = {
        p.service: p.change
        for d in result.decisions
        for p in d.new_proposals
        if p.kind == "rollback-rollout"
    }
    for number, case in enumerate(world.cases):
        change = changes[service_name(number)]
        assert isinstance(change, VersionChange)
        assert (change.from_version, change.to_version) == (later(case.version), case.version)


@pytest.mark.parametrize("number", range(len(CASES)), ids=[c.file for c in CASES])
def test_the_approved_rollback_branch_holds_a_byte_for_byte(
    reconciled: tuple[CorpusWorld, ReconcileResult], number: int
) -> None:
    world, result = reconciled
    case: Case = world.cases[number]
    [proposal] = [
        p
        for d in result.decisions
        if d.service == service_name(number)
        for p in d.new_proposals
        if p.kind == "rollback-rollout"
    ]
    approved = approve(
        Context(world.state, environ={}),
        proposal.id,
        "alice",
        AT + timedelta(minutes=10),
        commit=False,
    )
    assert approved.proposal.status == "approved"
    branch = f"safedeploy/{proposal.id}"
    assert branch_file(world.env, branch, case.file) == case.text().encode("utf-8")
    # One commit on top of the default branch, changing that one file only.
    changed = subprocess.run(
        ["git", "diff", "--name-only", f"main...{branch}"],
        cwd=world.env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert changed == [case.file]
