"""Every real OpenSLO and Sloth file of the corpus (tests/data/*/SOURCES.md), imported the
way a new user would: the files that import write services `safedeploy validate` accepts
and rules promtool accepts; every other file is refused for the reason `outcomes.yaml`
records, word for word, naming its document and field."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.errors import BadInputError
from safedeploy.generators.analysis import render_templates
from safedeploy.generators.imports import Deployment, Imported, People
from safedeploy.generators.openslo import import_openslo
from safedeploy.generators.rules import render_rules
from safedeploy.generators.sloth import import_sloth
from testing.cli import REPO_ROOT
from testing.manifests import ANALYSIS_TEMPLATE_CRD, crd_schema
from testing.prometheus import PROMTOOL

DATA = REPO_ROOT / "tests" / "data"
CORPORA = ("openslo", "sloth")
PEOPLE = People(owner="corpus-team", approvers=("corpus-approver",))
Importer = Callable[[list[Path], Path, Deployment, People | None], Imported]


def corpus(name: str) -> list[Path]:
    root = DATA / name / "corpus"
    return sorted(p for p in root.rglob("*") if p.is_file())


def outcomes(name: str) -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = YAML(typ="safe").load(
        (DATA / name / "outcomes.yaml").read_text(encoding="utf-8")
    )
    return loaded


def importer(name: str, file: Path) -> Importer:
    """What a user would run: `import openslo` for OpenSLO files, `import sloth` otherwise."""
    if name == "openslo" or "apiVersion: openslo/" in file.read_text(encoding="utf-8"):
        return import_openslo
    return import_sloth


def outcome(name: str, file: Path, out: Path) -> dict[str, Any]:
    try:
        result = importer(name, file)([file], out, Deployment(), PEOPLE)
    except BadInputError as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert message.startswith(str(file)), message
        for leak in ("(input)", "('", "None is not"):
            assert leak not in message, message
        return {"refused": message.removeprefix(f"{file}: ")}
    return {"imports": sorted(p.stem for p in result.written)}


@pytest.mark.parametrize("name", CORPORA)
def test_every_corpus_file_imports_or_is_refused_for_its_recorded_reason(
    name: str, tmp_path: Path
) -> None:
    files = corpus(name)
    expected = outcomes(name)
    root = DATA / name / "corpus"
    assert sorted(expected) == [str(f.relative_to(root)) for f in files]
    found = {}
    for index, file in enumerate(files):
        found[str(file.relative_to(root))] = outcome(name, file, tmp_path / str(index))
    assert found == expected
    imported = sum("imports" in o for o in found.values())
    print(f"\n{name} corpus: {imported} of {len(files)} files import")
    # Not a corpus of refusals: the Prometheus ratio SLOs on an Occurrences budget import.
    assert imported == {"openslo": 3, "sloth": 33}[name]


def imported_services(tmp_path: Path) -> list[Any]:
    services = []
    for name in CORPORA:
        for index, file in enumerate(corpus(name)):
            out = tmp_path / name / str(index)
            try:
                importer(name, file)([file], out, Deployment(), PEOPLE)
            except BadInputError:
                continue
            services.extend(load_catalog([out]).services)  # what `safedeploy validate` runs
    return services


def test_what_imports_gives_rules_promtool_accepts_and_valid_analysis(tmp_path: Path) -> None:
    services = imported_services(tmp_path)
    assert len(services) == 42  # from 36 files: several hold two services
    schema = crd_schema(ANALYSIS_TEMPLATE_CRD, "AnalysisTemplate")
    validator = jsonschema.validators.validator_for(schema)(schema)  # checked once, not 42 times
    for document in YAML(typ="safe").load_all(render_templates(services, "http://prom:9090")):
        validator.validate(document)
    if not PROMTOOL.exists():
        pytest.skip("promtool is not installed")
    # Services of the same name from different files: one rule file each.
    files = []
    for index, service in enumerate(services):
        path = tmp_path / f"{index}-{service.name}.rules.yaml"
        path.write_text(render_rules([service]), encoding="utf-8")
        files.append(str(path))
    done = subprocess.run(
        [str(PROMTOOL), "check", "rules", *files], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(services)


def test_sloths_duplicate_slos_across_files_are_refused_together(tmp_path: Path) -> None:
    pair = DATA / "sloth/corpus/slok/sloth/test/integration/prometheus/testdata"
    files = [pair / "validate_with_duplicates/prom/bad-prom-1-original.yaml",
             pair / "validate_with_duplicates/prom/bad-prom-1-duplicate.yaml"]  # fmt: skip
    with pytest.raises(BadInputError, match="SLO name 'slo1' is used twice"):
        import_sloth(files, tmp_path / "out", Deployment(), PEOPLE)
    assert not (tmp_path / "out").exists()
