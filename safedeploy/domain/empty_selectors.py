"""Why a selector matched nothing: no such event yet, or a typo.

Prometheus answers a selector that matches no series with nothing at all, exactly as it
answers for errors that never happened, and nothing reads as zero errors. So a selector
that matched nothing in every window asked of it is looked into: when its metric has no
series over the longest of those windows, or it needs a label its metric never carries,
it is a typo until shown otherwise, and the SLO it feeds is unknown. When the metric and
every label are there, nothing is simply nothing: the 5xx series never appeared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.catalog import SLO
from safedeploy.domain.durations import format_duration, parse_duration
from safedeploy.domain.instants import format_instant
from safedeploy.domain.measurements import IncreaseQuery, LabelNames, Measurement
from safedeploy.domain.selectors import Matcher, Selector
from safedeploy.domain.sli_queries import queries_for


def suspects(results: Mapping[IncreaseQuery, Measurement]) -> dict[Selector, int]:
    """The selectors that matched nothing in every window asked of them (one match
    anywhere clears a selector), each with the longest of those windows."""
    empty: dict[Selector, int] = {}
    matched: set[Selector] = set()
    for query, measurement in results.items():
        if measurement.status == "empty":
            empty[query.selector] = max(empty.get(query.selector, 0), query.window)
        else:
            matched.add(query.selector)
    return {selector: window for selector, window in empty.items() if selector not in matched}


def lookbacks(suspected: Mapping[Selector, int]) -> dict[str, int]:
    """The metrics to look into, each over the longest window of its suspects."""
    found: dict[str, int] = {}
    for selector, window in suspected.items():
        found[selector.metric] = max(found.get(selector.metric, 0), window)
    return found


def explained(
    results: Mapping[IncreaseQuery, Measurement],
    suspected: Mapping[Selector, int],
    labels: Mapping[str, LabelNames],
    at: datetime,
) -> dict[IncreaseQuery, Measurement]:
    """`results` with every suspect's answers failed when matching nothing is a typo, or
    cannot be told from one; every other answer as it was."""
    windows = lookbacks(suspected)
    verdicts: dict[Selector, Measurement | None] = {}
    answers: dict[IncreaseQuery, Measurement] = {}
    for query, measurement in results.items():
        selector = query.selector
        found = labels.get(selector.metric)
        if selector not in suspected or found is None:
            answers[query] = measurement
            continue
        if selector not in verdicts:
            verdicts[selector] = _verdict(selector, found, windows[selector.metric], at)
        verdict = verdicts[selector]
        if verdict is not None and found.failure is not None:
            # Say what was seen, then why it could not be explained.
            verdict = Measurement.failed(f"{measurement.reason}; {verdict.reason}")
        answers[query] = verdict or measurement
    return answers


def _verdict(
    selector: Selector, found: LabelNames, lookback: int, at: datetime
) -> Measurement | None:
    if found.failure is not None:
        return Measurement.failed(
            f"whether {selector.metric} has series could not be checked: {found.failure}"
        )
    problem = typo(selector, found.names, lookback, at)
    return Measurement.failed(problem) if problem is not None else None


def typo(selector: Selector, names: frozenset[str], lookback: int, at: datetime) -> str | None:
    """Why a selector that matched nothing is a typo, given the label names on its
    metric's series over `lookback` seconds before `at`; None when it is not one."""
    where = f"{selector.render()}: in the {format_duration(lookback)} before {format_instant(at)}"
    if not names:
        return f"{where}, metric {selector.metric} has no series: typo?"
    missing = [label for label in required_labels(selector) if label not in names]
    if missing:
        return f"{where}, no series of {selector.metric} has a label {missing[0]}: typo?"
    return None


def required_labels(selector: Selector) -> tuple[str, ...]:
    """The labels a series must carry to match: those whose matcher refuses the empty
    value (Prometheus reads a missing label as "", so `code!="200"` needs no `code`)."""
    return tuple(dict.fromkeys(m.label for m in selector.matchers if not _accepts_empty(m)))


def _accepts_empty(matcher: Matcher) -> bool:
    """Whether a series without the label matches (PromQL regexes are fully anchored)."""
    if matcher.op in ("=", "!="):
        equal = matcher.value == ""
    else:
        try:
            equal = re.fullmatch(matcher.value, "") is not None
        except re.error:
            # RE2 syntax Python lacks (\pL, \Q..\E): not knowing, the label is not required.
            return True
    return equal if matcher.op in ("=", "=~") else not equal


Role = Literal["errors", "total", "bucket"]


class SelectorUse(BaseModel):
    """One selector of an SLO as `validate --live` checks it: over the SLO period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str  # under the SLO, as the service file spells it
    role: Role
    query: IncreaseQuery


def selector_uses(slo: SLO) -> tuple[SelectorUse, ...]:
    """Every selector the SLO reads, each over its period."""
    queries = queries_for(slo)[parse_duration(slo.period)]
    if queries.errors is not None:
        return (
            SelectorUse(field="sli.errors", role="errors", query=queries.errors),
            SelectorUse(field="sli.total", role="total", query=queries.total),
        )
    assert queries.good is not None
    return (
        SelectorUse(field="sli.histogram", role="total", query=queries.total),
        SelectorUse(field="sli.threshold", role="bucket", query=queries.good),
    )


def unmatched(use: SelectorUse, at: datetime) -> tuple[Literal["problem", "note"], str]:
    """What a selector that matched nothing, with its metric and labels there, means."""
    selector = use.query.selector.render()
    span = format_duration(use.query.window)
    where = f"{selector}: matched no series in the {span} before {format_instant(at)}"
    if use.role == "errors":
        return "note", f"{where}; reads as zero errors until one appears"
    if use.role == "bucket":
        return "problem", f"{where}: is the threshold one of the histogram's bucket boundaries?"
    return "problem", f"{where}, though its metric and labels exist: check the label values"
