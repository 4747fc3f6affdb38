from __future__ import annotations

from pathlib import Path

import pytest

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.errors import BadInputError
from safedeploy.generators.openslo import Deployment, import_openslo
from testing.cli import REPO_ROOT, tree_snapshot

DATA = REPO_ROOT / "tests" / "data" / "openslo"


def test_imports_the_slis_the_catalog_writes_by_hand(tmp_path: Path) -> None:
    out = tmp_path / "services"
    written = import_openslo(
        [DATA / "checkout.yaml", DATA / "search.yaml"], out, Deployment(container="checkout")
    )
    assert sorted(p.name for p in written) == ["checkout.yaml", "search.yaml"]
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
        assert service.spec.target.path == f"apps/{name}/rollout.yaml"
        assert service.spec.target.kind == "rollout"
    checkout = imported.get("checkout")
    assert checkout is not None and checkout.spec.target.container == "checkout"


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
        (
            'query: http_requests_total{service="checkout", code=~"5.."}',
            'query: sum(rate(http_requests_total{code=~"5.."}[5m]))',
            "spec.ratioMetric.bad.metricSource.spec.query",
        ),
        ("counter: true", "counter: false", "spec.ratioMetric.counter"),
        ("apiVersion: openslo/v1\nkind: SLI", "apiVersion: openslo/v1alpha\nkind: SLI",
         "apiVersion"),
        ("indicatorRef: checkout-errors", "indicatorRef: nowhere", "spec.indicatorRef"),
        ("    - targetPercent: 99", "    - target: 0.99\n    - target: 0.9", "spec.objectives"),
        ("    - targetPercent: 99", "    - targetPercent: 100", "objective"),
        ("duration: 28d", "duration: 1y", "spec.timeWindow[0].duration"),
    ],
)  # fmt: skip
def test_what_cannot_be_mapped_is_refused_naming_file_and_field(
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
    assert message.startswith(f"{source}: ")
    assert field in message
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
    with pytest.raises(BadInputError, match=r"spec\.objectives\[0\]\.op"):
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
