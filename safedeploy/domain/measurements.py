"""What a metrics source answers: the increase of a counter selector over a window at T."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from safedeploy.domain.selectors import Selector


class IncreaseQuery(BaseModel):
    """`sum(increase(<selector>[<window>]))` evaluated at the instant of the evaluation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    selector: Selector
    window: int  # seconds

    @cached_property
    def _hash(self) -> int:
        return hash((self.selector, self.window))

    def __hash__(self) -> int:
        return self._hash


class Measurement(BaseModel):
    """A value, or why there is none.

    `empty` means the source answered and no series matched; `failed` means the source
    could not answer; `invalid` means it answered something that cannot be true (a NaN,
    a negative increase, two series for one service, a stamp from another instant). None
    of them ever turns into a number downstream, and an invalid answer taints whatever it
    feeds: a source that lies once is not believed for the rest of that SLO.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["ok", "empty", "failed", "invalid"]
    # Finite and non-negative by construction: a NaN or Inf can never reach the SLO math.
    value: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    reason: str | None = None

    @classmethod
    def of(cls, value: float) -> Measurement:
        if math.isnan(value) or math.isinf(value):
            return cls.invalid(f"the source returned {value}")
        if value < 0:
            return cls.invalid(f"the source returned a negative increase ({value})")
        # Checked above: finite and non-negative, what validation would check again.
        return cls.model_construct(status="ok", value=float(value), reason=None)

    @classmethod
    def failed(cls, reason: str) -> Measurement:
        return cls(status="failed", reason=reason)

    @classmethod
    def invalid(cls, reason: str) -> Measurement:
        return cls(status="invalid", reason=reason)

    @classmethod
    def empty(cls, reason: str = "no series matched") -> Measurement:
        return cls(status="empty", reason=reason)


class LabelNames(BaseModel):
    """The label names (`__name__` included) on any series of one metric over a window,
    none when the metric has no series there; or why the source could not say."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    names: frozenset[str] = frozenset()
    failure: str | None = None


class InstantGrid(BaseModel):
    """Evenly spaced instants ending at `end`: where a range of evaluations is asked for.

    The last instant is `end` itself, so a chart of a decision ends on the decision's own
    numbers; steps are whole seconds, so a server's points fall exactly on the grid.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    end: datetime
    step: int = Field(gt=0)  # seconds
    count: int = Field(gt=0)

    @property
    def start(self) -> datetime:
        return self.end - timedelta(seconds=self.step * (self.count - 1))

    def instants(self) -> tuple[datetime, ...]:
        start = self.start
        return tuple(start + timedelta(seconds=self.step * k) for k in range(self.count))

    def index(self, seconds: float) -> int | None:
        """The position of a Unix time on the grid; None off the grid or outside it.

        To the millisecond: Prometheus keeps times in milliseconds, so an instant with
        microseconds comes back rounded.
        """
        start = self.start.timestamp()
        position = round((seconds - start) / self.step)
        if abs(seconds - start - position * self.step) > 1e-3 or not 0 <= position < self.count:
            return None
        return position
