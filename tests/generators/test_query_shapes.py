from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safedeploy.domain.selectors import Matcher, Selector
from safedeploy.generators.query_shapes import Counter, Difference, Ratio, parse_shape
from safedeploy.generators.sli_mapping import (
    counter_of,
    from_bad_total,
    from_error_ratio,
    from_good_total,
)

names = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True)
values = st.text(st.characters(blacklist_characters='"\\{}\n\r`'), max_size=12)
matchers = st.builds(Matcher, label=names, op=st.sampled_from(["=", "!=", "=~"]), value=values)
selectors = st.builds(
    Selector, metric=names, matchers=st.lists(matchers, max_size=3).map(tuple)
).filter(lambda s: all(m.op != "=~" or _regex(m.value) for m in s.matchers))


def _regex(text: str) -> bool:
    import re

    try:
        re.compile(text)
    except re.error:
        return False
    return True


@given(selectors, st.sampled_from(["rate", "increase"]), st.sampled_from(["{{.window}}", "5m"]))
def test_a_counter_comes_back_as_the_selector_it_was_written_from(
    selector: Selector, function: str, window: str
) -> None:
    query = f"sum(\n  {function}({selector.render()}[{window}])\n)"
    assert parse_shape(query) == Counter(selector, windowed=True)
    assert parse_shape(f"({selector.render()})") == Counter(selector, windowed=False)


def test_a_difference_and_a_ratio() -> None:
    shape = parse_shape(
        '(sum(rate(x_count[{{.window}}])) - sum(rate(x_bucket{le="0.4"}[{{.window}}])))'
        " / sum(rate(x_count[{{.window}}]))"
    )
    assert isinstance(shape, Ratio)
    assert isinstance(shape.numerator, Difference)
    assert from_error_ratio(shape) == {"histogram": "x{}", "threshold": 0.4}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("sum by (code) (rate(x[5m]))", "sum() by or without labels"),
        ("sum(rate(x[5m])) by (code)", "sum() by or without labels"),
        ("sum_over_time(x[5m])", "sum_over_time()"),
        ("rate(x)", "rate() without a [window] range"),
        ("1 - sum(rate(x[5m]))", "'1 - sum(rate(x[5m]))' cannot be mapped"),
        ("sum(rate(x[5m])) OR on() vector(0)", "'OR on() vector(0)' after the expression"),
        ("a / b / c", "'/ c' after the expression"),
        ("(a / b) - c", "'-' between anything but two counters"),
        ("", "an empty query"),
        ('x{code="5"', "is not closed"),
    ],
)
def test_what_is_not_a_counter_shape_says_what_was_found(query: str, found: str) -> None:
    with pytest.raises(ValueError, match=r"cannot be mapped|not closed") as raised:
        parse_shape(query)
    assert found in str(raised.value)
    if "not closed" not in found:
        assert "supported: a counter selector" in str(raised.value)


def test_bare_selectors_are_counters_only_when_said_or_named_so() -> None:
    gauge = parse_shape("queue_depth")
    with pytest.raises(ValueError, match="not known to be a counter"):
        counter_of(gauge, counter=None)
    with pytest.raises(ValueError, match="not known to be a counter"):
        counter_of(parse_shape("requests_total"), counter=False)
    assert counter_of(gauge, counter=True) == gauge
    assert counter_of(parse_shape("requests_total"), counter=None).selector.metric == (
        "requests_total"
    )


def test_good_over_total_needs_bad_to_be_a_selector_too() -> None:
    total = Counter(Selector(metric="r_total"), windowed=True)
    good = parse_shape('r_total{code!~"5.."}')
    assert isinstance(good, Counter)
    assert from_good_total(good, total) == {"errors": 'r_total{code=~"5.."}', "total": "r_total{}"}
    other = parse_shape('ok_total{code="200"}')
    assert isinstance(other, Counter)
    with pytest.raises(ValueError, match="good must be the total's selector"):
        from_good_total(other, total)
    with pytest.raises(ValueError, match="the count must be the total's selector"):
        from_bad_total(Difference(total, total), Counter(Selector(metric="x_count"), True))
