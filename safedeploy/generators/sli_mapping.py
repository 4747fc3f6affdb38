"""From the query shapes of other tools' SLIs to the catalog's two kinds of SLI.

An availability SLI is a selector of bad events over a selector of all events; a latency
SLI is a histogram and a bucket bound. Other tools write the same things as good over
total, bad over total, `count - bucket` over count, or one ratio; each maps here when, and
only when, its parts are counters of the same events. Every function returns the `sli`
mapping of a catalog SLO, or raises ValueError saying what did not fit.
"""

from __future__ import annotations

from typing import Any

from safedeploy.domain.selectors import Matcher, Operator, Selector
from safedeploy.generators.query_shapes import Counter, Difference, Ratio, Shape

_NEGATED: dict[Operator, Operator] = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}
COUNTER_SUFFIXES = ("_total", "_count", "_bucket")
GAUGE = (
    "a plain selector not known to be a counter cannot be counted; supported: a counter "
    "(counter: true, or a name ending in _total, _count or _bucket), or rate() or "
    "increase() of one"
)


def counter_of(shape: Shape, *, counter: bool | None) -> Counter:
    """`shape` as one counter. `counter` is what the file says of its metrics (OpenSLO's
    `counter`, v1alpha's `incremental`; None where the format has no such word): a bare
    selector is a counter only if the file says so, or says nothing and it is a counter
    by name."""
    if not isinstance(shape, Counter):
        raise ValueError("expected one counter, found a difference or a ratio")
    if shape.windowed or counter is True:
        return shape
    if counter is None and shape.selector.metric.endswith(COUNTER_SUFFIXES):
        return shape
    raise ValueError(GAUGE)


def errors_from_good(good: Selector, total: Selector) -> Selector | None:
    """Bad events as a selector when good is total plus one matcher: that matcher negated."""
    extra = [m for m in good.matchers if m not in total.matchers]
    if (
        good.metric != total.metric
        or len(extra) != 1
        or len(good.matchers) != len(total.matchers) + 1
    ):
        return None
    flipped = Matcher(label=extra[0].label, op=_NEGATED[extra[0].op], value=extra[0].value)
    return Selector(metric=total.metric, matchers=(*total.matchers, flipped))


def latency_from_bucket(bucket: Selector, count: Selector) -> dict[str, Any] | None:
    """`x_bucket{..., le="0.3"}` against `x_count{...}`: the histogram `x` under 0.3."""
    if not (bucket.metric.endswith("_bucket") and count.metric.endswith("_count")):
        return None
    base = bucket.metric.removesuffix("_bucket")
    le = [m for m in bucket.matchers if m.label == "le" and m.op == "="]
    rest = tuple(m for m in bucket.matchers if m.label != "le")
    if (
        base != count.metric.removesuffix("_count")
        or len(le) != 1
        or set(rest) != set(count.matchers)
    ):
        return None
    try:
        threshold = float(le[0].value)
    except ValueError:
        return None
    if not threshold > 0:
        return None
    return {"histogram": Selector(metric=base, matchers=rest).render(), "threshold": threshold}


def from_good_total(good: Counter, total: Counter) -> dict[str, Any]:
    """Good and total events (OpenSLO's `good`, Sloth's OpenSLO `ratioMetrics`)."""
    latency = latency_from_bucket(good.selector, total.selector)
    if latency is not None:
        return latency
    errors = errors_from_good(good.selector, total.selector)
    if errors is None:
        raise ValueError(
            "good must be the total's selector with one more matcher, or a histogram "
            "_bucket with le= over its _count, so that bad events are a selector too"
        )
    return {"errors": errors.render(), "total": total.selector.render()}


def from_bad_total(bad: Counter | Difference, total: Counter) -> dict[str, Any]:
    """Bad and total events: two counters, or `count - bucket` over the same count."""
    if isinstance(bad, Counter):
        return {"errors": bad.selector.render(), "total": total.selector.render()}
    if bad.left.selector != total.selector:
        raise ValueError(
            "in 'count - bucket' the count must be the total's selector, so that the "
            "difference is the requests above the bucket bound"
        )
    latency = latency_from_bucket(bad.right.selector, bad.left.selector)
    if latency is None:
        raise ValueError(
            "a difference maps only as a histogram's _count minus its _bucket with one "
            "le= bound and the same other matchers"
        )
    return latency


def from_error_ratio(shape: Shape) -> dict[str, Any]:
    """A raw error-ratio query (Sloth's `raw`): bad events over all events."""
    if not isinstance(shape, Ratio):
        raise ValueError(
            "a raw error ratio maps only as bad events over all events, one '/' between counters"
        )
    if not isinstance(shape.denominator, Counter):
        raise ValueError("the denominator of an error ratio must be one counter")
    return from_bad_total(shape.numerator, shape.denominator)
