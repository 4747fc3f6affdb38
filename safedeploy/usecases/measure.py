"""Counter increases from a metrics source, with every selector that matched nothing
looked into (see `domain/empty_selectors.py`): how the SLOs read their increases at an
instant, so a typo in a service file's selector is unknown, never zero errors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from safedeploy.domain.empty_selectors import explained, lookbacks, suspects
from safedeploy.domain.measurements import IncreaseQuery, Measurement
from safedeploy.ports import MetricsSource


def measure(
    source: MetricsSource, queries: Sequence[IncreaseQuery], at: datetime
) -> dict[IncreaseQuery, Measurement]:
    """`source.increases(queries, at)`; a selector that matched nothing in every window
    costs one look at its metric's labels (one request per metric, none when all match)."""
    results = dict(source.increases(queries, at))
    suspected = suspects(results)
    if not suspected:
        return results
    labels = source.label_names(lookbacks(suspected), at)
    return explained(results, suspected, labels, at)
