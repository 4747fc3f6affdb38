"""Read OpenMetrics / Prometheus text exposition files with timestamps into memory.

This is the embedded metrics source's storage: the same files `promtool tsdb
create-blocks-from openmetrics` backfills into a real Prometheus, held as one pair of
`array('d')` per series (16 bytes a sample) so ten million samples fit comfortably.

Parsing is tuned for files with few series and many samples: a line whose series text has
been seen before costs one `rsplit`, one dict lookup and two `float()` calls; only the
first line of each series goes through the full label parser. Timestamps are seconds, as
OpenMetrics (and promtool's backfill) read them, not the milliseconds of the older text
format.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Literal

from safedeploy.errors import BadInputError

Labels = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, Labels]
MatchOp = Literal["=", "!=", "=~", "!~"]

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_PAIR = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_ESCAPE = re.compile(r"\\.")
_EXEMPLAR_MARK = " # "
_OPS: dict[str, MatchOp] = {"=": "=", "!=": "!=", "=~": "=~", "!~": "!~"}


@dataclass(frozen=True, slots=True)
class Series:
    """One time series: samples sorted by time, `times` in seconds since the epoch."""

    name: str
    labels: Labels
    times: array[float]
    values: array[float]

    def label(self, key: str) -> str:
        """The label's value, or "" when absent (Prometheus treats the two alike)."""
        for name, value in self.labels:
            if name == key:
                return value
        return ""


@dataclass(frozen=True, slots=True)
class Matcher:
    """A PromQL label matcher; regexes are fully anchored, as in Prometheus."""

    label: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, label: str, op: MatchOp, value: str) -> Matcher:
        """Build a matcher, compiling its regex once; a bad regex is bad input."""
        regex = None
        if op in ("=~", "!~"):
            try:
                regex = re.compile(value)
            except re.error as exc:
                raise BadInputError(f"bad regex in {label}{op}{value!r}: {exc}") from exc
        return cls(label, op, value, regex)

    def matches(self, actual: str) -> bool:
        """Whether a label value (\"\" when absent) satisfies this matcher."""
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None
        found = self._regex.fullmatch(actual) is not None
        return found if self.op == "=~" else not found


class SeriesStore:
    """Series indexed by metric name, with PromQL-style selection."""

    def __init__(self, series: Iterable[Series] = ()) -> None:
        self._by_name: dict[str, list[Series]] = {}
        for one in series:
            self._by_name.setdefault(one.name, []).append(one)
        # Built on first use per (name, label): thousands of services share one metric
        # name, and most selections pin `service` with "=".
        self._by_label: dict[tuple[str, str], dict[str, list[Series]]] = {}

    def select(self, name: str, matchers: Sequence[Matcher] = ()) -> list[Series]:
        """Every series called `name` whose labels satisfy all `matchers`."""
        candidates: Sequence[Series] = self._by_name.get(name, ())
        equal = next((m for m in matchers if m.op == "="), None)
        if equal is not None and candidates:
            candidates = self._label_index(name, equal.label).get(equal.value, ())
        return [
            one
            for one in candidates
            if all(matcher.matches(one.label(matcher.label)) for matcher in matchers)
        ]

    def _label_index(self, name: str, label: str) -> dict[str, list[Series]]:
        index = self._by_label.get((name, label))
        if index is None:
            index = {}
            for one in self._by_name[name]:
                index.setdefault(one.label(label), []).append(one)
            self._by_label[(name, label)] = index
        return index

    def names(self) -> list[str]:
        """Metric names present, sorted."""
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[Series]:
        for group in self._by_name.values():
            yield from group

    def __len__(self) -> int:
        return sum(len(group) for group in self._by_name.values())


def parse_selector(text: str) -> tuple[str, list[Matcher]]:
    """Parse `name{label op "value", ...}` as written in service files."""
    name, labels, rest = _parse_series_text(text.strip(), allow_ops=True)
    if rest.strip():
        raise BadInputError(f"bad selector {text!r}: unexpected {rest.strip()!r}")
    return name, [Matcher.of(label, op, value) for label, op, value in labels]


def load_openmetrics(path: Path) -> SeriesStore:
    """Read one exposition file; errors name the file and line and stop the load."""
    builder = _Builder()
    try:
        with path.open("rb") as handle:
            _parse_lines(handle, builder, str(path))
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return SeriesStore(builder.finish(str(path)))


@dataclass(slots=True)
class _Pending:
    name: str
    labels: Labels
    first_line: int
    times: array[float] = field(default_factory=lambda: array("d"))
    values: array[float] = field(default_factory=lambda: array("d"))


class _Builder:
    """Collects samples; one entry per distinct series text, merged by series key."""

    def __init__(self) -> None:
        self.by_text: dict[str, tuple[Callable[[float], None], Callable[[float], None]]] = {}
        self.by_key: dict[SeriesKey, _Pending] = {}

    def open_series(self, text: str, name: str, labels: Labels, line_no: int) -> None:
        key = (name, tuple(sorted(labels)))
        pending = self.by_key.get(key)
        if pending is None:
            pending = _Pending(name, key[1], line_no)
            self.by_key[key] = pending
        self.by_text[text] = (pending.times.append, pending.values.append)

    def finish(self, source: str) -> list[Series]:
        return [_sorted_series(pending, source) for pending in self.by_key.values()]


def _sorted_series(pending: _Pending, source: str) -> Series:
    times, values = pending.times, pending.values
    if not all(a < b for a, b in pairwise(times)):
        order = sorted(range(len(times)), key=times.__getitem__)
        times = array("d", (times[i] for i in order))
        values = array("d", (values[i] for i in order))
        for a, b in pairwise(times):
            if a == b:
                raise BadInputError(
                    f"{source}:{pending.first_line}: series {pending.name} has two samples "
                    f"at timestamp {a:g}"
                )
    return Series(pending.name, pending.labels, times, values)


def _parse_lines(lines: Iterable[bytes], builder: _Builder, source: str) -> None:
    by_text = builder.by_text
    seen_eof = False
    for line_no, raw in enumerate(lines, 1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise BadInputError(f"{source}:{line_no}: not UTF-8 ({exc.reason})") from exc
        if seen_eof:
            if line.strip():
                raise BadInputError(f"{source}:{line_no}: content after # EOF")
            continue
        if not line or line[0] == "#":
            seen_eof = line == "# EOF"
            continue
        parts = line.rsplit(" ", 2)
        if len(parts) == 3:
            appenders = by_text.get(parts[0])
            if appenders is not None:
                try:
                    value = float(parts[1])
                    timestamp = float(parts[2])
                except ValueError:
                    raise BadInputError(
                        f"{source}:{line_no}: bad value or timestamp in {line!r}"
                    ) from None
                appenders[0](timestamp)
                appenders[1](value)
                continue
        _parse_new_series_line(line, line_no, builder, source)


def _parse_new_series_line(line: str, line_no: int, builder: _Builder, source: str) -> None:
    """Slow path: the first sample of a series, or anything unusual about a line."""
    try:
        name, pairs, rest = _parse_series_text(line, allow_ops=False)
    except BadInputError as exc:
        raise BadInputError(f"{source}:{line_no}: {exc}") from None
    series_text = line[: len(line) - len(rest)]
    sample = rest.split(_EXEMPLAR_MARK, 1)[0].split()
    if len(sample) != 2:
        what = "missing timestamp" if len(sample) == 1 else "expected value and timestamp"
        raise BadInputError(f"{source}:{line_no}: {what} in {line!r}")
    try:
        value, timestamp = float(sample[0]), float(sample[1])
    except ValueError:
        raise BadInputError(f"{source}:{line_no}: bad value or timestamp in {line!r}") from None
    labels = tuple((label, text) for label, _op, text in pairs)
    if len({label for label, _ in labels}) != len(labels):
        raise BadInputError(f"{source}:{line_no}: duplicate label in {line!r}")
    builder.open_series(series_text, name, labels, line_no)
    append_time, append_value = builder.by_text[series_text]
    append_time(timestamp)
    append_value(value)


def _parse_series_text(
    text: str, *, allow_ops: bool
) -> tuple[str, list[tuple[str, MatchOp, str]], str]:
    """Split `name{labels}rest` into its name, its label triples and what follows."""
    match = _METRIC_NAME.match(text)
    if match is None:
        raise BadInputError(f"expected a metric name in {text!r}")
    name, position = match.group(), match.end()
    pairs: list[tuple[str, MatchOp, str]] = []
    if position < len(text) and text[position] == "{":
        position += 1
        while True:
            stripped = len(text) - len(text[position:].lstrip())
            if stripped < len(text) and text[stripped] == "}":
                position = stripped + 1
                break
            pair = _LABEL_PAIR.match(text, position)
            if pair is None:
                raise BadInputError(f"bad label set in {text!r}")
            op = _OPS[pair.group(2)]
            if op != "=" and not allow_ops:
                raise BadInputError(f"bad label set in {text!r}")
            pairs.append((pair.group(1), op, _unescape(pair.group(3))))
            position = pair.end()
            if position < len(text) and text[position] == ",":
                position += 1
            elif position >= len(text) or text[position] != "}":
                raise BadInputError(f"bad label set in {text!r}")
    return name, pairs, text[position:]


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(), m.group()), text)
