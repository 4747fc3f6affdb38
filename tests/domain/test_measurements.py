"""The grid of instants a range of evaluations is asked at."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from safedeploy.domain.measurements import InstantGrid

END = datetime(2026, 11, 1, 12, tzinfo=UTC)


@given(step=st.integers(min_value=1, max_value=10**6), count=st.integers(1, 500))
def test_the_grid_ends_at_its_end_and_finds_its_own_instants(step: int, count: int) -> None:
    grid = InstantGrid(end=END, step=step, count=count)
    instants = grid.instants()
    assert len(instants) == count
    assert instants[0] == grid.start and instants[-1] == END
    assert all(b - a == timedelta(seconds=step) for a, b in itertools.pairwise(instants))
    assert [grid.index(t.timestamp()) for t in instants] == list(range(count))


@given(
    step=st.integers(min_value=2, max_value=10**5),
    count=st.integers(1, 50),
    offset=st.floats(min_value=0.01, max_value=0.99),
)
def test_times_off_the_grid_or_outside_it_have_no_index(
    step: int, count: int, offset: float
) -> None:
    grid = InstantGrid(end=END, step=step, count=count)
    start = grid.start.timestamp()
    assert grid.index(start + offset * step) is None
    assert grid.index(start - step) is None
    assert grid.index(END.timestamp() + step) is None


@pytest.mark.parametrize("bad", [{"step": 0, "count": 3}, {"step": 60, "count": 0}])
def test_a_grid_needs_a_step_and_an_instant(bad: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        InstantGrid(end=END, **bad)


def test_a_server_answering_in_milliseconds_lands_on_a_grid_of_microseconds() -> None:
    grid = InstantGrid(end=END + timedelta(microseconds=123_456), step=180, count=5)
    rounded = [round(t.timestamp(), 3) for t in grid.instants()]
    assert [grid.index(t) for t in rounded] == [0, 1, 2, 3, 4]
    assert grid.index(rounded[2] + 0.01) is None
