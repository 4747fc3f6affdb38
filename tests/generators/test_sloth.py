from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.domain.catalog import Service
from safedeploy.errors import BadInputError
from safedeploy.generators.imports import Deployment, Imported, People
from safedeploy.generators.rules import render_rules
from safedeploy.generators.sloth import import_sloth
from testing.cli import REPO_ROOT

SLOTH = REPO_ROOT / "tests/data/sloth/corpus/slok/sloth"
EXAMPLES = SLOTH / "examples"
PEOPLE = People(owner="team-x", approvers=("erin",))


def imported(tmp_path: Path, *files: Path) -> tuple[dict[str, Service], Imported]:
    out = tmp_path / "services"
    result = import_sloth(list(files), out, Deployment(), PEOPLE)
    catalog = load_catalog([out])  # what `safedeploy validate` runs
    return {s.name: s for s in catalog.services}, result


def test_getting_started_keeps_labels_alerting_and_owner(tmp_path: Path) -> None:
    services, result = imported(tmp_path, EXAMPLES / "getting-started.yml")
    service = services["myservice"]
    assert service.metadata.owner == "myteam"  # Sloth's owner label, over --owner
    assert service.metadata.approvers == ("erin",)
    assert service.metadata.labels == {"owner": "myteam", "repo": "myorg/myservice", "tier": "2"}
    [slo] = service.spec.slos
    assert (slo.name, slo.objective, slo.period) == ("requests-availability", 0.999, "30d")
    assert slo.sli.errors is not None and slo.sli.total is not None
    assert slo.sli.errors.render() == (
        'http_request_duration_seconds_count{job="myservice", code=~"(5..|429)"}'
    )
    assert slo.sli.total.render() == 'http_request_duration_seconds_count{job="myservice"}'
    assert slo.alerting.name == "MyServiceHighErrorRate"
    assert slo.alerting.page.labels == {"severity": "pageteam", "routing_key": "myteam"}
    assert slo.alerting.ticket.labels == {"severity": "slack", "slack_channel": "#alerts-myteam"}
    assert "myservice: no SLO period in Sloth specs: 30d rolling, Sloth's default" in result.notes


def rules_by_kind(service: Service) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    document = YAML(typ="safe").load(render_rules([service]))
    rules = [r for g in document["groups"] for r in g["rules"]]
    return [r for r in rules if "record" in r], [r for r in rules if "alert" in r]


def test_the_rules_of_an_imported_spec_carry_what_sloths_would(tmp_path: Path) -> None:
    """Labels and alerts as in Sloth's own output for this example
    (slok/sloth examples/_gen/getting-started.yml at the corpus commit)."""
    services, _ = imported(tmp_path, EXAMPLES / "getting-started.yml")
    records, alerts = rules_by_kind(services["myservice"])
    five_minutes = next(r for r in records if r["record"] == "slo:sli_error:ratio_rate5m")
    assert (
        five_minutes["labels"].items()
        >= {
            "owner": "myteam",
            "repo": "myorg/myservice",
            "tier": "2",
            "sloth_id": "myservice-requests-availability",
            "sloth_service": "myservice",
            "sloth_slo": "requests-availability",
            "sloth_window": "5m",
        }.items()
    )
    page, ticket = alerts
    assert page["alert"] == ticket["alert"] == "MyServiceHighErrorRate"
    assert (
        page["labels"].items()
        >= {
            "category": "availability",
            "routing_key": "myteam",
            "severity": "pageteam",
            "sloth_severity": "page",
        }.items()
    )
    assert (
        ticket["labels"].items()
        >= {
            "category": "availability",
            "severity": "slack",
            "slack_channel": "#alerts-myteam",
            "sloth_severity": "ticket",
        }.items()
    )
    assert page["annotations"]["summary"] == "High error rate on 'myservice' requests responses"


def test_raw_ratios_latency_differences_and_disabled_alerts(tmp_path: Path) -> None:
    services, _ = imported(tmp_path, SLOTH / "test/integration/prometheus/testdata/in-base.yaml")
    raw = services["svc01"].spec.slos[1]
    assert raw.name == "slo02" and raw.objective == 0.95
    assert raw.sli.errors is not None
    assert raw.sli.errors.render() == (
        'http_request_duration_seconds_count{job="myservice", code=~"(5..|429)"}'
    )
    _, alerts = rules_by_kind(services["svc01"])
    assert {a["labels"]["slo"] for a in alerts} == {"slo1"}  # slo02 disables both
    services, _ = imported(tmp_path / "k8s", EXAMPLES / "kubernetes-apiserver.yml")
    latency = services["k8s-apiserver"].spec.slos[1]
    assert latency.sli.histogram is not None
    assert latency.sli.histogram.render() == 'apiserver_request_duration_seconds{verb!="WATCH"}'
    assert latency.sli.threshold == 0.4


def test_both_spellings_and_the_kubernetes_resource(tmp_path: Path) -> None:
    services, _ = imported(tmp_path, EXAMPLES / "k8s-getting-started.yml")
    k8s = services["myservice"]
    plain, _ = imported(tmp_path / "plain", EXAMPLES / "getting-started.yml")
    assert k8s.spec.slos == plain["myservice"].spec.slos
    assert k8s.metadata == plain["myservice"].metadata


SPEC = """\
version: prometheus/v1
service: web
slos:
  - name: availability
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
"""


def refused(tmp_path: Path, text: str) -> str:
    source = tmp_path / "spec.yaml"
    source.write_text(text)
    with pytest.raises(BadInputError) as raised:
        import_sloth([source], tmp_path / "out", Deployment(), PEOPLE)
    assert not (tmp_path / "out").exists()
    message = str(raised.value)
    assert message.startswith(f"{source}: ") and "\n" not in message
    return message.removeprefix(f"{source}: ")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("objective: 99.5", "objective: 100", "slos[0].objective: 100 is not inside (0, 100)"),
        ("        total_query:", "        totl_query:",
         "slos[0].sli.events.totl_query: unknown field; supported: error_query, total_query"),
        ('sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
         'sum by (code) (rate(http_requests_total{code=~"5.."}[{{.window}}]))',
         "slos[0].sli.events.error_query: sum() by or without labels"),
        ("service: web", 'service: ""', "service: every Sloth spec names its service"),
        ("version: prometheus/v1", "version: prometheus/v2",
         "document 1: version 'prometheus/v2' is not supported; supported: version "
         "prometheus/v1 specs and sloth.slok.dev/v1 PrometheusServiceLevel resources"),
        ("      events:\n", "      plugin: {id: x}\n      events:\n",
         "slos[0].sli: plugin, events together; supported: one of events, raw"),
        (SPEC[SPEC.index("      events:"):], "      plugin: {id: getting_started_availability}\n",
         "slos[0].sli.plugin: SLI plugins are Sloth's own code"),
    ],
)  # fmt: skip
def test_what_cannot_be_mapped_is_refused(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in SPEC
    message = refused(tmp_path, SPEC.replace(old, new, 1))
    assert expected in message
    assert "supported" in message or "names its" in message


def test_openslo_is_sent_to_its_own_import(tmp_path: Path) -> None:
    text = (EXAMPLES / "openslo-getting-started.yml").read_text()
    assert "use `import openslo`" in refused(tmp_path, text)


def test_alert_windows_are_skipped_and_a_file_of_only_those_says_so(tmp_path: Path) -> None:
    windows = (EXAMPLES / "windows/7d.yaml").read_text()
    assert refused(tmp_path, windows) == (
        "no Sloth service level to import (found AlertWindows); supported: version "
        "prometheus/v1 specs and sloth.slok.dev/v1 PrometheusServiceLevel resources"
    )
    source = tmp_path / "both.yaml"
    source.write_text(SPEC + "---\n" + windows)
    result = import_sloth([source], tmp_path / "out", Deployment(), PEOPLE)
    assert [p.name for p in result.written] == ["web.yaml"]
    assert any("document 2 (AlertWindows): skipped" in note for note in result.notes)


def test_one_service_in_two_documents_must_agree_on_its_labels(tmp_path: Path) -> None:
    other = SPEC.replace("name: availability", "name: other").replace(
        "service: web", "service: web\nlabels: {tier: '1'}"
    )
    message = refused(tmp_path, SPEC + "---\n" + other)
    assert message.startswith("document 2 (prometheus/v1 web): labels: differ from those")
    # Two documents with the same SLO: the catalog refuses the second.
    assert "SLO name 'availability' is used twice" in refused(tmp_path, SPEC + "---\n" + SPEC)


def test_slo_plugins_are_noted(tmp_path: Path) -> None:
    _, result = imported(tmp_path, EXAMPLES / "contrib-denominator-corrected.yaml")
    assert (
        "svc01: plugin sloth.dev/contrib/denominator_corrected_rules/v1 skipped: Sloth "
        "plugins are Sloth's code"
    ) in result.notes
