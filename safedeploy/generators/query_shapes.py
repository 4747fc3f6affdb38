"""The few shapes of PromQL that other tools' SLI queries take and safedeploy can map.

OpenSLO and Sloth carry SLIs as PromQL text, usually `sum(rate(metric{...}[{{.window}}]))`.
safedeploy builds its own PromQL from series selectors, so an imported query is accepted
only when it is, after brackets, one of:

- a counter: a selector, `rate()` or `increase()` of a range selector, or `sum()` of one;
- a difference of two counters (`count - bucket`: the requests above a latency bound);
- a ratio of those (a raw error-ratio query).

Anything else (`sum by`, `*_over_time`, `or`, numbers, subqueries) is refused with what was
found, so a user reads why rather than getting an SLI that means something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safedeploy.domain.selectors import Selector, parse_selector

COUNTER_FUNCTIONS = ("rate", "increase")
SUPPORTED = (
    "a counter selector, rate() or increase() of one, sum() of those, "
    "and one '-' or '/' between two of them"
)
_TOKEN = re.compile(
    r"\s*(?:(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)|(?P<range>\[[^\]]*\])|(?P<punct>[(),/\-{]))"
)
_TEMPLATE_WINDOW = re.compile(r"^\{\{\s*\.window\s*\}\}$")
_DURATION = re.compile(r"^[0-9]+(ms|[smhdwy])$")


@dataclass(frozen=True)
class Counter:
    """Events counted by a counter; `windowed` when the query took its rate or increase."""

    selector: Selector
    windowed: bool


@dataclass(frozen=True)
class Difference:
    left: Counter
    right: Counter


@dataclass(frozen=True)
class Ratio:
    numerator: Counter | Difference
    denominator: Counter | Difference


Shape = Counter | Difference | Ratio


def parse_shape(query: str) -> Shape:
    """The shape of `query`, or ValueError naming what cannot be mapped and what can."""
    parser = _Parser(query)
    shape = parser.expression()
    parser.end()
    return shape


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, found: str) -> ValueError:
        return ValueError(f"{found} cannot be mapped; supported: {SUPPORTED}")

    def rest(self) -> str:
        """What is left to read, on one line and short: for messages."""
        return " ".join(self.text[self.pos :].split())[:20]

    def peek(self) -> tuple[str, str]:
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            return ("end", "") if not self.rest() else ("other", self.rest())
        kind = match.lastgroup or "other"
        return kind, match.group(kind)

    def take(self) -> tuple[str, str]:
        token = self.peek()
        match = _TOKEN.match(self.text, self.pos)
        if match is not None:
            self.pos = match.end()
        return token

    def expect(self, punct: str) -> None:
        kind, value = self.take()
        if (kind, value) != ("punct", punct):
            raise self.fail(f"{value!r} where {punct!r} was expected")

    def end(self) -> None:
        kind, _ = self.peek()
        if kind != "end":
            raise self.fail(f"{self.rest()!r} after the expression")

    def expression(self) -> Shape:
        left = self.term()
        kind, value = self.peek()
        if (kind, value) not in (("punct", "-"), ("punct", "/")):
            return left
        self.take()
        right = self.term()
        if value == "-":
            if not (isinstance(left, Counter) and isinstance(right, Counter)):
                raise self.fail("'-' between anything but two counters")
            return Difference(left, right)
        if isinstance(left, Ratio) or isinstance(right, Ratio):
            raise self.fail("a ratio of ratios")
        return Ratio(left, right)

    def term(self) -> Shape:
        kind, value = self.take()
        if (kind, value) == ("punct", "("):
            inner = self.expression()
            self.expect(")")
            return inner
        if kind != "ident":
            raise self.fail(repr(value) if value else "an empty query")
        if value == "sum" and self.peek()[1] in ("by", "without"):
            raise self.fail("sum() by or without labels (safedeploy sums every series)")
        if self.peek()[1] == "(":
            return self.call(value)
        if value in ("by", "without", "or", "and", "unless", "on", "ignoring"):
            raise self.fail(f"{value!r}")
        return Counter(self.selector(value), windowed=False)

    def call(self, name: str) -> Shape:
        self.expect("(")
        if name == "sum":
            inner = self.expression()
            self.expect(")")
            if self.peek()[1] in ("by", "without"):
                raise self.fail("sum() by or without labels (safedeploy sums every series)")
            if isinstance(inner, Ratio):
                raise self.fail("sum() of a ratio")
            return inner
        if name in COUNTER_FUNCTIONS:
            kind, metric = self.take()
            if kind != "ident":
                raise self.fail(f"{name}() of {metric!r}")
            selector = self.selector(metric)
            range_kind, window = self.take()
            if range_kind != "range" or not _window(window[1:-1].strip()):
                raise self.fail(f"{name}() without a [window] range")
            self.expect(")")
            return Counter(selector, windowed=True)
        raise self.fail(f"{name}()")

    def selector(self, metric: str) -> Selector:
        if self.text[self.pos :].lstrip().startswith("{"):
            self.pos = self.text.index("{", self.pos)
            close = _closing_brace(self.text, self.pos)
            body = self.text[self.pos : close + 1]
            self.pos = close + 1
        else:
            body = ""
        try:
            return parse_selector(metric + body)
        except ValueError as exc:
            raise ValueError(f"the selector {metric + body!r} cannot be mapped: {exc}") from None


def _window(text: str) -> bool:
    return bool(_TEMPLATE_WINDOW.match(text) or _DURATION.match(text))


def _closing_brace(text: str, start: int) -> int:
    """The index of the `}` closing the `{` at `start`, skipping quoted values."""
    quoted = False
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and quoted:
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == "}" and not quoted:
            return index
        index += 1
    raise ValueError(f"the selector at {text[start : start + 20]!r} is not closed")
