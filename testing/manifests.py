"""Checks on manifests shared by the tests: line diffs, the Argo Rollouts and
prometheus-operator CRDs."""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML

CRDS = Path(__file__).resolve().parent.parent / "tests" / "data" / "crds"
ROLLOUT_CRD = CRDS / "argo-rollouts-rollout-crd.yaml"
ANALYSIS_TEMPLATE_CRD = CRDS / "argo-rollouts-analysis-template-crd.yaml"
PROMETHEUS_RULE_CRD = CRDS / "prometheus-operator-prometheusrule-crd.yaml"


def changed_lines(before: str, after: str) -> list[str]:
    """The `+`/`-` lines of a unified diff without context: what an edit really changed."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("---", "+++")]


@cache
def crd_schema(crd_file: Path, kind: str) -> dict[str, Any]:
    """The openAPIV3Schema of a CRD, checked to be the kind the caller expects."""
    crd = YAML(typ="safe").load(crd_file.read_text(encoding="utf-8"))
    assert crd["spec"]["names"]["kind"] == kind, crd_file
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def rollout_schema() -> dict[str, Any]:
    return crd_schema(ROLLOUT_CRD, "Rollout")


@cache
def _rollout_validator() -> jsonschema.protocols.Validator:
    # jsonschema.validate checks the (large) CRD schema itself on every call; once is enough.
    schema = rollout_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def assert_valid_rollout(text: str) -> None:
    """The Rollout document of a manifest validates, through JSON as the API server sees it."""
    documents = [d for d in YAML(typ="safe").load_all(text) if d.get("kind") == "Rollout"]
    error = jsonschema.exceptions.best_match(
        _rollout_validator().iter_errors(json.loads(json.dumps(documents[0])))
    )
    if error is not None:
        raise error
