"""Per-service control state that outlives one reconcile: freeze window and stable streak."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from safedeploy.domain.severity import Severity


class ServiceControl(BaseModel):
    """`control-plane/state/services/<name>.json`.

    It changes only when something about the service changes (a freeze, the start or end
    of a normal streak, a new severity), never merely because a run happened: a state
    repository commits decisions, not clock ticks.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    service: str
    freeze_until: datetime | None = None
    normal_since: datetime | None = None
    severity: Severity | None = None


def next_control(
    control: ServiceControl, severity: Severity, freeze_until: datetime | None, at: datetime
) -> ServiceControl:
    """Track how long every SLO has been normal; anything else, unknown included, resets it."""
    normal_since = (control.normal_since or at) if severity == "normal" else None
    return control.model_copy(
        update={
            "freeze_until": freeze_until,
            "normal_since": normal_since,
            "severity": severity,
        }
    )
