"""What the use cases need from the outside world, as protocols the adapters fulfil."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from safedeploy.domain.measurements import IncreaseQuery, Measurement


class MetricsSource(Protocol):
    """Answers `sum(increase(selector[window]))` at one instant for many queries at once."""

    @property
    def description(self) -> str: ...

    def increases(
        self, queries: Sequence[IncreaseQuery], at: datetime
    ) -> Mapping[IncreaseQuery, Measurement]: ...
