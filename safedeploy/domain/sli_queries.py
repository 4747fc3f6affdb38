"""Which counter increases an SLO needs, per window: the bridge from catalog to source."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.burnrate import windows
from safedeploy.domain.catalog import SLO
from safedeploy.domain.measurements import IncreaseQuery, Measurement
from safedeploy.domain.selectors import Matcher, Selector
from safedeploy.domain.slo import SLICounts


class SLIQueries(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    total: IncreaseQuery
    errors: IncreaseQuery | None = None
    good: IncreaseQuery | None = None

    def all(self) -> tuple[IncreaseQuery, ...]:
        return tuple(q for q in (self.total, self.errors, self.good) if q is not None)

    def counts(self, results: dict[IncreaseQuery, Measurement]) -> SLICounts:
        missing = Measurement.failed("not queried")
        return SLICounts.model_construct(
            total=results.get(self.total, missing),
            errors=results.get(self.errors, missing) if self.errors is not None else None,
            good=results.get(self.good, missing) if self.good is not None else None,
        )

    def counts_over(
        self, ranges: Mapping[IncreaseQuery, Sequence[Measurement]], count: int
    ) -> list[SLICounts]:
        """`counts` at each of `count` instants, from one measurement per instant per query."""
        missing = (Measurement.failed("not queried"),) * count
        total = ranges.get(self.total, missing)
        errors = ranges.get(self.errors, missing) if self.errors is not None else None
        good = ranges.get(self.good, missing) if self.good is not None else None
        return [
            SLICounts.model_construct(
                total=total[k],
                errors=errors[k] if errors is not None else None,
                good=good[k] if good is not None else None,
            )
            for k in range(count)
        ]


def le_pattern(threshold: float) -> str:
    """A regex for every spelling of a bucket bound: Prometheus 2.x keeps `le` as written,
    so "0.3" and "0.30" are different label values."""
    text = repr(float(threshold))
    if text.endswith(".0"):
        return re.escape(text[:-2]) + r"(\.0*)?"
    if "e" in text:
        return re.escape(text)
    return re.escape(text) + "0*"


def queries_for(slo: SLO) -> dict[int, SLIQueries]:
    """The queries of every window. Built with `model_construct`: every part comes from an
    already validated SLO, and a thousand services make a hundred thousand of these."""
    sli = slo.sli
    result: dict[int, SLIQueries] = {}
    query = IncreaseQuery.model_construct
    if sli.errors is not None and sli.total is not None:
        total, errors = sli.total, sli.errors
        for window in windows(slo):
            result[window] = SLIQueries.model_construct(
                total=query(selector=total, window=window),
                errors=query(selector=errors, window=window),
                good=None,
            )
    elif sli.histogram is not None and sli.threshold is not None:
        count = _suffixed(sli.histogram, "_count")
        bucket = _suffixed(
            sli.histogram,
            "_bucket",
            Matcher(label="le", op="=~", value=le_pattern(sli.threshold)),
        )
        for window in windows(slo):
            result[window] = SLIQueries.model_construct(
                total=query(selector=count, window=window),
                errors=None,
                good=query(selector=bucket, window=window),
            )
    return result


def _suffixed(selector: Selector, suffix: str, *extra: Matcher) -> Selector:
    return Selector(metric=selector.metric + suffix, matchers=(*selector.matchers, *extra))
