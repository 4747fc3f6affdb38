"""The RE2 check agrees with a real Prometheus on every row, accepted and refused.

Each regex goes to Prometheus as a label matcher (`count(up{job=~"<re>"})`, escaped the
way safedeploy renders selectors); Prometheus answers 400 exactly when it cannot compile it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safedeploy.domain.re2_syntax import re2_error
from safedeploy.domain.selectors import Matcher, parse_selector
from testing.prometheus import RunningPrometheus

# What service files write, what RE2 adds over Python, and the corners of Go's grammar.
ACCEPTED = (
    "",
    "5..",
    "a*?",
    "a+?",
    "^*",
    "$+",
    "(?)",
    "(?i)",
    "(?i)abc",
    "(?i:abc)",
    "(?-i)",
    "(?i-s:a)",
    "(?P<n>x)",
    r"\12",
    r"\0",
    r"\_",
    r"\-",
    r"\pL",
    r"\p{Greek}",
    r"\P{^Greek}",
    r"\p{Yezidi}",
    r"\pZ",
    "[[:alpha:]]",
    "[[:^alpha:]]",
    "[[:]]",
    "[]a]",
    "[^]a]",
    "[a-]",
    "[-a]",
    "[a-z]",
    r"[\d-z]",
    r"[\x41-\x5a]",
    "a]",
    "a}",
    r"\z",
    r"\A",
    r"\b",
    r"\B",
    r"\Q.*\E",
    r"a\Q\E*",
    "a{1000}",
    "a{0,1000}",
    "a{1000,}",
    "(a{500}){2}",
    "(a{0}){1000}",
    "a{,2}",
    "a{01}",
    "a{",
    "x{2}|y{1000}",
    "a(?i)*",
    r"\x{10FFFF}",
    r"\x41",
    r"\t\n\r\f\v\a",
    "()",
    "()*",
    "a|b|",
    "|",
    ".*-canary",
    "(GET|POST)",
    "[^5].*",
    r"5\d\d",
)
# Lookaround, atomic groups, backreferences, possessive and nested quantifiers, unknown
# classes and escapes, counts over 1000, unbalanced groups.
REFUSED = (
    "5(?=0).",
    "5(?!0).",
    "(?<=a)b",
    "(?<!a)b",
    "(?>ab)",
    "a*+",
    "a++",
    "a?+",
    "a{2}+",
    "a**",
    "a*??",
    "(?--i)",
    "(?x)a",
    "(?P<>x)",
    "(?P<n-1>x)",
    "(?P<n",
    "(?P=n)",
    "(?<n>x)",
    "(?#c)",
    "(?(1)a|b)",
    r"\1",
    r"\8",
    r"\é",
    r"\p{Foo}",
    r"\p{Vithkuqi}",
    r"\p{Cn}",
    r"\p",
    r"\p{",
    "[[:foo:]]",
    "[[::]]",
    "[z-a]",
    r"[a-\d]",
    r"[\b]",
    r"[\x5a-\x41]",
    "[",
    "[a",
    r"\C",
    r"\Z",
    r"\Q.*",
    r"\Q\E*",
    "a{1001}",
    "(a{500}){3}",
    "a{2}{3}",
    "a{2}*",
    "{2}",
    "a{2,1}",
    "a{123456789}",
    "(?i)*",
    r"\x{110000}",
    r"\x{}",
    r"\x4",
    r"\xg1",
    r"\e",
    "a|*",
    "(*)",
    "a)(b",
    "(a",
    "((a)",
    "\\",
    "ab\\",
)
# The pieces random regexes are made of: every kind of token the grammar has.
PIECES = (
    *"ab()[]{}|*+?^$.-:,<>=!#PpQEdxz01789",
    "\\",
    "(?",
    "(?P<",
    "(?i)",
    "[:",
    ":]",
    "[[:alpha:]]",
    "{2}",
    "{1,3}",
    "{1001}",
    "\\p{",
    "Greek}",
    "\\x{",
    "\\d",
    "\\1",
    "\\Q",
    "\\E",
    "(?=",
    "*+",
)


Verdict = Callable[[str], bool]


@pytest.fixture(scope="module")
def prometheus_accepts(prometheus: RunningPrometheus) -> Iterator[Verdict]:
    """Whether the real Prometheus compiles a regex; one client for every query, since
    building one per request costs more than the query."""

    def accepts(regex: str) -> bool:
        matcher = Matcher(label="job", op="=~", value=regex).render()
        answer = client.get(
            f"{prometheus.url}/api/v1/query", params={"query": f"count(up{{{matcher}}})"}
        )
        assert answer.status_code in (200, 400), answer.text
        return answer.status_code == 200

    with httpx.Client(timeout=10) as client:
        yield accepts


def test_the_table_is_what_prometheus_says(prometheus_accepts: Verdict) -> None:
    """Every row once against the real thing, so the table itself cannot drift."""
    assert [r for r in ACCEPTED if not prometheus_accepts(r)] == []
    assert [r for r in REFUSED if prometheus_accepts(r)] == []


@pytest.mark.parametrize("regex", ACCEPTED)
def test_accepted_by_prometheus_and_by_the_check(regex: str) -> None:
    assert re2_error(regex) is None


@pytest.mark.parametrize("regex", REFUSED)
def test_refused_by_prometheus_and_by_the_check(regex: str) -> None:
    assert re2_error(regex)


RANDOM_REGEXES = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join)


@settings(max_examples=200, deadline=None)
@given(RANDOM_REGEXES)
def test_random_regexes_get_the_verdict_prometheus_gives(
    prometheus_accepts: Verdict, regex: str
) -> None:
    assert (re2_error(regex) is None) == prometheus_accepts(regex), regex


@pytest.mark.soak
@settings(max_examples=3000, deadline=None)
@given(RANDOM_REGEXES)
def test_many_random_regexes_get_the_verdict_prometheus_gives(
    prometheus_accepts: Verdict, regex: str
) -> None:
    assert (re2_error(regex) is None) == prometheus_accepts(regex), regex


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('errors{code=~"5(?=0)."}', "lookahead"),
        ('errors{code=~"5.*+"}', "nested repetition operator: `*+`"),
        ('errors{code!~"(?>5)"}', "atomic group"),
        ('errors{code=~"(?<name>5)"}', "(?P<name>...)"),
        ('errors{code=~"5[[:digits:]]"}', "[:digits:]"),
    ],
)
def test_a_selector_with_such_a_regex_is_refused_naming_the_label(text: str, named: str) -> None:
    with pytest.raises(
        ValueError, match="regular expression of 'code' is not one Prometheus takes"
    ) as refused:
        parse_selector(text)
    assert named in str(refused.value)


def test_regexes_only_re2_has_are_taken() -> None:
    """Python's `re` refuses these; Prometheus takes them, and so does a service file."""
    selector = parse_selector('errors{code=~"^*5..", path=~"[[:alpha:]]+"}')
    assert [m.value for m in selector.matchers] == ["^*5..", "[[:alpha:]]+"]
