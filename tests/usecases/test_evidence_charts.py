"""Evidence charts from the decision's own source: a real Prometheus and the embedded file
draw the same charts, their right edge is the decision, and `safedeploy demo` writes them
beside the evidence its README links."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from safedeploy.adapters.embedded_source import EmbeddedSource
from safedeploy.adapters.prometheus import PrometheusSource
from safedeploy.adapters.prometheus_http import PrometheusClient
from safedeploy.adapters.recorded_source import RecordedSource
from safedeploy.demo import story
from safedeploy.domain.catalog import Service
from safedeploy.domain.chart_series import POINTS, Figure
from safedeploy.domain.slo import evaluate, service_status
from safedeploy.domain.svg_charts import figure_svg
from safedeploy.usecases.evidence_charts import ChartSubject, charted
from safedeploy.usecases.slo_status import evaluate_services
from testing.builders import service_yaml
from testing.cli import Runner, tree_snapshot
from testing.prometheus import RunningPrometheus
from testing.svg import assert_same_chart, panels, title_and_description

IMAGE = re.compile(r"^!\[([^\]]+)\]\(([^)]+)\)$", re.M)


def service(name: str) -> Service:
    return Service.model_validate(YAML(typ="safe").load(service_yaml(name)))


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= max(1e-6, 1e-3 * max(abs(a), abs(b)))


@pytest.mark.prometheus
def test_prometheus_and_the_embedded_file_draw_the_same_charts(
    prometheus: RunningPrometheus,
) -> None:
    services = [service("checkout"), service("search")]
    opened_at = prometheus.at - timedelta(minutes=30)
    drawn: dict[str, list[list[Figure]]] = {}
    server = PrometheusSource(prometheus.url)
    embedded = EmbeddedSource.from_file(prometheus.history.path)
    for name, source in (("prometheus", server), ("embedded", embedded)):
        statuses = evaluate_services(services, source, prometheus.at)
        subjects = [
            ChartSubject(s, st, opened_at=opened_at)
            for s, st in zip(services, statuses, strict=True)
        ]
        drawn[name] = charted(source, subjects)
        # The right edge of every chart is the decision: checkout's 1h/5m panel ends on the
        # error ratios the evaluation at that instant gave.
        fast = drawn[name][0][0].panels[0]
        windows = statuses[0].slos[0].windows
        assert fast.lines[0].values[-1] == windows["1h"].error_ratio
        assert fast.lines[1].values[-1] == windows["5m"].error_ratio
    compared = 0
    for ours, theirs in zip(drawn["prometheus"], drawn["embedded"], strict=True):
        assert [f.file for f in ours] == [f.file for f in theirs]
        for mine, other in zip(ours, theirs, strict=True):
            for a, b in zip(mine.panels, other.panels, strict=True):
                assert a.grid == b.grid and a.thresholds == b.thresholds
                for line, twin in zip(a.lines, b.lines, strict=True):
                    assert all(map(close, line.values, twin.values)), (mine.file, line.label)
                    compared += sum(v is not None for v in line.values)
            structure = figure_svg(mine)
            assert_same_chart(structure, figure_svg(other), tolerance=0.5)
    # Two services, two SLOs, four pairs of two lines and a budget line, at every instant.
    assert compared >= 0.9 * 2 * 2 * (4 * 2 + 1) * POINTS


@pytest.mark.prometheus
def test_more_services_ask_for_no_more_ranges(prometheus: RunningPrometheus) -> None:
    requests = []
    for names in (["checkout"], ["checkout", "payments", "search", "inventory"]):
        services = [service(n) for n in names]
        source = PrometheusSource(prometheus.url)
        statuses = evaluate_services(services, source, prometheus.at)
        before = source.requests_made
        charted(source, [ChartSubject(s, st) for s, st in zip(services, statuses, strict=True)])
        requests.append(source.requests_made - before)
    # One query_range per grid and layout, over all its windows: (4 pairs + the budget)
    # grids, 2 layouts (errors and total, bucket and count) per SLO.
    assert requests[0] == requests[1] == 2 * (4 + 1) * 2


def test_a_source_without_history_draws_charts_that_say_so() -> None:
    checkout = service("checkout")
    at = story.END
    slos = tuple(evaluate("checkout", slo, {}, at) for slo in checkout.spec.slos)
    subject = ChartSubject(checkout, service_status("checkout", slos, at))
    [figures] = charted(RecordedSource(PrometheusClient("http://127.0.0.1:9")), [subject])
    assert len(figures) == 4
    notes = [p.note for f in figures for p in f.panels]
    assert len(notes) == 2 * (4 + 1)
    for note in notes:
        assert note is not None and note.startswith("no data: "), note
        assert (
            "recording rules in Prometheus at http://127.0.0.1:9: read one instant at a time, "
            "no history to chart" in note
        ), note


def test_the_demo_writes_the_charts_its_evidence_readme_shows(
    cli: Runner, demo_state: Path
) -> None:
    state = demo_state
    [folder] = (state / "evidence").iterdir()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    images = IMAGE.findall(readme)
    charts = sorted(p.name for p in folder.glob("*.svg"))
    assert (
        sorted(file for _, file in images)
        == charts
        == [
            "chart-availability-budget.svg",
            "chart-availability-burn-rates.svg",
            "chart-latency-budget.svg",
            "chart-latency-burn-rates.svg",
        ]
    )
    for alt, file in images:
        text = (folder / file).read_text(encoding="utf-8")
        title, description = title_and_description(text)
        assert title == alt
        assert description
        assert len(text.encode()) < 40_000
    # The right edge is the decision slo.json records; the threshold is factor x budget.
    slo = json.loads((folder / "slo.json").read_text())["slos"][0]
    fast = panels((folder / "chart-availability-burn-rates.svg").read_text())[0]
    long, short = fast.series
    assert (long.label, short.label) == ("1h window", "5m window")
    assert long.points == short.points == POINTS
    assert long.drawn[-1][1] == pytest.approx(
        fast.y_of(slo["windows"]["1h"]["error_ratio"]), abs=0.06
    )
    assert short.drawn[-1][1] == pytest.approx(
        fast.y_of(slo["windows"]["5m"]["error_ratio"]), abs=0.06
    )
    assert [v for v, _ in fast.thresholds] == [pytest.approx(14.4 * 0.001)]
    # The healthy start of the window is under the threshold, the end over it: the breach
    # is seen beginning.
    threshold_y = fast.thresholds[0][1]
    assert long.drawn[0][1] > threshold_y > long.drawn[-1][1]
    assert fast.markers == [json.loads((folder / "decision.json").read_text())["at"]]
    # A rerun at the decision's instant changes no chart.
    before = tree_snapshot(folder)
    again = cli("--state", str(state), "reconcile", "--at", "2026-11-01T12:00:00Z")
    assert again.code == 0, again.stderr
    assert tree_snapshot(folder) == before
