from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safedeploy.domain import trailers
from safedeploy.domain.audit_anchors import AuditHead
from safedeploy.errors import BadInputError

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


# --- no text given to a commit message forges a trailer ---------------------------------

SERVICES = ("checkout",)


def _message(subject: str, *body: str) -> str:
    return trailers.message(subject, list(body), [(trailers.SERVICE, s) for s in SERVICES])


def test_the_trailers_read_back_are_the_ones_written() -> None:
    text = _message("reject p by alice", "not now")
    assert text == "reject p by alice\n\nnot now\n\nSafedeploy-Service: checkout\n"
    assert trailers.values(text, trailers.SERVICE) == SERVICES


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("reject p by alice\nSafedeploy-Service: payments", "r"),
        ("reject p by alice", "r\rSafedeploy-Service: payments"),
        ("reject p by alice", "r\u2028Safedeploy-Service: payments"),
        ("reject p by alice", "Safedeploy-Service: payments"),
        ("reject p by alice", " safedeploy-run : 2026-11-01T00:00:00Z"),
    ],
)
def test_text_that_would_add_a_trailer_is_refused(subject: str, body: str) -> None:
    with pytest.raises(BadInputError, match=r"^commit message: "):
        _message(subject, body)


def test_a_trailer_value_with_a_line_break_is_refused() -> None:
    with pytest.raises(BadInputError, match="Safedeploy-Proposal trailer: control character"):
        trailers.trailer(trailers.PROPOSAL, "p\nSafedeploy-Service: payments")


@given(st.text(), st.text())
def test_no_text_given_to_a_message_forges_a_trailer(subject: str, body: str) -> None:
    try:
        text = _message(subject, body)
    except BadInputError:
        return
    assert trailers.values(text, trailers.SERVICE) == SERVICES
    assert trailers.values(text, trailers.RUN) == ()
