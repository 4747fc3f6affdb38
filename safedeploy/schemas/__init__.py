"""Published JSON Schemas, generated from the pydantic models (never edited by hand).

`python -m safedeploy.schemas` regenerates them; a test fails when they drift.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from typing import Any

from safedeploy.errors import BadInputError


def _service() -> dict[str, Any]:
    from safedeploy.domain.catalog import Service

    schema = Service.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://safedeploy.dev/schemas/service.schema.json"
    return schema


def _report() -> dict[str, Any]:
    from safedeploy.usecases.report import Report

    schema = Report.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://safedeploy.dev/schemas/report.schema.json"
    return schema


GENERATORS: dict[str, Callable[[], dict[str, Any]]] = {"service": _service, "report": _report}


def render(name: str) -> str:
    return json.dumps(GENERATORS[name](), indent=2, sort_keys=True) + "\n"


def read_schema(name: str) -> str:
    if name not in GENERATORS:
        raise BadInputError(f"unknown schema {name!r}; known: {', '.join(sorted(GENERATORS))}")
    return (resources.files("safedeploy") / "schemas" / f"{name}.schema.json").read_text(
        encoding="utf-8"
    )


def write_all() -> None:
    folder = resources.files("safedeploy") / "schemas"
    for name in GENERATORS:
        with resources.as_file(folder / f"{name}.schema.json") as path:
            path.write_text(render(name), encoding="utf-8")


if __name__ == "__main__":
    write_all()
