"""What a reviewer reads: the commit message, pull request title, body and labels.

A reviewer decides from the pull request alone, so the text carries the incident, the rule
that fired and its numbers, and where the full evidence folder is. Evidence files are
written by reconcile and read here as plain JSON: only the fields a reviewer needs
(burn rates, budget remaining) are picked out, and anything else is left to the folder.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

from safedeploy.domain import trailers
from safedeploy.domain.incidents import Incident
from safedeploy.domain.instants import format_instant
from safedeploy.domain.proposals import PauseChange, Proposal, ProposalKind, VersionChange

EVIDENCE_FILES: Final = ("decision.json", "slo.json", "budget.json", "proposal.json")
# GitHub refuses bodies over 65,536 characters; the README is cut well before that.
README_LIMIT: Final = 20_000

KIND_LABEL: dict[ProposalKind, str] = {
    "rollback-rollout": "rollback",
    "promote-canary": "promotion",
    "block-promotion": "block-promotion",
}


class Evidence(BaseModel):
    """The evidence folder as read from disk: its path, README and parsed JSON files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    folder: str
    readme: str | None = None
    documents: Mapping[str, object] = {}
    problems: tuple[str, ...] = ()


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


def fired_alerts(evidence: Evidence) -> tuple[str, ...]:
    """The burn-rate rows that fired, as decision.json (written by reconcile) lists them."""
    decision = evidence.documents.get("decision.json")
    alerts = decision.get("alerts_fired") if isinstance(decision, Mapping) else None
    if not isinstance(alerts, list):
        return ()
    return tuple(_alert_text(alert) for alert in alerts if isinstance(alert, Mapping))


def _alert_text(alert: Mapping[str, object]) -> str:
    long, short = alert.get("long_burn_rate"), alert.get("short_burn_rate")
    return (
        f"{alert.get('slo')} {alert.get('windows')} ({alert.get('severity')}): burn rate "
        f"{_rate(long)} long / {_rate(short)} short, threshold {alert.get('factor')}"
    )


def _rate(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.2f}x"
    return "unknown"


def burn_rates(evidence: Evidence) -> tuple[Figure, ...]:
    return _figures(evidence, "burn_rate")


def budget_remaining(evidence: Evidence) -> tuple[Figure, ...]:
    return _figures(evidence, "remaining")


def _figures(evidence: Evidence, key: str) -> tuple[Figure, ...]:
    seen: dict[str, float] = {}
    for name in EVIDENCE_FILES:
        if name in evidence.documents:
            for label, value in _walk(evidence.documents[name], key, ()):
                # The same SLO often appears in several files; the first mention wins.
                seen.setdefault(label or name.removesuffix(".json"), value)
    return tuple(Figure(label=label, value=value) for label, value in seen.items())


_NOISE: Final = frozenset({"windows", "budget", "slos", "services", "evidence"})


def _walk(node: object, key: str, path: tuple[str, ...]) -> Iterator[tuple[str, float]]:
    """(label, number) for every `key` holding a number, labelled by SLO name and window."""
    if isinstance(node, Mapping):
        value = node.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield " ".join(p for p in path if p not in _NOISE), float(value)
        for child_key, child in node.items():
            if isinstance(child, Mapping | list):
                yield from _walk(child, key, (*path, str(child_key)))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            name = _name_of(item) or str(index)
            yield from _walk(item, key, (*path, name))


def _name_of(item: object) -> str | None:
    if isinstance(item, Mapping):
        for field in ("slo", "name"):
            if isinstance(item.get(field), str):
                return str(item[field])
    return None


def _figure_text(figures: tuple[Figure, ...], *, percent: bool) -> list[str]:
    if percent:
        return [f"{f.label}: {f.value * 100:.1f}%" for f in figures]
    return [f"{f.label}: {f.value:.2f}x" for f in figures]


def commit_message(
    proposal: Proposal,
    incident: Incident | None,
    evidence: Evidence,
    *,
    target_path: str,
    by: str,
) -> str:
    """Subject, the decision and its numbers, then the trailers that make pushes idempotent."""
    lines = [
        f"safedeploy: {headline(proposal, target_path)}",
        "",
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
        "",
        trailers.trailer(trailers.PROPOSAL, proposal.id),
        trailers.trailer(trailers.INCIDENT, incident.id)
        if incident
        else trailers.trailer(trailers.RELEASE, proposal.release or ""),
        "",
    ]
    return "\n".join(lines)


def _block(title: str, items: list[str]) -> list[str]:
    return [f"{title}:", *(f"  {item}" for item in items)] if items else []


def pull_request_title(proposal: Proposal, target_path: str) -> str:
    return f"[safedeploy] {headline(proposal, target_path)}"


def pull_request_body(
    proposal: Proposal,
    incident: Incident | None,
    evidence: Evidence,
    *,
    target_path: str,
    by: str,
    at: datetime,
    permalink: str | None = None,
) -> str:
    """`permalink`: the evidence README at the state-repository commit that holds it."""
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
    parts.append(_readme(evidence))
    files = [f"`{evidence.folder}{name}`" for name in sorted(evidence.documents)]
    parts += _section("Evidence files", files + list(evidence.problems))
    return "\n".join(parts).rstrip() + "\n"


def _section(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return ["", f"### {title}", "", *(f"- {item}" for item in items)]


def _readme(evidence: Evidence) -> str:
    if evidence.readme is None:
        return f"_No README.md in `{evidence.folder}`._"
    text = evidence.readme.strip()
    if len(text) > README_LIMIT:
        text = text[:README_LIMIT].rstrip() + f"\n\n_(cut; the full text is in {evidence.folder})_"
    # Quoted, so headings inside the README do not outrank this body's own.
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
