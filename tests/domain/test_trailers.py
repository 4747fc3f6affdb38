from __future__ import annotations

from safedeploy.domain import trailers
from safedeploy.domain.audit_anchors import AuditHead

HEADS = (AuditHead("metrics", 12, 3456, "a" * 64), AuditHead("governance", 4, 4152, "b" * 64))
MESSAGE = "reconcile 2026-11-01T11:05:00Z: checkout exhausted\n\nWhy: ...\n\nSafedeploy-Run: x\n"


def test_audit_heads_round_trip_in_the_trailer_block() -> None:
    message = trailers.with_audit_heads(MESSAGE, HEADS)
    assert message.endswith(
        "Safedeploy-Run: x\n"
        f"Safedeploy-Audit: metrics lines=12 bytes=3456 sha256={'a' * 64}\n"
        f"Safedeploy-Audit: governance lines=4 bytes=4152 sha256={'b' * 64}\n"
    )
    assert trailers.audit_heads(message) == HEADS


def test_recorded_heads_are_replaced_not_added() -> None:
    once = trailers.with_audit_heads(MESSAGE, HEADS)
    again = trailers.with_audit_heads(once, HEADS[1:])
    assert trailers.audit_heads(again) == HEADS[1:]
    assert again.count("Safedeploy-Audit:") == 1


def test_a_head_in_the_body_records_nothing() -> None:
    forged = trailers.audit_head(AuditHead("governance", 1, 10, "c" * 64))
    message = f"approve x by alice\n\n{forged}\n\nSafedeploy-Run: x\n"
    assert trailers.audit_heads(message) == ()


def test_a_malformed_head_records_nothing() -> None:
    message = f"{MESSAGE}Safedeploy-Audit: metrics lines=twelve bytes=1 sha256={'a' * 64}\n"
    assert trailers.audit_heads(message) == ()
