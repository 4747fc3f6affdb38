"""Renders approvals and rejections: a few plain lines, or JSON for scripts."""

from __future__ import annotations

from typing import Any

from safedeploy.cli.terminal import print_error, print_json, stdout
from safedeploy.domain.proposals import MITIGATING_KINDS, UNVERIFIED
from safedeploy.usecases.approval import ApprovalResult, RejectionResult


def render_approval(result: ApprovalResult, *, as_json: bool) -> None:
    for warning in result.warnings:
        print_error(warning)
    if as_json:
        print_json(result.as_json())
        return
    console = stdout()
    for line in approval_lines(result.as_json(), already=result.already_approved):
        console.print(line, markup=False)


def approval_lines(data: dict[str, Any], *, already: bool) -> list[str]:
    unverified = " (identity not verified)" if data["identity"] == UNVERIFIED else ""
    first = f"{data['proposal']}: approved by {data['by']}{unverified}"
    landed = data["landed"]
    again = f"{first} at {data['at']} already" + ("" if landed else "; nothing changed")
    lines = [again if already else first, *(f"since then: {line}" for line in landed)]
    lines.append(f"branch {data['branch']}" + (f" on {data['remote']}" if data["remote"] else ""))
    if data["pr_url"]:
        lines.append(f"pull request {data['pr_url']}")
    elif not already:
        lines.append("no pull request (github.provider is git): open one from this branch")
    if data["incident"] is not None:
        waiting = (
            ": mitigated once reconcile sees the change on the default branch"
            if data["status"] == "approved"
            and data["kind"] in MITIGATING_KINDS
            and data["incident_state"] in OPEN_STATES
            else ""
        )
        lines.append(f"incident {data['incident']}: {data['incident_state']}{waiting}")
    return lines


# Before an approved change lands, the incident is still one of these.
OPEN_STATES = ("detected", "investigating")


def render_rejection(result: RejectionResult, *, as_json: bool) -> None:
    data = result.as_json()
    if as_json:
        print_json(data)
        return
    done = "was already rejected" if result.already_rejected else "rejected"
    stdout().print(f"{data['proposal']}: {done} by {data['by']}: {data['reason']}", markup=False)
