from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from safedeploy.domain.incidents import Incident, open_incident
from safedeploy.domain.proposals import Proposal, VersionChange, new_proposal, next_status
from safedeploy.domain.stable_versions import (
    ServiceRecord,
    rollback_target,
    running_at,
    unhealthy,
)
from safedeploy.domain.versions import Release

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def release(version: str, hours: int) -> Release:
    commit = f"c{hours:03d}" * 10
    return Release(version=version, commit=commit, committed_at=T0 + timedelta(hours=hours))


def incident_at(hours: float) -> Incident:
    at = T0 + timedelta(hours=hours)
    return open_incident("checkout", "fast-burn", ("availability",), at, actor="t", reason="x")


def approved_rollback(incident: Incident, from_version: str, to_version: str) -> Proposal:
    change = VersionChange(
        path="r.yaml", kind="rollout", from_version=from_version, to_version=to_version
    )
    proposal = new_proposal(
        "rollback-rollout",
        "checkout",
        incident.id,
        change,
        rule="r",
        reason="x",
        at=incident.opened_at,
    )
    return next_status(proposal, "approve", incident.opened_at, "alice", "ok")


def test_the_newest_earlier_version_that_opened_nothing_is_the_target() -> None:
    history = (release("1.3.0", 0), release("1.4.2", 10), release("1.5.0", 20))
    chosen = rollback_target(history, ServiceRecord())
    assert not isinstance(chosen, str)
    assert (chosen.version, chosen.commit, chosen.committed_at) == (
        "1.4.2",
        "c010" * 10,
        T0 + timedelta(hours=10),
    )
    assert chosen.reason == (
        "ran 10h from 2026-01-01T10:00:00Z (commit c010c010c010) until 2026-01-01T20:00:00Z; "
        "no incident opened while it ran and no rollback left it"
    )


def test_a_version_that_opened_an_incident_or_was_rolled_back_from_is_skipped() -> None:
    # 1.5.0 opened an incident and was rolled back; the rollback merged (1.4.2 again); then
    # 1.4.2 opened an incident too. The commit before is 1.5.0: never the target.
    history = (
        release("1.3.0", 0),
        release("1.4.2", 10),
        release("1.5.0", 20),
        release("1.4.2", 21),
    )
    first, second = incident_at(20.5), incident_at(30)
    record = ServiceRecord(
        incidents=(first, second), proposals=(approved_rollback(first, "1.5.0", "1.4.2"),)
    )
    assert unhealthy(history, record) == {
        "1.5.0": f"incident {first.id} opened while it ran (2026-01-01T20:30:00Z)",
        "1.4.2": f"incident {second.id} opened while it ran (2026-01-02T06:00:00Z)",
    }
    chosen = rollback_target(history, record)
    assert not isinstance(chosen, str) and chosen.version == "1.3.0"
    only_bad = ServiceRecord(incidents=(*record.incidents, incident_at(5)))
    assert rollback_target(history, only_bad) == (
        "no earlier version was healthy (1.5.0: incident "
        f"{first.id} opened while it ran (2026-01-01T20:30:00Z); 1.3.0: incident "
        f"{only_bad.incidents[2].id} opened while it ran (2026-01-01T05:00:00Z))"
    )


def test_a_rollback_merged_since_still_marks_what_it_left() -> None:
    """Once reconcile sees the rollback merged, the version it left is no more stable."""
    history = (release("1.4.2", 0), release("1.5.0", 10), release("1.4.2", 11))
    opened = incident_at(30)  # opened after the rollback: 1.5.0 was not running then
    merged = next_status(
        approved_rollback(opened, "1.5.0", "1.4.2"),
        "merge",
        opened.opened_at,
        "safedeploy-reconcile",
        "merged",
        merge_commit="c011" * 10,
    )
    assert merged.status == "merged"
    for rollback in (approved_rollback(opened, "1.5.0", "1.4.2"), merged):
        record = ServiceRecord(proposals=(rollback,))
        assert unhealthy(history, record) == {"1.5.0": f"rolled back from by {rollback.id}"}


def test_running_at_is_the_last_release_committed_by_then() -> None:
    history = (release("a", 0), release("b", 10))
    assert running_at(history, T0 - timedelta(hours=1)) is None
    assert running_at(history, T0 + timedelta(hours=10)) == history[1]


@given(
    versions=st.lists(st.sampled_from("abcde"), min_size=1, max_size=8),
    incidents=st.lists(st.integers(0, 80), max_size=4, unique=True),
    rolled_back=st.lists(st.sampled_from("abcde"), max_size=2),
)
def test_the_target_is_the_newest_healthy_earlier_version(
    versions: list[str], incidents: list[int], rolled_back: list[str]
) -> None:
    history = tuple(release(v, 10 * n) for n, v in enumerate(versions))
    opened = tuple(incident_at(h) for h in incidents)
    proposals = tuple(
        approved_rollback(incident_at(1000 + n), v, "z") for n, v in enumerate(rolled_back)
    )
    record = ServiceRecord(incidents=opened, proposals=proposals)
    bad = unhealthy(history, record)
    current = history[-1].version
    healthy = [r for r in history[:-1] if r.version != current and r.version not in bad]
    chosen = rollback_target(history, record)
    if healthy:
        assert not isinstance(chosen, str)
        assert (chosen.version, chosen.commit) == (healthy[-1].version, healthy[-1].commit)
    else:
        assert isinstance(chosen, str)
    if not isinstance(chosen, str):
        assert chosen.version != current
        assert chosen.version not in rolled_back
