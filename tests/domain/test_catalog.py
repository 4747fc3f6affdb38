from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from ruamel.yaml import YAML

from safedeploy.domain.catalog import SLO, BrokenService, Catalog, Service, select, whole
from safedeploy.domain.durations import LONGEST, format_duration, parse_duration
from safedeploy.domain.selectors import parse_selector
from safedeploy.errors import BadInputError, CatalogError
from testing.builders import checkout_service, service_yaml


def _data() -> Any:
    return YAML(typ="safe").load(service_yaml())


def test_valid_service_parses_and_normalises_percent() -> None:
    service = Service.model_validate(_data())
    assert service.name == "checkout"
    assert [s.objective for s in service.spec.slos] == [0.999, 0.99]
    assert service.spec.slos[1].period == "30d"
    assert service.spec.slos[0].sli.kind == "availability"
    assert service.spec.slos[1].sli.kind == "latency"


@pytest.mark.parametrize("objective", [0, 1, 100, -0.5, 150])
def test_objective_outside_the_open_interval_is_refused(objective: float) -> None:
    data = _data()
    data["spec"]["slos"][0]["objective"] = objective
    with pytest.raises(ValidationError):
        Service.model_validate(data)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("metadata", "name"), "../../etc/passwd"),
        (("metadata", "name"), ".hidden"),
        (("metadata", "name"), "a/b"),
        (("metadata", "name"), "Checkout"),
        (("spec", "slos", 0, "name"), "avail..ability/x"),
        (("spec", "deployment", "strategy"), "rolling"),
        (("spec", "deployment", "steps"), [50, 20, 100]),
        (("spec", "deployment", "steps"), [20, 50]),
        (("spec", "target", "path"), "../outside.yaml"),
        (("spec", "target", "path"), "/etc/passwd"),
        (("spec", "target", "kind"), "cronjob"),
        (("spec", "rollback", "strategy"), "pray"),
        (("spec", "slos"), []),
        (("spec", "slos", 0, "period"), "400d"),
        (("spec", "slos", 0, "period"), "thirty days"),
        (("spec", "slos", 0, "min_events"), 0),
        (("spec", "slos", 0, "sli", "errors"), 'http_requests_total{service="x"} or vector(1)'),
        (("spec", "slos", 0, "sli", "total"), 'http_requests_total{service="a\\"}"}'),
        (("spec", "slos", 0, "sli", "total"), 'http_requests_total{service="a}"}'),
        (("spec", "slos", 0, "sli", "errors"), 'http_requests_total{code=~"5(."}'),
        (("spec", "slos", 1, "sli", "histogram"), "http_request_duration_seconds_bucket"),
        (("spec", "policy"), {"max_burn_rate": -1}),
        (("spec", "policy"), {"budget_safety_margin": 1.5}),
    ],
)
def test_each_structural_rule_has_a_breaking_fixture(
    path: tuple[str | int, ...], value: object
) -> None:
    data = _data()
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ValidationError):
        Service.model_validate(data)


@pytest.mark.parametrize(
    "missing",
    [("metadata", "owner"), ("spec", "rollback"), ("spec", "deployment"), ("spec", "slos")],
)
def test_required_parts_of_the_structural_policy(missing: tuple[str, str]) -> None:
    data = _data()
    del data[missing[0]][missing[1]]
    with pytest.raises(ValidationError) as info:
        Service.model_validate(data)
    assert any(tuple(e["loc"]) == missing for e in info.value.errors())


def test_latency_threshold_must_be_a_listed_bucket() -> None:
    data = _data()
    data["spec"]["slos"][1]["sli"]["buckets"] = [0.1, 0.25, 0.5]
    with pytest.raises(ValidationError, match="not a bucket bound"):
        Service.model_validate(data)


def test_sli_must_be_exactly_one_kind() -> None:
    data = _data()
    data["spec"]["slos"][0]["sli"]["threshold"] = 0.3
    with pytest.raises(ValidationError, match="either"):
        Service.model_validate(data)


def test_duplicate_slo_names_are_refused() -> None:
    data = _data()
    data["spec"]["slos"][1]["name"] = "availability"
    with pytest.raises(ValidationError, match="used twice"):
        Service.model_validate(data)


def _row(**fields: object) -> dict[str, object]:
    return {"severity": "fast-burn", "long": "1h", "short": "5m", "factor": 14.4, **fields}


NAN = float("nan")
INF = float("inf")


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda d: d["spec"]["slos"][0].update(alerts=[_row(factor=INF)]), "factor", "finite"),
        (lambda d: d["spec"]["slos"][0].update(alerts=[_row(factor=NAN)]), "factor", "finite"),
        (lambda d: d["spec"]["slos"][0].update(alerts=[_row(factor=5000)]), "factor", "1000"),
        (lambda d: d["spec"].update(policy={"max_burn_rate": INF}), "max_burn_rate", "finite"),
        (lambda d: d["spec"].update(policy={"max_burn_rate": NAN}), "max_burn_rate", "finite"),
        (lambda d: d["spec"].update(policy={"budget_safety_margin": NAN}), "margin", "finite"),
        (lambda d: d["spec"]["slos"][0].update(min_events=10**38), "min_events", "1000000000"),
        (lambda d: d["spec"]["slos"][0].update(objective=NAN), "objective", "finite"),
        (lambda d: d["spec"]["slos"][1]["sli"].update(threshold=INF), "threshold", "finite"),
        (lambda d: d["spec"]["slos"][1]["sli"].update(threshold=1e9), "threshold", "86400"),
        (lambda d: d["spec"]["deployment"].update(canary_window="30d"), "canary_window", "1d"),
        (lambda d: d["spec"].update(policy={"freeze": "3650d"}), "freeze", "90d"),
        (lambda d: d["spec"].update(policy={"mitigation_timeout": "0m"}), "timeout", "zero"),
    ],
)
def test_numbers_that_would_switch_detection_off_are_refused(
    edit: Any, field: str, message: str
) -> None:
    data = _data()
    edit(data)
    with pytest.raises(ValidationError) as refused:
        Service.model_validate(data)
    assert field in str(refused.value) and message in str(refused.value)


def test_a_factor_no_burn_rate_can_reach_is_refused() -> None:
    """At 99.9% every event failing is a burn rate of 1000: a row at 1000 never fires."""
    data = _data()
    data["spec"]["slos"][0]["alerts"] = [_row(factor=999), _row(factor=1000)]
    with pytest.raises(ValidationError, match=r"alerts\[1\]\.factor 1000 can never be exceeded"):
        Service.model_validate(data)
    data["spec"]["slos"][0]["alerts"] = [_row(factor=999)]
    assert Service.model_validate(data).spec.slos[0].highest_burn_rate == pytest.approx(1000)


def test_a_promotion_limit_no_burn_rate_can_reach_is_refused() -> None:
    data = _data()
    data["spec"]["slos"][1]["objective"] = 0.9  # every request failing burns at 10
    data["spec"]["policy"] = {"max_burn_rate": 10}
    with pytest.raises(ValidationError, match=r"SLO 'latency'.*never be blocked"):
        Service.model_validate(data)


def test_an_alert_window_longer_than_the_period_is_refused() -> None:
    data = _data()
    data["spec"]["slos"][0]["alerts"] = [_row(long="60d", short="1h")]
    with pytest.raises(ValidationError, match=r"alerts\[0\]\.long 60d is longer than the period"):
        Service.model_validate(data)


def test_a_histogram_may_list_its_inf_bucket() -> None:
    data = _data()
    data["spec"]["slos"][1]["sli"]["buckets"] = [0.1, 0.3, INF]
    assert Service.model_validate(data).spec.slos[1].sli.buckets == (0.1, 0.3, INF)


def test_unknown_field_is_refused() -> None:
    data = _data()
    data["spec"]["slos"][0]["objectve"] = 0.99
    with pytest.raises(ValidationError, match="objectve"):
        Service.model_validate(data)


def test_burn_rate_override_needs_short_inside_long() -> None:
    data = _data()
    data["spec"]["slos"][0]["alerts"] = [
        {"severity": "fast-burn", "long": "5m", "short": "1h", "factor": 14.4}
    ]
    with pytest.raises(ValidationError, match="shorter"):
        Service.model_validate(data)


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from("smhdw"))
def test_duration_round_trip(amount: int, unit: str) -> None:
    seconds = amount * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    if seconds > LONGEST:
        with pytest.raises(ValueError, match="longer than ten years"):
            parse_duration(f"{amount}{unit}")
        return
    assert parse_duration(f"{amount}{unit}") == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["3651d", "99999999999999999999d", "1" * 40 + "s"])
def test_absurd_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"ten years|not a duration"):
        parse_duration(text)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_selector_parse_render_round_trip_or_clean_error(value: str) -> None:
    text = f'm{{service="{value}"}}'
    try:
        selector = parse_selector(text)
    except ValueError:
        return
    assert parse_selector(selector.render()) == selector
    assert selector.equality("service") == value


def test_slo_objective_percent_equivalence() -> None:
    base = _data()["spec"]["slos"][0]
    assert (
        SLO.model_validate({**base, "objective": 99.9}).objective
        == SLO.model_validate({**base, "objective": 0.999}).objective
    )


def test_select_refuses_a_broken_service_unless_partial() -> None:
    broken = BrokenService(name="payments", violations=("services/payments.yaml:5: x: y",))
    catalog = Catalog(services=(checkout_service(),), broken=(broken,))
    assert select(catalog, ["checkout"]) == [catalog.services[0]]
    for names in ([], ["payments"], ["checkout", "payments"]):
        with pytest.raises(CatalogError) as refused:
            select(catalog, names)
        assert refused.value.violations == ["services/payments.yaml:5: x: y"]
        expected = [] if names == ["payments"] else list(catalog.services)
        assert select(catalog, names, partial=True) == expected
        assert catalog.broken_among(names) == (broken,)
    assert catalog.broken_among(["checkout"]) == ()
    with pytest.raises(BadInputError, match="unknown service 'search'"):
        select(catalog, ["search"], partial=True)
    with pytest.raises(CatalogError):
        whole(catalog)
