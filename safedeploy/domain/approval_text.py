"""What a reviewer reads: the commit message, pull request title, body and labels.

A reviewer decides from the pull request alone, so the text carries the incident, the rule
that fired and its numbers, and where the full evidence folder is. The folder reconcile
wrote arrives as the models of `domain/evidence.py`: only what a reviewer needs (the alerts
that fired, burn rates, budget remaining) is picked out, and the rest is left to the folder.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

from safedeploy.domain import trailers
from safedeploy.domain.evidence import EvidenceFolder, FiredAlert
from safedeploy.domain.incidents import Incident
from safedeploy.domain.instants import format_instant
from safedeploy.domain.proposals import PauseChange, Proposal, ProposalKind, VersionChange

# GitHub refuses bodies over 65,536 characters; the README is cut well before that.
README_LIMIT: Final = 20_000

KIND_LABEL: dict[ProposalKind, str] = {
    "rollback-rollout": "rollback",
    "promote-canary": "promotion",
    "block-promotion": "block-promotion",
}


class Figure(BaseModel):
    """One number from the evidence, with where it was found (`availability 1h`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    value: float


def headline(proposal: Proposal, target_path: str) -> str:
    change = proposal.change
    if isinstance(change, PauseChange):
        return f"Block promotion of {proposal.service}: pause {target_path}"
    if proposal.kind == "rollback-rollout":
        return f"Roll back {proposal.service} to {change.to_version} (from {change.from_version})"
    return f"Promote {proposal.service} canary {change.to_version} (from {change.from_version})"


def change_line(proposal: Proposal, target_path: str) -> str:
    change = proposal.change
    if isinstance(change, VersionChange):
        return f"{change.path}: version {change.from_version} -> {change.to_version}"
    return f"{target_path}: spec.paused: true"


def labels(proposal: Proposal, incident: Incident | None) -> tuple[str, ...]:
    if incident is None:
        return ("safedeploy", KIND_LABEL[proposal.kind])
    return ("safedeploy", KIND_LABEL[proposal.kind], f"severity:{incident.severity}")


def _subject_line(proposal: Proposal, incident: Incident | None) -> str:
    if incident is None:
        return f"Release: {proposal.release} (no incident: a healthy canary)"
    return (
        f"Incident: {incident.id} (severity {incident.severity}, slos {', '.join(incident.slos)})"
    )


def fired_alerts(evidence: EvidenceFolder) -> tuple[str, ...]:
    """The burn-rate rows that fired, as decision.json (written by reconcile) lists them."""
    if evidence.decision is None:
        return ()
    return tuple(_alert_text(alert) for alert in evidence.decision.alerts_fired)


def _alert_text(alert: FiredAlert) -> str:
    return (
        f"{alert.slo} {alert.windows} ({alert.severity}): burn rate "
        f"{_rate(alert.long_burn_rate)} long / {_rate(alert.short_burn_rate)} short, "
        f"threshold {alert.factor}"
    )


def _rate(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f}x"


def burn_rates(evidence: EvidenceFolder) -> tuple[Figure, ...]:
    return tuple(Figure(label=label, value=value) for label, value in evidence.burn_rates())


def budget_remaining(evidence: EvidenceFolder) -> tuple[Figure, ...]:
    return tuple(Figure(label=label, value=value) for label, value in evidence.budget_remaining())


def _figure_text(figures: tuple[Figure, ...], *, percent: bool) -> list[str]:
    if percent:
        return [f"{f.label}: {f.value * 100:.1f}%" for f in figures]
    return [f"{f.label}: {f.value:.2f}x" for f in figures]


def commit_message(
    proposal: Proposal,
    incident: Incident | None,
    evidence: EvidenceFolder,
    *,
    target_path: str,
    by: str,
) -> str:
    """Subject, the decision and its numbers, then the trailers that make pushes idempotent."""
    lines = [
        f"Proposal: {proposal.id} ({proposal.kind})",
        _subject_line(proposal, incident),
        f"Rule: {proposal.rule}",
        f"Reason: {proposal.reason}",
        f"Change: {change_line(proposal, target_path)}",
    ]
    lines += _block("Alerts fired", list(fired_alerts(evidence)))
    lines += _block("Burn rates", _figure_text(burn_rates(evidence), percent=False))
    lines += _block("Budget remaining", _figure_text(budget_remaining(evidence), percent=True))
    lines += [
        f"Evidence: {evidence.folder}",
        f"Approved by: {by}",
    ]
    subject_of = (
        (trailers.INCIDENT, incident.id) if incident else (trailers.RELEASE, proposal.release or "")
    )
    fields = [(trailers.PROPOSAL, proposal.id), subject_of]
    return trailers.message(f"safedeploy: {headline(proposal, target_path)}", lines, fields)


def _block(title: str, items: list[str]) -> list[str]:
    return [f"{title}:", *(f"  {item}" for item in items)] if items else []


def pull_request_title(proposal: Proposal, target_path: str) -> str:
    return f"[safedeploy] {headline(proposal, target_path)}"


def pull_request_body(
    proposal: Proposal,
    incident: Incident | None,
    evidence: EvidenceFolder,
    *,
    target_path: str,
    by: str,
    at: datetime,
    permalink: str | None = None,
    identity: str | None = None,
) -> str:
    """`permalink`: the evidence README at the state-repository commit that holds it;
    `identity`: how the approver was established ("identity not verified" when not)."""
    subject = (
        f"- **Incident:** `{incident.id}`, {incident.state}, severity {incident.severity}, "
        f"opened {format_instant(incident.opened_at)}, SLOs {', '.join(incident.slos)}"
        if incident is not None
        else f"- **Release:** `{proposal.release}` (a healthy canary, no incident)"
    )
    parts = [
        f"## {headline(proposal, target_path)}",
        "",
        f"Approved by **{by}** at {format_instant(at)}. Merging lets ArgoCD apply the change; "
        "closing it leaves production as it is.",
        "",
        *([f"- **Identity:** {identity}"] if identity else []),
        f"- **Change:** `{change_line(proposal, target_path)}`",
        f"- **Proposal:** `{proposal.id}` ({proposal.kind})",
        subject,
        f"- **Rule that fired:** {proposal.rule}",
        f"- **Reason:** {proposal.reason}",
        f"- **Evidence folder:** `{evidence.folder}`"
        + (f" ([at the commit that holds it]({permalink}))" if permalink else ""),
    ]
    parts += _section("Alerts fired", list(fired_alerts(evidence)))
    parts += _section("Burn rates", _figure_text(burn_rates(evidence), percent=False))
    parts += _section(
        "Error budget remaining", _figure_text(budget_remaining(evidence), percent=True)
    )
    parts += ["", "### What was seen", ""]
    parts.append(_readme(evidence, permalink))
    files = [f"`{evidence.folder}{name}`" for name in sorted(evidence.documents)]
    problems = [f"`{evidence.folder}{p.name}`: {p.reason}, left out" for p in evidence.problems]
    parts += _section("Evidence files", files + problems)
    return "\n".join(parts).rstrip() + "\n"


def charts_in_body(readme: str, folder: str, permalink: str | None) -> str:
    """The README's charts are relative to its folder in the state repository, which a pull
    request body in the environment repository is not: shown from the commit that holds
    them when there is a permalink, else named by their path."""
    if permalink is not None:
        base = permalink.rsplit("/", 1)[0].replace("/blob/", "/raw/", 1)
        return _IMAGE.sub(lambda m: f"![{m[1]}]({base}/{m[2]})", readme)
    return _IMAGE.sub(lambda m: f"{m[1]}: `{folder}{m[2]}`", readme)


# A Markdown image whose target is a file beside the README (no scheme, no folder).
_IMAGE: Final = re.compile(r"!\[([^\]\n]*)\]\(([\w.-]+\.svg)\)")


def _section(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return ["", f"### {title}", "", *(f"- {item}" for item in items)]


def _readme(evidence: EvidenceFolder, permalink: str | None) -> str:
    if evidence.readme is None:
        return f"_No README.md in `{evidence.folder}`._"
    text = charts_in_body(evidence.readme.strip(), evidence.folder, permalink)
    if len(text) > README_LIMIT:
        text = text[:README_LIMIT].rstrip() + f"\n\n_(cut; the full text is in {evidence.folder})_"
    # Quoted, so headings inside the README do not outrank this body's own.
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
