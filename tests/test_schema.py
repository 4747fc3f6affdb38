from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.domain.catalog import Service
from safedeploy.schemas import read_schema, render
from testing.builders import service_yaml

SERVICES = Path(__file__).parents[1] / "services"


def test_published_schema_is_the_generated_one() -> None:
    assert read_schema("service") == render("service"), "run: python -m safedeploy.schemas"


def test_model_schema_round_trip_for_the_example_services() -> None:
    schema = json.loads(read_schema("service"))
    for service in load_catalog([SERVICES]).services:
        dumped = service.model_dump(mode="json", exclude_none=True)
        jsonschema.validate(dumped, schema)
        assert Service.model_validate(dumped).model_dump() == service.model_dump()


def test_files_validate_the_same_way_with_jsonschema() -> None:
    schema = json.loads(read_schema("service"))
    for file in SERVICES.glob("*.yaml"):
        jsonschema.validate(YAML(typ="safe").load(file.read_text()), schema)


def _row(**fields: object) -> dict[str, object]:
    return {"severity": "fast-burn", "long": "1h", "short": "5m", "factor": 14.4, **fields}


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["spec"]["slos"][0].update(objectve=0.9),
        lambda d: d["metadata"].pop("owner"),
        lambda d: d["spec"].pop("rollback"),
        lambda d: d["spec"]["deployment"].update(strategy="rolling"),
        lambda d: d["spec"].update(slos=[]),
        lambda d: d["spec"]["slos"][0].update(objective=100),
        # Numbers that would switch detection off: the bounds are in the schema too.
        lambda d: d["spec"]["slos"][0].update(objective=9.99),
        lambda d: d["spec"]["slos"][0].update(objective=999),
        lambda d: d["spec"]["slos"][0].update(objective=1.5),
        lambda d: d["spec"]["slos"][0].update(objective=0.0999),
        lambda d: d["spec"]["slos"][0].update(min_events=1e38),
        lambda d: d["spec"]["slos"][0].update(min_events=0),
        lambda d: d["spec"]["slos"][1]["sli"].update(threshold=float("inf")),
        lambda d: d["spec"].update(policy={"max_burn_rate": float("inf")}),
        lambda d: d["spec"].update(policy={"max_burn_rate": 1e6}),
        lambda d: d["spec"]["slos"][0].update(alerts=[_row(factor=float("inf"))]),
        lambda d: d["spec"]["slos"][0].update(alerts=[_row(factor=1e6)]),
        lambda d: d["spec"]["slos"][0].update(alerts=[_row(factor=0.01)]),
    ],
)
def test_schema_and_models_reject_the_same_broken_files(edit: object) -> None:
    schema = json.loads(read_schema("service"))
    data = YAML(typ="safe").load(service_yaml())
    edit(data)  # type: ignore[operator]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
    with pytest.raises(ValueError):
        Service.model_validate(data)


def test_packaged_example_services_are_the_repository_catalog() -> None:
    from safedeploy.adapters.templates import example_services

    shipped = example_services()
    on_disk = {f"services/{p.name}": p.read_text() for p in sorted(SERVICES.glob("*.yaml"))}
    assert shipped == on_disk
