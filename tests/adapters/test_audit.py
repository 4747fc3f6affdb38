from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safedeploy.adapters import audit as audit_module
from safedeploy.adapters.audit import GENESIS, AuditLog, canonical, scan, seal
from safedeploy.domain.audit_anchors import Anchor, AuditHead, contradiction, lines_named
from safedeploy.errors import BadInputError
from testing.forgery import Records, reseal, reseal_file

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit")


def fill(log: AuditLog, count: int = 10) -> list[bytes]:
    for n in range(count):
        log.append("incidents", "update", {"n": n, "ratio": 0.1 * n}, T0 + timedelta(minutes=n))
    return log.path("incidents").read_bytes().splitlines(keepends=True)


def rewrite(log: AuditLog, lines: list[bytes]) -> None:
    log.path("incidents").write_bytes(b"".join(lines))


def test_lines_chain_from_genesis(log: AuditLog) -> None:
    lines = fill(log, 3)
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev"] == GENESIS
    assert records[1]["prev"] == records[0]["hash"]
    assert set(records[0]) == {"seq", "at", "stream", "event", "data", "prev", "hash"}
    without_hash = {k: v for k, v in records[2].items() if k != "hash"}
    assert hashlib.sha256(canonical(without_hash)).hexdigest() == records[2]["hash"]
    assert records[0]["at"] == "2026-11-01T00:00:00Z"


def test_an_intact_stream_verifies(log: AuditLog) -> None:
    fill(log)
    report = log.verify("incidents")
    assert report.ok
    assert report.lines == 10


def test_a_missing_stream_is_empty_and_intact(log: AuditLog) -> None:
    assert log.verify("budget").ok
    assert list(log.entries("budget")) == []


def test_verify_names_an_edited_line(log: AuditLog) -> None:
    lines = fill(log)
    lines[4] = lines[4].replace(b'"n":4', b'"n":5')
    rewrite(log, lines)
    report = log.verify("incidents")
    assert (report.ok, report.line) == (False, 5)
    assert report.problem is not None
    assert "edited" in report.problem


def test_verify_names_a_line_edited_with_a_recomputed_hash(log: AuditLog) -> None:
    lines = fill(log)
    record = json.loads(lines[4])
    record["data"]["n"] = 99
    del record["hash"]
    forged, _ = seal(
        seq=record["seq"],
        at=T0 + timedelta(minutes=4),
        stream="incidents",
        event=record["event"],
        data=record["data"],
        prev=record["prev"],
    )
    lines[4] = forged
    rewrite(log, lines)
    report = log.verify("incidents")
    assert report.line == 5
    assert report.problem is not None
    assert "changed after line 6" in report.problem


def test_verify_names_a_removed_line(log: AuditLog) -> None:
    lines = fill(log)
    del lines[4]
    rewrite(log, lines)
    report = log.verify("incidents")
    assert report.line == 5
    assert report.problem is not None
    assert "removed" in report.problem


def test_verify_names_a_removed_first_line(log: AuditLog) -> None:
    lines = fill(log)
    rewrite(log, lines[1:])
    report = log.verify("incidents")
    assert report.line == 1
    assert report.problem is not None
    assert "removed" in report.problem


@pytest.mark.parametrize(("first", "second"), [(4, 5), (2, 7), (0, 9)])
def test_verify_names_reordered_lines(log: AuditLog, first: int, second: int) -> None:
    lines = fill(log)
    lines[first], lines[second] = lines[second], lines[first]
    rewrite(log, lines)
    report = log.verify("incidents")
    assert report.line == first + 1
    assert report.problem is not None
    assert "reordered" in report.problem


def test_verify_names_a_torn_last_line(log: AuditLog) -> None:
    lines = fill(log, 3)
    lines[2] = lines[2][:20]
    rewrite(log, lines)
    report = log.verify("incidents")
    assert report.line == 3
    assert report.problem is not None
    assert "incomplete" in report.problem
    with pytest.raises(BadInputError, match=r"audit/incidents\.log: last line is incomplete"):
        log.append("incidents", "update", {}, T0)


def test_a_line_moved_from_another_stream_is_caught(log: AuditLog) -> None:
    fill(log, 2)
    log.append("budget", "consumed", {"x": 1}, T0)
    budget = log.path("budget").read_bytes()
    log.path("incidents").write_bytes(budget)
    report = log.verify("incidents")
    assert report.line == 1
    assert report.problem is not None
    assert "belongs to stream 'budget'" in report.problem


def test_entries_replay_in_order(log: AuditLog) -> None:
    fill(log, 5)
    entries = list(log.entries("incidents"))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[3].data == {"n": 3, "ratio": 0.30000000000000004}
    assert entries[3].at == T0 + timedelta(minutes=3)


def test_unknown_streams_are_refused(log: AuditLog) -> None:
    with pytest.raises(BadInputError, match="unknown audit stream"):
        log.append("secrets", "x", {}, T0)  # type: ignore[arg-type]


def test_naive_times_are_refused(log: AuditLog) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        log.append("metrics", "x", {}, datetime(2026, 11, 1))


class CountingFile:
    """Wraps a real file and counts every byte handed back by read()."""

    def __init__(self, inner: IO[bytes], counter: list[int]) -> None:
        self._inner = inner
        self._counter = counter

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._counter.append(len(data))
        return data

    def __iter__(self) -> Any:
        raise AssertionError("append must not iterate over the history")

    def readline(self, size: int = -1) -> bytes:
        raise AssertionError("append must not read line by line")

    def __enter__(self) -> CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def counting_open(counter: list[int]) -> Callable[..., CountingFile]:
    def opener(*args: Any, **kwargs: Any) -> CountingFile:
        return CountingFile(open(*args, **kwargs), counter)

    return opener


def million_line_stream(log: AuditLog, last_data: dict[str, str]) -> dict[str, Any]:
    """999,999 filler lines and one genuine last line: append only ever looks at the last."""
    last, digest = seal(
        seq=1_000_000, at=T0, stream="metrics", event="sample", data=last_data, prev="f" * 64
    )
    log.directory.mkdir(parents=True)
    with open(log.path("metrics"), "wb") as f:
        f.write(b"{}\n" * 999_999)
        f.write(last)
    return {"hash": digest, "size": log.path("metrics").stat().st_size}


def test_append_to_a_million_line_stream_reads_only_the_tail(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = million_line_stream(log, {"value": "ok"})
    reads: list[int] = []
    monkeypatch.setattr(audit_module, "open", counting_open(reads), raising=False)

    entry = log.append("metrics", "sample", {"value": "next"}, T0 + timedelta(seconds=30))

    assert (entry.seq, entry.prev) == (1_000_001, stream["hash"])
    assert stream["size"] > 3_000_000
    assert 0 < sum(reads) <= audit_module.TAIL_CHUNK


def test_a_last_line_longer_than_one_chunk_is_read_whole(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = million_line_stream(log, {"blob": "x" * 3 * audit_module.TAIL_CHUNK})
    reads: list[int] = []
    monkeypatch.setattr(audit_module, "open", counting_open(reads), raising=False)

    entry = log.append("metrics", "sample", {}, T0)

    assert (entry.seq, entry.prev) == (1_000_001, stream["hash"])
    assert sum(reads) <= 8 * audit_module.TAIL_CHUNK


# --- the log held to what state commits recorded (domain/audit_anchors.py) ---------------


def sealed(count: int) -> bytes:
    out, prev = b"", GENESIS
    for n in range(1, count + 1):
        line, prev = seal(
            seq=n, at=T0, stream="governance", event="approve", data={"n": n}, prev=prev
        )
        out += line
    return out


def head_of_bytes(stream: str, raw: bytes) -> AuditHead:
    """What a commit would record of a stream holding `raw`."""
    last = json.loads(raw.splitlines()[-1])
    return AuditHead(stream, last["seq"], len(raw), last["hash"])


def recorded(raw: bytes, commit: str = "c" * 40) -> list[Anchor]:
    return [Anchor(commit, (head_of_bytes("governance", raw),))]


def held_to(raw: bytes, anchors: list[Anchor]) -> tuple[str | None, str | None]:
    """(the chain's problem, the contradicted commit) of `raw` against `anchors`."""
    found = scan("governance", raw.splitlines(keepends=True), lines_named(anchors, "governance"))
    against = contradiction(found.seen, anchors)
    return found.problem, against.commit if against else None


def resealed_edit(n: int, data: dict[str, object]) -> Callable[[Records], Records]:
    def edit(records: Records) -> Records:
        records[n]["data"] = data
        return records

    return edit


ATTACKS = st.one_of(
    st.tuples(st.just("cut"), st.integers(1, 12)),
    st.tuples(st.just("edit"), st.integers(0, 11)),
    st.tuples(st.just("drop"), st.integers(0, 11)),
    st.tuples(st.just("reorder"), st.randoms(use_true_random=False)),
)


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(2, 12),
    anchored_at=st.integers(1, 12),
    attack=ATTACKS,
    reseal_it=st.booleans(),
)
def test_any_cut_edit_drop_or_reorder_of_a_recorded_stream_is_caught(
    count: int, anchored_at: int, attack: tuple[str, Any], reseal_it: bool
) -> None:
    """Whatever is done to the lines a commit recorded, sealed anew or left as it is, the
    chain breaks or the commit is contradicted; lines appended after it change nothing."""
    anchored_at = min(anchored_at, count)
    raw = sealed(count)
    lines = raw.splitlines(keepends=True)
    anchors = recorded(b"".join(lines[:anchored_at]))
    assert held_to(raw, anchors) == (None, None)
    kind, arg = attack
    if kind == "cut":
        forged = b"".join(lines[: max(0, anchored_at - arg)])
    elif kind == "edit":
        index = arg % anchored_at
        forged = reseal(raw, resealed_edit(index, {"n": "forged"}))
        if not reseal_it:
            edited = json.loads(lines[index])
            edited["data"] = {"n": "forged"}
            forged = b"".join([*lines[:index], canonical(edited) + b"\n", *lines[index + 1 :]])
    elif kind == "drop":
        index = arg % anchored_at
        kept = [*lines[:index], *lines[index + 1 :]]
        forged = reseal(b"".join(kept), lambda r: r) if reseal_it else b"".join(kept)
    else:
        order = list(range(count))
        while order == sorted(order):
            arg.shuffle(order)
        if all(o == i for i, o in enumerate(order[:anchored_at])):
            order[0], order[anchored_at - 1] = order[anchored_at - 1], order[0]
            if anchored_at == 1:
                order[0], order[1] = order[1], order[0]
        shuffled = b"".join(lines[i] for i in order)
        forged = reseal(shuffled, lambda r: r) if reseal_it else shuffled
    problem, commit = held_to(forged, anchors)
    assert problem is not None or commit == "c" * 40


@given(count=st.integers(1, 12), more=st.integers(0, 5))
def test_a_log_that_only_grew_extends_what_was_recorded(count: int, more: int) -> None:
    raw = sealed(count + more)
    anchors = recorded(b"".join(raw.splitlines(keepends=True)[:count]))
    assert held_to(raw, anchors) == (None, None)


def test_verify_names_the_commit_a_resealed_stream_contradicts(log: AuditLog) -> None:
    fill(log, 5)
    anchors = recorded_from(log)
    reseal_file(log.path("incidents"), resealed_edit(1, {"n": "forged"}))
    assert log.verify("incidents").ok  # the chain alone is fooled
    report = log.verify("incidents", anchors)
    assert (report.line, report.commit) == (5, "d" * 40)
    assert "sealed anew" in str(report.problem)


def test_head_at_reads_the_line_ending_at_a_recorded_size(log: AuditLog) -> None:
    lines = fill(log, 4)
    size = len(b"".join(lines[:2]))
    head = log.head_at("incidents", size)
    assert head is not None
    assert (head.lines, head.size, head.hash) == (2, size, json.loads(lines[1])["hash"])
    assert log.head_at("incidents", size + 10_000) is None
    assert log.head("incidents") == head_of_bytes("incidents", b"".join(lines))


def recorded_from(log: AuditLog) -> list[Anchor]:
    head = log.head("incidents")
    assert head is not None
    return [Anchor("d" * 40, (head,))]


KEY = b"k" * 32


def test_a_keyed_stream_verifies_with_its_key_only(tmp_path: Path) -> None:
    keyed = AuditLog(tmp_path / "audit", KEY)
    fill(keyed, 3)
    assert keyed.verify("incidents").ok
    assert AuditLog(tmp_path / "audit").verify("incidents").ok  # no key: nothing to check
    other = AuditLog(tmp_path / "audit", b"o" * 32).verify("incidents")
    assert (other.line, other.problem) == (
        1,
        "mac does not match: not sealed with this SAFEDEPLOY_AUDIT_KEY",
    )


def test_lines_sealed_anew_without_the_key_have_no_mac(tmp_path: Path) -> None:
    keyed = AuditLog(tmp_path / "audit", KEY)
    fill(keyed, 4)
    reseal_file(keyed.path("incidents"), resealed_edit(2, {"n": "forged"}))
    report = keyed.verify("incidents")
    assert report.line == 1 and str(report.problem).startswith("no mac:")
    assert keyed.head_problem("incidents") is not None
    with pytest.raises(BadInputError, match="last line: no mac"):
        keyed.append("incidents", "update", {}, T0)


def test_a_keyed_line_keeps_its_hash(tmp_path: Path) -> None:
    """The mac rides beside the hash, so heads recorded in commits do not depend on the key."""
    plain, _ = seal(seq=1, at=T0, stream="budget", event="e", data={}, prev=GENESIS)
    keyed, _ = seal(seq=1, at=T0, stream="budget", event="e", data={}, prev=GENESIS, key=KEY)
    assert json.loads(plain)["hash"] == json.loads(keyed)["hash"]
    assert set(json.loads(keyed)) - set(json.loads(plain)) == {"mac"}


def test_a_short_key_is_refused_without_being_shown() -> None:
    with pytest.raises(BadInputError) as caught:
        audit_module.audit_key({"SAFEDEPLOY_AUDIT_KEY": "tooshort"})
    assert "tooshort" not in str(caught.value)
    assert audit_module.audit_key({}) is None
