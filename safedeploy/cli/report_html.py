"""`safedeploy report --format html`: one self-contained page for every service.

Inline CSS and inline SVG only, no script, no font or image to fetch; a Content Security
Policy says so to the browser as well, so the page renders the same from a CI artifact, a
laptop or an air-gapped machine. Every text from the state directory is escaped, and only
http(s) links to pull requests and relative links to evidence files are made.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from html import escape
from pathlib import Path
from urllib.parse import quote, urlsplit

from safedeploy.cli.report_views import stale_line
from safedeploy.domain.durations import parse_duration
from safedeploy.domain.incidents import Transition
from safedeploy.domain.instants import format_instant
from safedeploy.usecases.report import ReportProposal, ReportService, ReportSLO
from safedeploy.usecases.report_page import EvidenceFolder, ReportPage, ServicePage

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"
BAR_WIDTH = 120
DECISION_CLASS = {"GREEN": "green", "RED": "red", "UNKNOWN": "unknown"}
STYLE = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --green: #1a7f37; --red: #cf222e; --amber: #9a6700; --paper: #ffffff; --wash: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--wash); color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
header { background: var(--ink); color: #ffffff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #d1d9e0; }
nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0 0;
  padding: 0; }
nav a { color: #ffffff; }
main { padding: 16px 32px 40px; max-width: 1200px; }
.service { background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
  margin: 16px 0; padding: 16px 20px; border-left: 6px solid var(--line); }
.service.red { border-left-color: var(--red); }
.service.green { border-left-color: var(--green); }
.service.unknown { border-left-color: var(--amber); }
.service h2 { margin: 0 0 4px; font-size: 19px; display: flex; gap: 10px;
  align-items: center; flex-wrap: wrap; }
.service h3 { font-size: 15px; margin: 16px 0 6px; }
.badge { display: inline-block; border-radius: 12px; padding: 1px 10px; font-size: 12px;
  font-weight: 600; color: #ffffff; background: var(--muted); }
.badge.green { background: var(--green); }
.badge.red { background: var(--red); }
.badge.unknown { background: var(--amber); }
.badge.severity { background: var(--wash); color: var(--ink); border: 1px solid var(--line); }
.meta { color: var(--muted); margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid var(--line);
  vertical-align: middle; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.num { font-variant-numeric: tabular-nums; }
td.over { color: var(--red); font-weight: 600; }
.budget { display: inline-flex; align-items: center; gap: 6px; }
ol.timeline { margin: 0; padding-left: 20px; }
ol.timeline li { margin: 2px 0; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: var(--wash); padding: 1px 4px; border-radius: 4px; }
a { color: #0969da; }
.none { color: var(--muted); }
"""


def evidence_base(state: Path, page: Path | None) -> str:
    """The state directory as seen from where the page is written (or the current one)."""
    where = page.parent if page is not None else Path()
    return Path(os.path.relpath(os.path.abspath(state), os.path.abspath(where))).as_posix()


def report_html(page: ReportPage, base: str) -> str:
    """The page; `base` prefixes every evidence link (see `evidence_base`)."""
    services = page.report.services
    red = sum(s.decision == "RED" for s in services)
    incidents = sum(s.incident is not None for s in services)
    when = format_instant(page.report.at) if page.report.at else "never"
    headline = (
        f"Last reconcile at {when}: {_count(len(services), 'service')}, {red} RED, "
        f"{_count(incidents, 'open incident')}."
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>safedeploy report: {escape(headline)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>safedeploy report</h1>",
        f"<p>{escape(headline)}</p>",
        "<nav><ul>",
        *(
            f'<li><a href="#service-{_attr(s.service)}">{escape(s.service)}</a> '
            f"{_badge(s.decision)}</li>"
            for s in services
        ),
        "</ul></nav>",
        "</header>",
        "<main>",
    ]
    if not services:
        parts.append('<p class="none">No service has been evaluated yet.</p>')
    for service_page in page.services:
        parts += _service(service_page, base)
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _service(page: ServicePage, base: str) -> list[str]:
    s = page.service
    decision = DECISION_CLASS.get(s.decision, "unknown")
    parts = [
        f'<section class="service {decision}" id="service-{_attr(s.service)}" '
        f'data-decision="{_attr(s.decision)}">',
        f"<h2>{escape(s.service)} {_badge(s.decision)} "
        f'<span class="badge severity">{escape(s.severity)}</span></h2>',
        f'<p class="meta">owner {escape(s.owner)} · evaluated '
        f"<time>{format_instant(s.evaluated_at)}</time> · budget left "
        f"{_percent(s.budget_remaining)}</p>",
        f'<p class="reason">{escape(s.reason)}</p>',
        f'<p class="release"><strong>Release {escape(s.decision)}</strong>: '
        f"{escape(s.decision_reason)}</p>",
    ]
    stale = stale_line(s)
    if stale is not None:
        parts.append(f'<p class="stale"><strong>Stale</strong>: {escape(stale)}</p>')
    if s.freeze_until is not None:
        parts.append(f"<p>Release freeze until <time>{format_instant(s.freeze_until)}</time>.</p>")
    parts += _slos(s.slos)
    parts += _incident(s, page.timeline)
    parts += _proposals(s.proposal_details)
    parts += _evidence(page.evidence, base)
    parts.append("</section>")
    return parts


def _slos(slos: list[ReportSLO]) -> list[str]:
    windows = sorted({w for slo in slos for w in slo.burn_rates}, key=parse_duration)
    parts = [
        "<h3>Error budget and burn rates</h3>",
        '<table class="slos"><thead><tr><th>SLO</th><th>objective</th><th>period</th>'
        "<th>severity</th><th>budget left</th>",
        *(f"<th>burn {escape(w)}</th>" for w in windows),
        "</tr></thead><tbody>",
    ]
    for slo in slos:
        cells = []
        for window in windows:
            rate = slo.burn_rates.get(window)
            # Over 1x, the budget runs out before the period ends.
            over = " over" if rate is not None and rate > 1 else ""
            cells.append(f'<td class="num{over}">{"-" if rate is None else f"{rate:.2f}x"}</td>')
        parts.append(
            f'<tr><td>{escape(slo.slo)}</td><td class="num">{slo.objective:.3%}</td>'
            f"<td>{escape(slo.period)}</td><td>{escape(slo.severity)}</td>"
            f"<td>{_budget_bar(slo.budget_remaining)}</td>{''.join(cells)}</tr>"
        )
    parts.append("</tbody></table>")
    return parts


def _budget_bar(remaining: float | None) -> str:
    """An inline bar of the budget left: green, amber under a quarter, red when spent."""
    if remaining is None:
        return '<span class="none">unknown</span>'
    share = min(max(remaining, 0.0), 1.0)
    color = "#1a7f37" if share >= 0.25 else "#9a6700" if share > 0 else "#cf222e"
    label = f"{_percent(remaining)} of the error budget left"
    return (
        f'<span class="budget"><svg width="{BAR_WIDTH}" height="12" role="img" '
        f'aria-label="{escape(label)}"><rect width="{BAR_WIDTH}" height="12" rx="3" '
        f'fill="#eaeef2"/><rect class="budget-left" width="{share * BAR_WIDTH:.1f}" '
        f'height="12" rx="3" fill="{color}"/></svg>{_percent(remaining)}</span>'
    )


def _incident(service: ReportService, timeline: tuple[Transition, ...]) -> list[str]:
    if service.incident is None:
        return ["<h3>Incident</h3>", '<p class="none">No open incident.</p>']
    parts = [
        f"<h3>Incident <code>{escape(service.incident)}</code> "
        f"({escape(service.incident_state or 'unknown')})</h3>"
    ]
    if not timeline:
        return [*parts, '<p class="none">The incident file could not be read.</p>']
    parts.append('<ol class="timeline">')
    for t in timeline:
        moved = f"{escape(t.from_state or '-')} &rarr; {escape(t.to_state)}"
        parts.append(
            f"<li><time>{format_instant(t.at)}</time> <strong>{escape(t.event)}</strong> "
            f"{moved} ({escape(t.severity)}) by {escape(t.actor)}: {escape(t.reason)}</li>"
        )
    parts.append("</ol>")
    return parts


def _proposals(proposals: list[ReportProposal]) -> list[str]:
    if not proposals:
        return []
    parts = ["<h3>Proposals</h3>", "<ul>"]
    for p in proposals:
        pull = f' · <a href="{_attr(p.pr_url)}">pull request</a>' if _is_web(p.pr_url) else ""
        parts.append(
            f"<li><code>{escape(p.id)}</code> {escape(p.kind or 'missing file')}, "
            f"{escape(p.status or 'unknown')}{pull}</li>"
        )
    parts.append("</ul>")
    return parts


def _evidence(folders: Iterable[EvidenceFolder], base: str) -> list[str]:
    items = []
    for found in folders:
        links = [
            f'<a href="{_href(base, found.folder, name)}">{escape(name)}</a>'
            for name in found.files
        ]
        items.append(f"<li><code>{escape(found.folder)}/</code>: {', '.join(links)}</li>")
    if not items:
        return []
    return ["<h3>Evidence</h3>", "<ul>", *items, "</ul>"]


def _href(base: str, folder: str, name: str) -> str:
    return _attr(quote(f"{base}/{folder}/{name}" if base != "." else f"{folder}/{name}"))


def _is_web(url: str | None) -> bool:
    return url is not None and urlsplit(url).scheme in ("http", "https")


def _badge(decision: str) -> str:
    return (
        f'<span class="badge {DECISION_CLASS.get(decision, "unknown")}">{escape(decision)}</span>'
    )


def _attr(text: str | None) -> str:
    return escape(text or "", quote=True)


def _percent(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.1%}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
