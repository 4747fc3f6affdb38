"""The embedded source over a range of instants answers what it answers at each instant."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safedeploy.adapters.embedded_source import EmbeddedSource
from safedeploy.demo import story
from safedeploy.domain.measurements import IncreaseQuery, InstantGrid
from safedeploy.domain.sli_queries import queries_for
from testing.builders import checkout_service


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedSource:
    path = tmp_path_factory.mktemp("embedded") / "metrics.om"
    path.write_text("".join(story.openmetrics()), encoding="utf-8")
    return EmbeddedSource.from_file(path)


def checkout_queries() -> list[IncreaseQuery]:
    wanted: dict[IncreaseQuery, None] = {}
    for slo in checkout_service(latency=True).spec.slos:
        for per_window in queries_for(slo).values():
            wanted.update(dict.fromkeys(per_window.all()))
    return list(wanted)


@settings(max_examples=25, deadline=None)
@given(
    step=st.integers(min_value=1, max_value=7_200),
    count=st.integers(min_value=1, max_value=8),
    back=st.integers(min_value=0, max_value=3 * 86_400),
)
def test_each_instant_of_a_range_is_the_instant_answer(
    source: EmbeddedSource, step: int, count: int, back: int
) -> None:
    queries = checkout_queries()
    grid = InstantGrid(end=story.END - timedelta(seconds=back), step=step, count=count)
    ranged = source.increase_range(queries, grid)
    assert ranged.keys() == set(queries)
    for k, at in enumerate(grid.instants()):
        instant = source.increases(queries, at)
        assert {q: ranged[q][k] for q in queries} == instant


def test_the_range_sees_the_release(source: EmbeddedSource, tmp_path: Path) -> None:
    """The 5m error increase of checkout jumps when 1.5.0 ships, an hour before the end."""
    errors = next(q for q in checkout_queries() if q.window == 300 and "5.." in q.selector.render())
    grid = InstantGrid(end=story.END, step=600, count=13)
    values = [m.value for m in source.increase_range([errors], grid)[errors]]
    assert all(v is not None for v in values)
    before = [v for t, v in zip(grid.instants(), values, strict=True) if t <= story.RELEASE_AT]
    after = [
        v
        for t, v in zip(grid.instants(), values, strict=True)
        if t > story.RELEASE_AT + timedelta(minutes=5)
    ]
    assert max(before) < 5 < 250 < min(after)
