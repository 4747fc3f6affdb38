"""PromQL series selectors, parsed strictly so that no label value can escape its quotes.

Service files carry selectors as text (`http_requests_total{service="checkout", code=~"5.."}`)
because that is what SREs already write. We parse them into a structure and render them back
with escaping, so the only PromQL safedeploy ever sends is PromQL it built itself.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

from safedeploy.domain.re2_syntax import re2_error

Operator = Literal["=", "!=", "=~", "!~"]

_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPERATOR = re.compile(r"=~|!~|!=|=")
_OPERATORS: dict[str, Operator] = {"=": "=", "!=": "!=", "=~": "=~", "!~": "!~"}
# Characters that have no business in a label value of a service definition and that would
# let a value close its quotes or braces if anything downstream forgot to escape.
_FORBIDDEN_IN_VALUE = set('"\\{}\n\r`')


class Matcher(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    op: Operator
    value: str

    # Selectors are dictionary keys thousands of times per evaluation; pydantic's own hash
    # walks every field each time. Never model_copy these: the cache would travel along.
    @cached_property
    def _hash(self) -> int:
        return hash((self.label, self.op, self.value))

    def __hash__(self) -> int:
        return self._hash

    def render(self) -> str:
        return f'{self.label}{self.op}"{escape_label_value(self.value)}"'


class Selector(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    matchers: tuple[Matcher, ...] = ()

    @cached_property
    def _hash(self) -> int:
        return hash((self.metric, self.matchers))

    def __hash__(self) -> int:
        return self._hash

    def render(self, extra: tuple[Matcher, ...] = (), metric: str | None = None) -> str:
        parts = [m.render() for m in (*self.matchers, *extra)]
        return f"{metric or self.metric}{{{', '.join(parts)}}}"

    def equality(self, label: str) -> str | None:
        """The value of a `label="value"` matcher, the hook that batched queries group on."""
        for matcher in self.matchers:
            if matcher.label == label and matcher.op == "=":
                return matcher.value
        return None

    def without(self, label: str) -> Selector:
        return Selector(
            metric=self.metric, matchers=tuple(m for m in self.matchers if m.label != label)
        )


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def parse_selector(text: str) -> Selector:
    """Parse `metric{label op "value", ...}`; anything else is refused with the reason."""
    source = text.strip()
    metric_match = _METRIC.match(source)
    if metric_match is None:
        raise ValueError(f"{text!r} must start with a metric name")
    pos = metric_match.end()
    matchers: list[Matcher] = []
    rest = source[pos:].lstrip()
    if rest:
        if not rest.startswith("{"):
            raise ValueError(f"unexpected {rest[:20]!r} after the metric name")
        matchers, tail = _parse_matchers(rest[1:])
        if tail.strip():
            raise ValueError(f"unexpected {tail.strip()[:20]!r} after the selector")
    return Selector(metric=metric_match.group(0), matchers=tuple(matchers))


def _parse_matchers(body: str) -> tuple[list[Matcher], str]:
    matchers: list[Matcher] = []
    rest = body.lstrip()
    while True:
        if rest.startswith("}"):
            return matchers, rest[1:]
        label = _LABEL.match(rest)
        if label is None:
            raise ValueError(f"expected a label name at {rest[:20]!r}")
        rest = rest[label.end() :].lstrip()
        op = _OPERATOR.match(rest)
        if op is None:
            raise ValueError(f"expected =, !=, =~ or !~ after {label.group(0)!r}")
        rest = rest[op.end() :].lstrip()
        if not rest.startswith('"'):
            raise ValueError(f"the value of {label.group(0)!r} must be in double quotes")
        end = rest.find('"', 1)
        if end < 0:
            raise ValueError(f"the value of {label.group(0)!r} is not closed")
        value = rest[1:end]
        bad = sorted(_FORBIDDEN_IN_VALUE.intersection(value))
        if bad:
            raise ValueError(f"the value of {label.group(0)!r} may not contain {bad[0]!r}")
        if op.group(0) in ("=~", "!~"):
            _check_regex(label.group(0), value)
        matchers.append(Matcher(label=label.group(0), op=_OPERATORS[op.group(0)], value=value))
        rest = rest[end + 1 :].lstrip()
        if rest.startswith(","):
            rest = rest[1:].lstrip()
        elif not rest.startswith("}"):
            raise ValueError("label matchers must be separated by commas and closed by '}'")


def _check_regex(label: str, value: str) -> None:
    # Prometheus's grammar, not Python's: a regex only Python takes would fail every query.
    error = re2_error(value)
    if error is not None:
        raise ValueError(
            f"the regular expression of {label!r} is not one Prometheus takes: {error}"
        )


def _parse_any(value: object) -> object:
    return parse_selector(value) if isinstance(value, str) else value


SelectorText = Annotated[
    Selector,
    BeforeValidator(_parse_any),
    PlainSerializer(lambda s: s.render(), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": 'A PromQL series selector: metric{label="value", code=~"5.."}',
            "pattern": r"^\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{[^{}\\`]*\})?\s*$",
        }
    ),
]
