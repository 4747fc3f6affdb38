"""`safedeploy gate SERVICE`: may this service promote now? For CI, with a commit status.

The service is evaluated live against its metrics source at one instant, its freeze
window is read from its control state, and the runtime policy decides. Unknown data never
allows: the gate then says it cannot decide (exit 3) instead of failing open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from safedeploy.domain.catalog import select
from safedeploy.domain.policy import PolicyVerdict, next_freeze, release_verdict
from safedeploy.domain.slo import ServiceStatus
from safedeploy.errors import EXIT_BLOCKED, EXIT_CANNOT_DECIDE, EXIT_OK, BadInputError
from safedeploy.usecases.context import Context

if TYPE_CHECKING:
    from safedeploy.adapters.github import StatusState

STATUS_CONTEXT: Final = "safedeploy/slo-gate"
DESCRIPTION_LIMIT: Final = 140

_EXIT: Final = {"GREEN": EXIT_OK, "RED": EXIT_BLOCKED, "UNKNOWN": EXIT_CANNOT_DECIDE}
_STATE: Final[dict[str, StatusState]] = {"GREEN": "success", "RED": "failure", "UNKNOWN": "error"}


@dataclass(frozen=True)
class GateResult:
    verdict: PolicyVerdict
    status: ServiceStatus
    source: str
    freeze_until: datetime | None

    @property
    def exit_code(self) -> int:
        return _EXIT[self.verdict.decision]

    @property
    def message(self) -> str:
        word = {
            "GREEN": "promotion allowed",
            "RED": "promotion blocked",
            "UNKNOWN": "cannot decide on promotion",
        }
        reason = self.verdict.reason.removeprefix("cannot decide: ")
        return f"{self.verdict.service}: {word[self.verdict.decision]}: {reason}"


def gate(ctx: Context, service_name: str, at: datetime) -> GateResult:
    from safedeploy.usecases.canaries import judge_canaries
    from safedeploy.usecases.slo_status import evaluate_services

    [service] = select(ctx.catalog, [service_name])
    source = ctx.source
    [status] = evaluate_services([service], source, at)
    control = ctx.store.get_control(service.name)
    current_freeze = control.freeze_until if control is not None else None
    # The verdict reconcile reaches: the team's Rego denials and the canary's health too.
    canary = judge_canaries([service], source, ctx.versions, at).get(service.name)
    verdict = release_verdict(
        service,
        status,
        current_freeze=current_freeze,
        at=at,
        denials=ctx.policies.rules_for(service, status, current_freeze, at),
        canary=canary,
    )
    freeze_until = next_freeze(service, status, current_freeze, at)
    return GateResult(verdict, status, source.description, freeze_until)


def status_description(result: GateResult) -> str:
    """GitHub refuses descriptions over 140 characters; cut with an ellipsis."""
    text = result.message
    if len(text) <= DESCRIPTION_LIMIT:
        return text
    return text[: DESCRIPTION_LIMIT - 1] + "…"


def post_github_status(
    ctx: Context, result: GateResult, sha: str, *, target_url: str | None = None
) -> str:
    """Post the verdict as the `safedeploy/slo-gate` status on `sha`; returns the state."""
    if not sha or any(c not in "0123456789abcdef" for c in sha.lower()) or len(sha) > 40:
        raise BadInputError(f"--github-status: {sha!r} is not a commit SHA")
    client = ctx.github_for_status()
    state_name = _STATE[result.verdict.decision]
    client.post_commit_status(
        sha.lower(), state_name, STATUS_CONTEXT, status_description(result), target_url
    )
    return state_name
