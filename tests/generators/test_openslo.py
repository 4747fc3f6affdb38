from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.domain.catalog import Service
from safedeploy.errors import BadInputError
from safedeploy.generators.imports import Deployment, Imported, People
from safedeploy.generators.openslo import import_openslo
from testing.cli import REPO_ROOT, tree_snapshot

DATA = REPO_ROOT / "tests" / "data" / "openslo"
SLOTH_EXAMPLES = REPO_ROOT / "tests/data/sloth/corpus/slok/sloth/examples"
PEOPLE = People(owner="team-x", approvers=("erin",))


def test_imports_the_slis_the_catalog_writes_by_hand(tmp_path: Path) -> None:
    out = tmp_path / "services"
    result = import_openslo(
        [DATA / "checkout.yaml", DATA / "search.yaml"], out, Deployment(container="checkout")
    )
    assert sorted(p.name for p in result.written) == ["checkout.yaml", "search.yaml"]
    imported = load_catalog([out])  # what `safedeploy validate` runs
    by_hand = load_catalog([REPO_ROOT / "services"])
    for name in ("checkout", "search"):
        service, reference = imported.get(name), by_hand.get(name)
        assert service is not None and reference is not None
        assert [(s.name, s.objective, s.period) for s in service.spec.slos] == [
            (s.name, s.objective, s.period) for s in reference.spec.slos
        ]
        assert [s.sli.model_dump(exclude={"buckets"}) for s in service.spec.slos] == [
            s.sli.model_dump(exclude={"buckets"}) for s in reference.spec.slos
        ]
        assert service.metadata.owner == reference.metadata.owner
        assert service.metadata.approvers == reference.metadata.approvers
        assert service.spec.target.path == f"apps/{name}/rollout.yaml"
        assert service.spec.target.kind == "rollout"
    checkout = imported.get("checkout")
    assert checkout is not None and checkout.spec.target.container == "checkout"
    assert "search: owner team-discovery from metadata.labels.owner of SLO availability" in (
        result.notes
    )


def test_target_options(tmp_path: Path) -> None:
    deployment = Deployment(
        target_kind="kustomize", target_path="envs/prod/<name>/kustomization.yaml", image="reg/x"
    )
    import_openslo([DATA / "search.yaml"], tmp_path, deployment)
    service = load_catalog([tmp_path]).get("search")
    assert service is not None
    assert service.spec.target.path == "envs/prod/search/kustomization.yaml"
    assert service.spec.target.image == "reg/x"


CHECKOUT = (DATA / "checkout.yaml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("budgetingMethod: Occurrences", "budgetingMethod: Timeslices", "spec.budgetingMethod"),
        ("isRolling: true", "isRolling: false", "spec.timeWindow[0]"),
        ("type: Prometheus", "type: Datadog", "spec.ratioMetric.bad.metricSource.type"),
        ("    owner: team-payments\n", "    tier: one\n", "metadata.labels.owner"),
        ("    approvers: [alice, bob]\n", "", "metadata.labels.approvers"),
        (
            'query: http_requests_total{service="checkout", code=~"5.."}',
            'query: sum_over_time(http_requests_total{code=~"5.."}[5m])',
            "spec.ratioMetric.bad.metricSource.spec.query",
        ),
        ("counter: true", "counter: false", "spec.ratioMetric.total.metricSource.spec.query"),
        ("apiVersion: openslo/v1\nkind: SLI", "apiVersion: openslo.com/v2alpha\nkind: SLI",
         "apiVersion"),
        ("indicatorRef: checkout-errors", "indicatorRef: nowhere", "spec.indicatorRef"),
        ("    - targetPercent: 99", "    - targetPercent: 99\n      timeSliceWindow: 1m",
         "spec.objectives[0]"),
        ("    - targetPercent: 99", "    - targetPercent: 100", "spec.objectives[0].targetPercent"),
        ("duration: 28d", "duration: 1y", "spec.timeWindow[0].duration"),
        ("duration: 28d", "duration: 1Y", "spec.timeWindow[0].duration"),
        ("duration: 28d", "duration: 12h", "spec.timeWindow[0].duration"),
    ],
)  # fmt: skip
def test_what_cannot_be_mapped_is_refused_naming_file_document_and_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    source = tmp_path / "in" / "slo.yaml"
    source.parent.mkdir()
    text = CHECKOUT.replace("duration: 30d", "duration: 28d", 1)
    assert old in text
    source.write_text(text.replace(old, new, 1))
    out = tmp_path / "services"
    with pytest.raises(BadInputError) as raised:
        import_openslo([source], out, Deployment())
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{source}: document ")
    assert f"): {field}: " in message
    assert "supported" in message or "required" in message or "pass --" in message, message
    assert "(input)" not in message and "('" not in message
    assert not out.exists()


def test_nothing_is_written_when_a_later_file_fails(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(CHECKOUT.replace("budgetingMethod: Occurrences", "budgetingMethod: X"))
    out = tmp_path / "services"
    out.mkdir()
    before = tree_snapshot(tmp_path)
    with pytest.raises(BadInputError, match="budgetingMethod"):
        import_openslo([DATA / "search.yaml", broken], out, Deployment())
    assert tree_snapshot(tmp_path) == before


def test_never_overwrites_a_service(tmp_path: Path) -> None:
    (tmp_path / "search.yaml").write_text("# mine\n")
    with pytest.raises(BadInputError, match="already exists"):
        import_openslo([DATA / "search.yaml"], tmp_path, Deployment())
    assert (tmp_path / "search.yaml").read_text() == "# mine\n"


def test_threshold_needs_lte(tmp_path: Path) -> None:
    source = tmp_path / "search.yaml"
    source.write_text((DATA / "search.yaml").read_text().replace("op: lte", "op: gt"))
    with pytest.raises(BadInputError, match=r"spec\.objectives\[0\]\.op: 'gt' cannot be mapped"):
        import_openslo([source], tmp_path / "out", Deployment())


def test_a_threshold_on_anything_but_histogram_buckets_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "search.yaml"
    text = (DATA / "search.yaml").read_text()
    source.write_text(text.replace("http_request_duration_seconds_bucket", "request_latency"))
    with pytest.raises(BadInputError, match=r"threshold on request_latency cannot be mapped"):
        import_openslo([source], tmp_path / "out", Deployment())


@pytest.mark.parametrize(
    ("deployment", "option"),
    [
        (Deployment(target_kind="k8s"), "--target-kind"),
        (Deployment(target_kind="kustomize"), "--image"),
        (Deployment(target_path="../outside/{name}.yaml"), "--target-path"),
    ],
)
def test_bad_target_options_name_the_option(
    tmp_path: Path, deployment: Deployment, option: str
) -> None:
    with pytest.raises(BadInputError) as raised:
        import_openslo([DATA / "search.yaml"], tmp_path / "out", deployment)
    assert str(raised.value).startswith(f"{option}: ")
    assert not (tmp_path / "out").exists()


SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: web
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
  indicator:
    metadata: {name: web-ok}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource: {metricSourceRef: prom, spec: {query: 'http_requests_total{code!~"5.."}'}}
        total:
          metricSource: {metricSourceRef: prom, spec: {query: http_requests_total}}
"""
DATA_SOURCE = """\
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec: {type: Prometheus, connectionDetails: [{url: "http://prometheus:9090"}]}
"""
ALERT_POLICY = """\
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: page-me}
spec: {alertWhenBreaching: true, conditions: [{conditionRef: fast}]}
"""


def imported(tmp_path: Path, text: str, people: People = PEOPLE) -> tuple[Service, Imported]:
    source = tmp_path / "in.yaml"
    source.write_text(text)
    result = import_openslo([source], tmp_path / "services", Deployment(), people)
    [path] = result.written
    service = Service.model_validate(YAML(typ="safe").load(path.read_text()))
    return service, result


def test_other_kinds_are_skipped_and_a_prometheus_data_source_is_the_metric_source(
    tmp_path: Path,
) -> None:
    service, result = imported(tmp_path, SLO + DATA_SOURCE + ALERT_POLICY)
    [slo] = service.spec.slos
    assert slo.sli.errors is not None and slo.sli.errors.render() == (
        'http_requests_total{code=~"5.."}'
    )
    skipped = [n for n in result.notes if "skipped" in n]
    assert len(skipped) == 1
    assert skipped[0].endswith(
        "document 3 (AlertPolicy page-me): skipped: only Service, SLO, SLI, DataSource "
        "documents map to the catalog"
    )
    # No timeWindow: 30 days rolling, and the output says so.
    assert slo.period == "30d"
    assert "web: SLO availability: no timeWindow: 30d rolling, the default" in result.notes


def test_a_metric_source_without_a_prometheus_type_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(SLO)
    with pytest.raises(BadInputError, match=r"metricSource\.type: missing, and metricSourceRef "
                       r"'prom' names no DataSource"):  # fmt: skip
        import_openslo([source], tmp_path / "out", Deployment(), PEOPLE)
    source.write_text(SLO + DATA_SOURCE.replace("Prometheus", "Datadog"))
    with pytest.raises(BadInputError, match=r"'Datadog' cannot be mapped; supported: Prometheus"):
        import_openslo([source], tmp_path / "out", Deployment(), PEOPLE)


@pytest.mark.parametrize(
    ("duration", "period", "note"),
    [("1w", "7d", False), ("2w", "14d", False), ("4w", "28d", False), ("1M", "30d", True),
     ("90d", "90d", False)],
)  # fmt: skip
def test_duration_shorthands_per_the_spec(
    tmp_path: Path, duration: str, period: str, note: bool
) -> None:
    window = f"  timeWindow: [{{duration: {duration}, isRolling: true}}]\n"
    service, result = imported(
        tmp_path, SLO.replace("  objectives:", window + "  objectives:") + DATA_SOURCE
    )
    assert service.spec.slos[0].period == period
    assert any(f"{duration} read as {period} rolling" in n for n in result.notes) == note


def test_owner_lists_labels_and_the_command_line(tmp_path: Path) -> None:
    labelled = SLO.replace(
        "metadata: {name: availability}",
        "metadata: {name: availability, labels: {team: [team-a, team-b], approvers: [ann]}}",
    )
    service, result = imported(tmp_path, labelled + DATA_SOURCE)
    # The file's owners win over --owner; the first of a list is the owner.
    assert service.metadata.owner == "team-a"
    assert service.metadata.approvers == ("ann",)
    owner_note = "web: owner team-a from metadata.labels.team of SLO availability"
    assert f"{owner_note} (the first of team-a, team-b)" in result.notes


def test_without_owner_or_approvers_the_options_are_named(tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(SLO + DATA_SOURCE)
    with pytest.raises(BadInputError, match=r"metadata\.labels\.owner: no owner for service web; "
                       r"label it owner \(or team\), or pass --owner"):  # fmt: skip
        import_openslo([source], tmp_path / "out", Deployment())
    with pytest.raises(BadInputError, match=r"nobody could approve proposals for service web"):
        import_openslo([source], tmp_path / "out", Deployment(), People(owner="team-x"))


def test_every_objective_is_an_slo(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        apiVersion: openslo/v1
        kind: SLO
        metadata: {name: latency}
        spec:
          service: web
          budgetingMethod: Occurrences
          timeWindow: [{duration: 28d, isRolling: true}]
          indicator:
            metadata: {name: fast}
            spec:
              thresholdMetric:
                metricSource:
                  type: Prometheus
                  spec: {query: 'http_request_duration_seconds_bucket{job="web"}'}
          objectives:
            - {op: lte, value: 0.3, target: 0.99}
            - {op: lt, value: 1, targetPercent: 99.9}
        """)
    service, _ = imported(tmp_path, text)
    assert [(s.name, s.objective, s.sli.threshold) for s in service.spec.slos] == [
        ("latency-0", 0.99, 0.3),
        ("latency-1", 0.999, 1.0),
    ]


def test_v1alpha_as_sloth_writes_it(tmp_path: Path) -> None:
    result = import_openslo(
        [SLOTH_EXAMPLES / "openslo-kubernetes-apiserver.yml"], tmp_path, Deployment(), PEOPLE
    )
    service = load_catalog([tmp_path]).get("k8s-apiserver")
    assert service is not None
    assert [(s.name, s.objective, s.period) for s in service.spec.slos] == [
        ("requests-availability-openslo-0", 0.999, "30d"),
        ("requests-latency-openslo-0", 0.99, "30d"),
        ("requests-latency-openslo-1", 0.999, "30d"),
    ]
    availability, fast, slow = service.spec.slos
    assert availability.sli.errors is not None
    assert availability.sli.errors.render() == 'apiserver_request_total{code=~"(5..|429)"}'
    assert (fast.sli.threshold, slow.sli.threshold) == (0.4, 5.0)
    assert result.written == [tmp_path / "k8s-apiserver.yaml"]


def test_a_v1alpha_calendar_window_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    text = (SLOTH_EXAMPLES / "openslo-getting-started.yml").read_text()
    source.write_text(text.replace("unit: Day", "unit: Day\n      calendar: {timeZone: UTC}"))
    with pytest.raises(BadInputError, match=r"document 1 \(SLO sloth-slo-my-service\): "
                       r"spec\.timeWindows\[0\]: calendar windows cannot be mapped"):  # fmt: skip
        import_openslo([source], tmp_path / "out", Deployment(), PEOPLE)


def test_a_file_without_slos_says_what_it_holds(tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(DATA_SOURCE + ALERT_POLICY)
    with pytest.raises(BadInputError) as raised:
        import_openslo([source], tmp_path / "out", Deployment(), PEOPLE)
    assert str(raised.value) == (
        f"{source}: no SLO document to import (found DataSource prom, AlertPolicy page-me); "
        "an import needs at least one SLO"
    )


def test_what_cannot_map_is_said_before_who_owns_it(tmp_path: Path) -> None:
    """Asking for --owner would only lead to the next refusal: the SLO's own comes first."""
    source = tmp_path / "in.yaml"
    source.write_text(SLO.replace("budgetingMethod: Occurrences", "budgetingMethod: Timeslices"))
    with pytest.raises(BadInputError, match=r"spec\.budgetingMethod: 'Timeslices'"):
        import_openslo([source], tmp_path / "out", Deployment())
