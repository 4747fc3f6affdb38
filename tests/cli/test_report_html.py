"""`safedeploy report --format html` after the demo, looked at in a real headless Chromium:
rendered (pixels, not a blank page), every service and decision on it, no console error,
no request but the page itself; and the page's text escaped, its links to evidence real."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from safedeploy.cli.report_html import report_html
from safedeploy.domain.incidents import open_incident
from safedeploy.usecases.report import Report, ReportProposal, ReportService, ReportSLO
from safedeploy.usecases.report_page import ReportPage, ServicePage
from testing.browser import Browser
from testing.cli import run
from testing.png import decode

DECISIONS = {"checkout": "RED", "payments": "GREEN", "search": "GREEN"}
# The badge colours of the page's CSS, as Chromium paints them.
RED, GREEN = (207, 34, 46), (26, 127, 55)
HOSTILE = '<script>alert("owned")</script><img src="http://example.com/x.png">'


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's state directory, and its report written to a folder of its own."""
    root = tmp_path_factory.mktemp("html-report")
    state = root / "state"
    done = run("demo", "--dir", str(state), cwd=root)
    assert done.code == 0, done.stderr
    out = root / "site" / "report.html"
    out.parent.mkdir()
    written = run("--state", str(state), "report", "--format", "html", "--out", str(out), cwd=root)
    assert written.code == 0, written.stderr
    assert written.stdout == ""
    return out


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.sources: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "href" and value is not None:
                self.hrefs.append(value)
            if name == "src" and value is not None:
                self.sources.append(value)


def links(text: str) -> Links:
    parser = Links()
    parser.feed(text)
    return parser


def test_the_page_renders_with_every_service_and_no_console_error(
    browser: Browser, page: Path
) -> None:
    visit = browser.visit(page.as_uri(), width=1280, height=1600)
    assert visit.errors == []
    # Self-contained: the only request is the page itself.
    assert visit.requests == [page.as_uri()]
    for service, decision in DECISIONS.items():
        assert f'id="service-{service}" data-decision="{decision}"' in visit.dom
        # The service's heading, as rendered: its name, then its decision's badge.
        assert re.search(rf"^{service}\n{decision}\n", visit.text, re.M), visit.text[:500]
    assert "Release RED: max-burn-rate: availability: 1h burn rate 100.00, limit 2" in visit.text
    assert "open - → detected (fast-burn) by safedeploy-reconcile" in visit.text
    assert (
        "propose-rollback detected → detected (fast-burn) by alice (identity not verified)"
        in visit.text
    )
    image = decode(visit.screenshot)
    assert (image.width, image.height) == (1280, 1600)
    colors = Counter(image.pixels)
    ((background, most),) = colors.most_common(1)
    assert most < 0.8 * len(image.pixels), f"{most} of {len(image.pixels)} pixels are {background}"
    assert len(colors) > 200  # text, bars and badges, antialiased
    # The badges and bars are painted: one RED decision, two GREEN ones and budget bars.
    assert colors[RED] > 300 and colors[GREEN] > 1_000, (colors[RED], colors[GREEN])
    # The header band is dark, the page below it light.
    assert sum(image.at(640, 10)) < 200 < sum(image.at(640, 1590))
    (page.parent / "report.png").write_bytes(visit.screenshot)


def test_the_page_fetches_nothing_and_links_real_evidence(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    found = links(text)
    assert found.sources == []
    assert not {"script", "img", "iframe", "object", "embed"} & set(found.tags)
    assert re.findall(r'<link [^>]*href="([^"]*)"', text) == ["data:,"]
    evidence = [h for h in found.hrefs if not h.startswith("#") and h != "data:,"]
    assert any(h.endswith("/README.md") for h in evidence)
    assert sum(h.endswith(".svg") for h in evidence) == 4
    for href in evidence:
        assert urlsplit(href).scheme == "", href
        target = page.parent / unquote(href)
        assert target.is_file(), href
    anchors = {h[1:] for h in found.hrefs if h.startswith("#")}
    assert anchors == {f"service-{s}" for s in DECISIONS}


AT = datetime(2026, 11, 1, 12, tzinfo=UTC)


def hostile_page() -> ReportPage:
    incident = open_incident(
        "checkout", "fast-burn", ("availability",), AT, actor="safedeploy-reconcile", reason=HOSTILE
    )
    service = ReportService(
        service="checkout",
        owner=HOSTILE,
        evaluated_at=AT,
        severity="fast-burn",
        reason=HOSTILE,
        decision="RED",
        decision_reason=HOSTILE,
        budget_remaining=-0.5,
        incident=incident.id,
        incident_state="detected",
        proposals=[],
        proposal_details=[
            ReportProposal(
                id="p1", kind="rollback-rollout", status="approved", pr_url="javascript:alert(1)"
            ),
            ReportProposal(
                id="p2",
                kind="rollback-rollout",
                status="approved",
                pr_url="https://github.com/acme/env/pull/7",
            ),
        ],
        freeze_until=None,
        slos=[
            ReportSLO(
                slo="availability",
                objective=0.999,
                period="30d",
                severity="exhausted",
                reason=HOSTILE,
                budget_remaining=-0.5,
                burn_rates={"1h": 3.0, "5m": None},
            )
        ],
    )
    return ReportPage(
        report=Report(at=AT, services=[service]),
        services=(ServicePage(service=service, timeline=incident.transitions, evidence=()),),
    )


def test_text_from_the_state_is_escaped_and_only_web_links_are_made() -> None:
    text = report_html(hostile_page(), ".")
    found = links(text)
    assert "script" not in found.tags and "img" not in found.tags
    assert found.sources == []
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in text
    assert "javascript:" not in text
    assert "https://github.com/acme/env/pull/7" in found.hrefs
    # A budget overspent draws an empty bar, not a negative one.
    assert 'class="budget-left" width="0.0"' in text
    assert re.search(r'<td class="num over">3.00x</td>', text)


def test_the_hostile_page_runs_nothing_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    page.write_text(report_html(hostile_page(), "."), encoding="utf-8")
    visit = browser.visit(page.as_uri(), width=1000, height=800)
    assert visit.errors == []
    assert visit.requests == [page.as_uri()]
    assert HOSTILE in visit.text  # shown as text, not run


def test_evidence_links_are_relative_to_where_the_page_is(page: Path) -> None:
    root = page.parent.parent
    printed = run("--state", "state", "report", "--format", "html", cwd=root)
    assert printed.code == 0, printed.stderr
    from_root = [h for h in links(printed.stdout).hrefs if "evidence/" in h]
    from_site = [h for h in links(page.read_text(encoding="utf-8")).hrefs if "evidence/" in h]
    assert from_root and all(h.startswith("state/evidence/incident-checkout-") for h in from_root)
    assert from_site == [f"../{h}" for h in from_root]
    assert printed.stdout.replace('href="state/', 'href="../state/') == page.read_text("utf-8")
