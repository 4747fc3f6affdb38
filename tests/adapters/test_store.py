from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from safedeploy.adapters.store import StateStore
from safedeploy.domain.incidents import Incident, next_state, open_incident
from safedeploy.domain.proposals import PauseChange, Proposal, new_proposal, next_status
from safedeploy.errors import BadInputError, StateLockedError

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def an_incident(service: str = "checkout") -> Incident:
    incident = open_incident(
        service, "fast-burn", ("availability",), T0, actor="reconcile", reason="1h/5m"
    )
    return next_state(incident, "acknowledge", T0 + timedelta(minutes=2), "alice", "on it")


def a_proposal() -> Proposal:
    proposal = new_proposal(
        "block-promotion",
        "checkout",
        an_incident().id,
        PauseChange(),
        rule="budget-exhausted",
        reason="remaining -0.2",
        at=T0,
    )
    return next_status(proposal, "approve", T0 + timedelta(minutes=5), "bob", "ok", branch="b")


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "state", lock_timeout=0.5)


def test_incidents_and_proposals_round_trip(store: StateStore) -> None:
    incident, proposal = an_incident(), a_proposal()
    with store.lock():
        store.write_incident(incident)
        store.write_proposal(proposal)
    assert store.get_incident(incident.id) == incident
    assert store.get_proposal(proposal.id) == proposal
    assert store.load_incidents().items == (incident,)
    assert store.load_proposals().items == (proposal,)
    on_disk = json.loads((store.root / "incidents" / f"{incident.id}.json").read_text())
    assert on_disk["schema_version"] == 1


def test_missing_files_read_as_none(store: StateStore) -> None:
    assert store.get_incident("checkout-20261101t0000z") is None
    assert store.load_incidents().items == ()


def test_atomic_write_leaves_no_temp_files(store: StateStore) -> None:
    incident = an_incident()
    with store.lock():
        store.write_incident(incident)
        store.write_incident(next_state(incident, "mitigate", T0 + timedelta(hours=1), "a", "b"))
    assert os.listdir(store.root / "incidents") == [f"{incident.id}.json"]


def test_a_failed_write_keeps_the_old_file_and_no_temp_files(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident = an_incident()
    with store.lock():
        store.write_incident(incident)

    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    newer = next_state(incident, "mitigate", T0 + timedelta(hours=1), "a", "b")
    with store.lock(), pytest.raises(OSError, match="disk full"):
        store.write_incident(newer)
    assert os.listdir(store.root / "incidents") == [f"{incident.id}.json"]
    assert store.get_incident(incident.id) == incident


def test_writes_outside_the_lock_are_a_bug(store: StateStore) -> None:
    with pytest.raises(RuntimeError, match=r"inside StateStore\.lock"):
        store.write_incident(an_incident())
    with pytest.raises(RuntimeError, match=r"inside StateStore\.lock"):
        store.append_audit("incidents", "open", {}, T0)


def test_every_state_file_needs_a_schema_version(store: StateStore) -> None:
    class Unversioned(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        name: str

    with store.lock(), pytest.raises(TypeError, match="schema_version"):
        store.write_model("control-plane/state/x.json", Unversioned(name="x"))


def test_an_invalid_file_is_one_line_naming_file_and_field(store: StateStore) -> None:
    good, bad = an_incident("checkout"), an_incident("payments")
    with store.lock():
        store.write_incident(good)
        store.write_incident(bad)
    path = store.root / "incidents" / f"{bad.id}.json"
    data = json.loads(path.read_text())
    data["transitions"][1]["severity"] = "catastrophic"
    path.write_text(json.dumps(data, indent=2))

    loaded = store.load_incidents()
    assert loaded.items == (good,)
    [error] = loaded.errors
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"incidents/{bad.id}.json: field transitions.1.severity:")
    assert "fast-burn" in message  # pydantic names the allowed values


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "field (document): Invalid JSON"),
        ('{"schema_version": 2}', "field schema_version: Input should be 1"),
        ("[]", "field (document): Input should be an object"),
    ],
)
def test_broken_files_are_reported_without_stopping_the_others(
    store: StateStore, content: str, expected: str
) -> None:
    good = an_incident()
    with store.lock():
        store.write_incident(good)
    (store.root / "incidents" / "payments-20261101t0000z.json").write_text(content)
    loaded = store.load_incidents()
    assert loaded.items == (good,)
    [error] = loaded.errors
    assert isinstance(error, BadInputError)
    assert str(error).startswith("incidents/payments-20261101t0000z.json: ")
    assert expected in str(error)
    assert "\n" not in str(error)


def test_a_file_named_for_another_id_is_refused(store: StateStore) -> None:
    incident = an_incident()
    with store.lock():
        store.write_incident(incident)
    (store.root / "incidents" / f"{incident.id}.json").rename(
        store.root / "incidents" / "checkout-20991101t0000z.json"
    )
    [error] = store.load_incidents().errors
    assert "field id" in str(error)
    assert "does not match the file name" in str(error)


@pytest.mark.parametrize("bad_id", ["../secrets", ".hidden", "a/b", "UPPER", "a..b"])
def test_unsafe_ids_are_refused(store: StateStore, bad_id: str) -> None:
    with pytest.raises(BadInputError, match="not file-name safe"):
        store.get_incident(bad_id)


def test_an_unsafe_file_name_is_reported_not_read(store: StateStore) -> None:
    (store.root / "incidents").mkdir(parents=True)
    (store.root / "incidents" / "Bad.Name.json").write_text("{}")
    [error] = store.load_incidents().errors
    assert "not file-name safe" in str(error)


def test_a_symlink_escaping_the_state_dir_is_refused(store: StateStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text(an_incident().model_dump_json())
    (store.root / "incidents").mkdir(parents=True)
    link = store.root / "incidents" / f"{an_incident().id}.json"
    link.symlink_to(outside)
    with pytest.raises(BadInputError, match="outside the state directory"):
        store.get_incident(an_incident().id)
    [error] = store.load_incidents().errors
    assert "outside the state directory" in str(error)
    with store.lock(), pytest.raises(BadInputError, match="outside the state directory"):
        store.write_incident(an_incident())
    assert outside.read_text() == an_incident().model_dump_json()


def test_a_symlinked_directory_escaping_the_state_dir_is_refused(
    store: StateStore, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    store.root.mkdir(parents=True, exist_ok=True)
    (store.root / "action-proposals").symlink_to(elsewhere, target_is_directory=True)
    with store.lock(), pytest.raises(BadInputError, match="outside the state directory"):
        store.write_proposal(a_proposal())
    assert list(elsewhere.iterdir()) == []


def test_relative_paths_cannot_climb_out(store: StateStore) -> None:
    with pytest.raises(BadInputError, match="inside the state directory"):
        store.resolve("../x.json")
    with pytest.raises(BadInputError, match="inside the state directory"):
        store.resolve("/etc/passwd")


HOLD_LOCK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from safedeploy.adapters.store import StateStore
    with StateStore(Path(sys.argv[1])).lock():
        print("locked", flush=True)
        sys.stdin.read()
    """
)


def test_a_second_process_is_refused_after_the_bounded_wait(store: StateStore) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(store.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(StateLockedError) as caught, store.lock():
            pass
        waited = time.monotonic() - started
        assert 0.4 <= waited < 5
        assert "locked by another run" in str(caught.value)
        assert "0.5s" in str(caught.value)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    with store.lock():
        store.write_incident(an_incident())


def test_audit_appends_go_through_the_store(store: StateStore) -> None:
    with store.lock():
        entry = store.append_audit("governance", "approve", {"by": "bob"}, T0)
    assert entry.seq == 1
    assert store.audit_log.verify("governance").ok


def test_a_batch_of_audit_lines_is_flushed_once_and_before_the_next_file(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with store.lock():
        store.append_audit("metrics", "evaluated", {"n": 0}, at)  # creates the stream
        flushed: list[int] = []
        real_fsync = os.fsync
        monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(fd), real_fsync(fd)))
        with store.audit_batch():
            for n in range(1, 50):
                store.append_audit("metrics", "evaluated", {"n": n}, at)
            assert flushed == []  # written (a kill loses nothing), not yet flushed
            store.write_incident(an_incident())
            # The stream, then the file and its folder: the line reaches disk first.
            assert len(flushed) == 3
            store.append_audit("budget", "budget", {"n": 1}, at)
        assert len(flushed) == 5  # the new stream's folder, then the stream at the end
    assert [e.data["n"] for e in store.audit_log.entries("metrics")] == list(range(50))
    assert all(report.ok for report in store.audit_log.verify_all())
