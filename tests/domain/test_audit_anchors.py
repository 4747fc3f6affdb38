from __future__ import annotations

from safedeploy.domain.audit_anchors import (
    Anchor,
    AuditHead,
    LineEnd,
    StreamSeen,
    contradiction,
    lines_named,
)

H = [f"{n:064x}" for n in range(10)]


def seen(lines: int, intact: int | None = None, **at: LineEnd) -> StreamSeen:
    ends = {int(k.removeprefix("l")): v for k, v in at.items()}
    return StreamSeen("governance", lines, lines if intact is None else intact, ends)


def anchor(commit: str, lines: int, size: int, digest: str) -> Anchor:
    return Anchor(
        commit, (AuditHead("metrics", 9, 900, H[9]), AuditHead("governance", lines, size, digest))
    )


def test_a_log_that_extends_every_record_contradicts_none() -> None:
    anchors = [anchor("a" * 40, 2, 200, H[2]), anchor("b" * 40, 4, 400, H[4])]
    now = seen(6, l2=LineEnd(H[2], 200), l4=LineEnd(H[4], 400))
    assert contradiction(now, anchors) is None


def test_the_oldest_contradicted_commit_is_named() -> None:
    anchors = [anchor("a" * 40, 2, 200, H[2]), anchor("b" * 40, 4, 400, H[4])]
    rewritten = seen(4, l2=LineEnd(H[7], 200), l4=LineEnd(H[8], 400))
    found = contradiction(rewritten, anchors)
    assert found is not None
    assert (found.commit, found.line) == ("a" * 40, 2)
    assert "sealed anew" in found.problem and "aaaaaaaaaaaa" in found.problem


def test_a_cut_log_names_how_many_lines_went() -> None:
    found = contradiction(seen(3, l4=LineEnd(H[4], 400)), [anchor("b" * 40, 4, 400, H[4])])
    assert found is not None
    assert found.line == 4
    assert "recorded 4 lines, the log has 3: 1 line(s) removed from its end" in found.problem


def test_a_line_of_the_same_hash_ending_elsewhere_is_not_the_recorded_one() -> None:
    found = contradiction(seen(4, l4=LineEnd(H[4], 401)), [anchor("b" * 40, 4, 400, H[4])])
    assert found is not None and found.line == 4


def test_a_chain_broken_inside_the_record_names_the_commit() -> None:
    found = contradiction(
        seen(6, intact=2, l4=LineEnd(H[4], 400)), [anchor("b" * 40, 4, 400, H[4])]
    )
    assert found is not None
    assert (found.commit, found.line) == ("b" * 40, 3)
    assert "recorded its first 4 lines intact" in found.problem


def test_a_break_after_every_record_is_no_contradiction() -> None:
    now = seen(6, intact=4, l4=LineEnd(H[4], 400))
    assert contradiction(now, [anchor("b" * 40, 4, 400, H[4])]) is None


def test_other_streams_heads_are_not_this_streams() -> None:
    anchors = [anchor("a" * 40, 2, 200, H[2]), anchor("b" * 40, 4, 400, H[4])]
    assert lines_named(anchors, "governance") == {2, 4}
    assert lines_named(anchors, "metrics") == {9}
    assert lines_named(anchors, "budget") == frozenset()
