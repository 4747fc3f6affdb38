"""The OpenMetrics reader: round trips, PromQL matching semantics, one-line errors."""

from __future__ import annotations

import math
import tempfile
from array import array
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safedeploy.adapters.openmetrics import (
    Matcher,
    Series,
    SeriesStore,
    load_openmetrics,
    parse_selector,
)
from safedeploy.errors import BadInputError
from testing.history import DEFAULT_SCENARIOS, REQUESTS, write_history


def parse(text: str) -> SeriesStore:
    # Written as bytes and read back as a file is: lines split on "\n" only, so "\r"
    # inside a label value survives.
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "t.om"
        path.write_bytes(text.encode())
        return load_openmetrics(path)


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(series: list[Series]) -> str:
    lines = ["# TYPE m counter"]
    for one in series:
        labels = ",".join(f'{k}="{escape(v)}"' for k, v in one.labels)
        lines += [
            f"{one.name}{{{labels}}} {v!r} {t!r}"
            for t, v in zip(one.times, one.values, strict=True)
        ]
    return "\n".join([*lines, "# EOF", ""])


label_values = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
finite = st.floats(allow_nan=False, allow_infinity=True, width=64)


@given(
    st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), label_values),
    st.lists(finite, min_size=1, max_size=5),
)
def test_round_trip_keeps_labels_values_and_times(
    labels: dict[str, str], values: list[float]
) -> None:
    original = Series(
        "m_total",
        tuple(sorted(labels.items())),
        array("d", [1_700_000_000.0 + 60 * i for i in range(len(values))]),
        array("d", values),
    )
    (parsed,) = list(parse(render([original])))
    assert parsed == original


def test_labels_are_keyed_sorted_and_lines_merge_into_one_series() -> None:
    store = parse('x_total{b="2",a="1"} 1 100\nx_total{ a="1" , b="2", } 2 160\n')
    (one,) = list(store)
    assert one.labels == (("a", "1"), ("b", "2"))
    assert list(one.times) == [100.0, 160.0]
    assert list(one.values) == [1.0, 2.0]


def test_out_of_order_samples_are_sorted() -> None:
    (one,) = list(parse("up 3 300\nup 1 100\nup 2 200\n"))
    assert list(one.times) == [100.0, 200.0, 300.0]
    assert list(one.values) == [1.0, 2.0, 3.0]


def test_exemplars_special_values_and_missing_eof_are_accepted() -> None:
    store = parse(
        'h_bucket{le="+Inf"} 1 100 # {trace_id="abc"} 0.2 99\nh_bucket{le="+Inf"} NaN 160\n'
        "g -Inf 100\ng +Inf 160\n"
    )
    (bucket,) = store.select("h_bucket")
    assert bucket.values[0] == 1.0
    assert math.isnan(bucket.values[1])
    assert list(store.select("g")[0].values) == [-math.inf, math.inf]


def test_generated_history_loads_whole(tmp_path: Path) -> None:
    history = write_history(tmp_path / "h.om", duration=2 * 3600)
    store = load_openmetrics(history.path)
    assert len(store) == history.series
    assert sum(len(one.times) for one in store) == history.samples
    for one in store:
        assert all(a < b for a, b in pairwise(one.times))


def test_selection_follows_promql_matchers(tmp_path: Path) -> None:
    history = write_history(tmp_path / "h.om", DEFAULT_SCENARIOS, duration=3600)
    store = load_openmetrics(history.path)

    def codes(*matchers: Matcher) -> set[tuple[str, str]]:
        return {(s.label("service"), s.label("code")) for s in store.select(REQUESTS, matchers)}

    checkout = Matcher.of("service", "=", "checkout")
    assert codes(checkout, Matcher.of("code", "=~", "5..")) == {
        ("checkout", "500"),
        ("checkout", "503"),
    }
    assert codes(checkout, Matcher.of("code", "!~", "5..")) == {
        ("checkout", "200"),
        ("checkout", "404"),
    }
    # Regexes are anchored at both ends: "5" matches no code at all.
    assert codes(Matcher.of("code", "=~", "5")) == set()
    assert codes(Matcher.of("service", "!=", "checkout"), Matcher.of("code", "=", "503")) == set()
    # An absent label matches the empty string, as in Prometheus.
    assert len(codes(Matcher.of("missing", "=", ""))) == len(store.select(REQUESTS))
    assert codes(Matcher.of("missing", "!=", "")) == set()
    assert store.select("no_such_metric") == []


def test_selector_text_parses_into_matchers() -> None:
    name, matchers = parse_selector('http_requests_total{service="checkout", code=~"5.."}')
    assert name == "http_requests_total"
    assert [(m.label, m.op, m.value) for m in matchers] == [
        ("service", "=", "checkout"),
        ("code", "=~", "5.."),
    ]
    assert parse_selector("up") == ("up", [])


@pytest.mark.parametrize("selector", ['x{a="1"', 'x{a=~"("}', '{a="1"}', 'x{a="1"} junk', "x{a=1}"])
def test_bad_selectors_are_bad_input(selector: str) -> None:
    with pytest.raises(BadInputError):
        parse_selector(selector)


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (b"# TYPE x counter\nx_total 1 100\n!!! 2 160\n", 3, "expected a metric name"),
        (b"x_total 1 100\nx_total one 160\n", 2, "bad value or timestamp"),
        (b"x_total 1 100\nx_total 2 1e\n", 2, "bad value or timestamp"),
        (b'x_total{a="1"} 1\n', 1, "missing timestamp"),
        (b'x_total{a="1" 1 100\n', 1, "bad label set"),
        (b'x_total{a="1",a="2"} 1 100\n', 1, "duplicate label"),
        (b"x_total 1 100\nx_total 2 100\n", 1, "two samples at timestamp"),
        (b"up 1 100\nup 2 160\n\xff\xfe 3 220\n", 3, "not UTF-8"),
        (b"up 1 100\n# EOF\nup 2 160\n", 3, "content after # EOF"),
    ],
)
def test_bad_input_names_file_and_line_on_one_line(
    tmp_path: Path, content: bytes, line: int, fragment: str
) -> None:
    path = tmp_path / "bad.om"
    path.write_bytes(content)
    with pytest.raises(BadInputError) as caught:
        load_openmetrics(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: ")
    assert fragment in message
    assert "\n" not in message


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read"):
        load_openmetrics(tmp_path / "absent.om")
