"""A selector that matched nothing: a typo (unknown) or errors that never happened (zero)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from safedeploy.domain.catalog import SLO
from safedeploy.domain.empty_selectors import explained, lookbacks, required_labels, suspects
from safedeploy.domain.measurements import IncreaseQuery, LabelNames, Measurement
from safedeploy.domain.selectors import parse_selector
from safedeploy.domain.sli_queries import queries_for
from safedeploy.domain.slo import evaluate

AT = datetime(2026, 11, 1, tzinfo=UTC)
LABELS = LabelNames(names=frozenset({"__name__", "service", "code"}))


@pytest.mark.parametrize(
    ("text", "needed"),
    [
        ('m{service="a", code=~"5.."}', ("service", "code")),
        ('m{code=""}', ()),
        ('m{code=~".*"}', ()),
        ('m{code=~"5..|"}', ()),
        ('m{code!="200"}', ()),
        ('m{code!=""}', ("code",)),
        ('m{code!~".*"}', ("code",)),
        ('m{code!~"5.."}', ()),
        ('m{code=~"5..", code!="503"}', ("code",)),
    ],
)
def test_the_labels_a_series_must_carry_to_match(text: str, needed: tuple[str, ...]) -> None:
    assert required_labels(parse_selector(text)) == needed


def query(text: str, window: int) -> IncreaseQuery:
    return IncreaseQuery(selector=parse_selector(text), window=window)


ERRORS = 'http_request_total{service="checkout", code=~"5.."}'


def test_a_selector_is_suspect_only_when_it_matched_nothing_in_every_window() -> None:
    results = {
        query(ERRORS, 300): Measurement.empty(),
        query(ERRORS, 2_592_000): Measurement.empty(),
        query('m{service="a"}', 300): Measurement.empty(),
        query('m{service="a"}', 3_600): Measurement.of(3.0),
        query('n{service="a"}', 3_600): Measurement.failed("HTTP 503"),
    }
    suspected = suspects(results)
    assert suspected == {parse_selector(ERRORS): 2_592_000}
    assert lookbacks(suspected) == {"http_request_total": 2_592_000}


def test_a_metric_without_series_is_a_typo_naming_the_selector() -> None:
    results = {query(ERRORS, w): Measurement.empty() for w in (300, 2_592_000)}
    answers = explained(results, suspects(results), {"http_request_total": LabelNames()}, AT)
    assert {m.status for m in answers.values()} == {"failed"}
    assert set(m.reason for m in answers.values()) == {
        'http_request_total{service="checkout", code=~"5.."}: in the 30d before '
        "2026-11-01T00:00:00Z, metric http_request_total has no series: typo?"
    }


def test_a_label_the_metric_never_carries_is_a_typo() -> None:
    results = {
        query('http_requests_total{service="checkout", status=~"5.."}', 300): Measurement.empty()
    }
    answers = explained(results, suspects(results), {"http_requests_total": LABELS}, AT)
    [answer] = answers.values()
    assert answer.status == "failed"
    assert (answer.reason or "").endswith(
        "no series of http_requests_total has a label status: typo?"
    )


def test_errors_that_never_happened_still_read_as_none() -> None:
    empty = Measurement.empty("no series")
    results = {query('http_requests_total{service="checkout", code="599"}', 300): empty}
    assert explained(results, suspects(results), {"http_requests_total": LABELS}, AT) == results


def test_labels_that_cannot_be_read_leave_the_selector_unknown_saying_both() -> None:
    results = {query(ERRORS, 300): Measurement.empty("returned no series")}
    labels = {"http_request_total": LabelNames(failure="HTTP 503")}
    [answer] = explained(results, suspects(results), labels, AT).values()
    assert answer.status == "failed"
    assert answer.reason == (
        "returned no series; whether http_request_total has series could not be checked: HTTP 503"
    )


def test_a_typo_in_the_errors_makes_the_slo_unknown_not_one_without_errors() -> None:
    slo = SLO.model_validate(
        {
            "name": "availability",
            "objective": 0.999,
            "sli": {"errors": ERRORS, "total": 'http_requests_total{service="checkout"}'},
        }
    )
    plan = queries_for(slo)
    results = {}
    for per_window in plan.values():
        results[per_window.total] = Measurement.of(10_000.0)
        assert per_window.errors is not None
        results[per_window.errors] = Measurement.empty()
    clean = evaluate("checkout", slo, {w: q.counts(results) for w, q in plan.items()}, AT)
    assert clean.severity == "normal"  # what a typo used to read as
    answers = explained(results, suspects(results), {"http_request_total": LabelNames()}, AT)
    status = evaluate("checkout", slo, {w: q.counts(answers) for w, q in plan.items()}, AT)
    assert status.severity == "unknown" and status.no_data
    assert "metric http_request_total has no series: typo?" in status.reason
    assert status.budget.remaining is None
