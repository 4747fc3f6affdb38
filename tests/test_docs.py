"""The documentation and the examples are checked against the code they describe.

README.md's first two bash blocks are what a newcomer and CI run; every `safedeploy ...`
named in README.md and docs/ must be a real command; every configuration key and service
field the docs name must exist; the example environment repository must be what the
example services point at and what Argo Rollouts accepts; the example CronJob must run
reconcile, one run at a time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel
from ruamel.yaml import YAML

from safedeploy.adapters import manifests
from safedeploy.adapters.audit import KEY_VARIABLE
from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.settings import Settings, environment_names
from safedeploy.domain.catalog import Deployment, Policy, Rollback, Target
from safedeploy.domain.images import is_tag
from testing.cli import REPO_ROOT, run
from testing.manifests import rollout_schema

README = REPO_ROOT / "README.md"
CI_RUN = REPO_ROOT / ".ci" / "run"
DOCS = REPO_ROOT / "docs"
DOC_NAMES = (
    "architecture.md",
    "slo-design.md",
    "burn-rate-alerts.md",
    "runbook.md",
    "targets.md",
    "scaling.md",
)
ENV_REPO = REPO_ROOT / "examples" / "env-repo"
CRONJOB = REPO_ROOT / "examples" / "cronjob.yaml"

FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
BASH_BLOCK = re.compile(r"```bash\n(.*?)```", re.S)  # exactly what .ci/run matches


def documents() -> list[Path]:
    return [README, *(DOCS / name for name in DOC_NAMES)]


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


# --- (a) the README's two commands and .ci/run ---------------------------------------------


def test_readme_first_bash_block_runs_the_demo_and_the_second_the_tests() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = BASH_BLOCK.findall(text)
    assert len(blocks) >= 2, "README.md needs the demo command and the test command"
    demo, tests = blocks[0], blocks[1]
    assert re.search(r"\bsafedeploy demo\b", demo), demo
    assert "pytest" not in demo
    assert re.search(r"\bpytest\b", tests), tests
    assert "safedeploy demo" not in tests
    # Every fenced block before the second bash block is either a bash block or a diagram
    # (no language): nothing a reader could mistake for the commands to run.
    fenced = code_blocks(text)
    bash_seen = 0
    for language, body in fenced:
        if language == "bash":
            bash_seen += 1
            if bash_seen == 2:
                assert body == tests
                break
        else:
            assert language == "", f"a ```{language} block comes before the test command"
    # Each command is one line: what is copied is what runs.
    assert demo.strip().count("\n") == 0
    assert tests.strip().count("\n") == 0


def test_ci_run_executes_the_second_readme_bash_block() -> None:
    script = CI_RUN.read_text(encoding="utf-8")
    assert os.stat(CI_RUN).st_mode & stat.S_IXUSR, ".ci/run must be executable"
    assert 'open("README.md"' in script
    assert "blocks[1]" in script
    assert 'bash -euo pipefail -c "$command"' in script
    snippet = re.search(r"<<'PY'\n(.*?)\nPY\n", script, re.S)
    assert snippet is not None, ".ci/run no longer reads the README with a Python snippet"
    assert BASH_BLOCK.pattern in snippet.group(1), "the snippet and this test disagree"


FAKE_README = """\
# fake

```
a diagram, not a command
```

```yaml
key: value
```

```bash
echo first-block
```

```bash
echo second-block && echo still-second
```

```bash
echo third-block
```
"""


def test_ci_run_extraction_picks_the_second_bash_block(tmp_path: Path) -> None:
    """Run .ci/run itself on a fake README, with the final `bash -c` replaced by a print."""
    script = CI_RUN.read_text(encoding="utf-8")
    execute = 'bash -euo pipefail -c "$command"'
    assert script.count(execute) == 1
    (tmp_path / ".ci").mkdir()
    fake_run = tmp_path / ".ci" / "run"
    fake_run.write_text(script.replace(execute, 'printf "RAN<%s>" "$command"'), encoding="utf-8")
    (tmp_path / "README.md").write_text(FAKE_README, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        ["bash", str(fake_run)],
        cwd=elsewhere,  # the script must find README.md from its own location
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "RAN<echo second-block && echo still-second>" in done.stdout
    assert "first-block" not in done.stdout.split("RAN<", 1)[1]
    assert "third-block" not in done.stdout


def test_ci_run_snippet_on_the_real_readme_gives_the_test_command() -> None:
    """The extraction, not the command: the real test command is never run here."""
    snippet = re.search(r"<<'PY'\n(.*?)\nPY\n", CI_RUN.read_text(encoding="utf-8"), re.S)
    assert snippet is not None
    done = subprocess.run(
        [sys.executable, "-"],
        input=snippet.group(1),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == BASH_BLOCK.findall(README.read_text("utf-8"))[1].strip()


# --- (b) every `safedeploy <command>` in the docs exists ----------------------------------

INVOCATION = re.compile(r"\bsafedeploy((?:[ \t]+[^\s`|;&)]+)+)")
WORD = re.compile(r"^[a-z][a-z0-9-]*$")
COMMAND_LANGUAGES = {"", "bash", "sh", "shell", "console", "text"}


def invocations(text: str) -> set[tuple[str, ...]]:
    """Command paths (`("slo", "status")`) of `safedeploy ...` in code spans and blocks."""
    pieces: list[str] = []
    for language, body in code_blocks(text):
        if language in COMMAND_LANGUAGES:
            pieces += [line.split(" #", 1)[0] for line in body.splitlines()]
    prose = FENCE.sub("", text)
    pieces += re.findall(r"`([^`\n]+)`", prose)
    found: set[tuple[str, ...]] = set()
    for piece in pieces:
        for match in INVOCATION.finditer(piece):
            words = match.group(1).split()
            path = _command_path(words)
            if path:
                found.add(path)
    return found


def _command_path(words: list[str]) -> tuple[str, ...]:
    """The command words after `safedeploy`, skipping the global `--state DIR`."""
    path: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--state":
            index += 2
            continue
        if word.startswith("-") or not WORD.match(word):
            break
        path.append(word)
        if len(path) == 2 or path[0] not in command_groups():
            break
        index += 1
    return tuple(path)


@cache
def command_groups() -> frozenset[str]:
    from typer.main import get_command

    from safedeploy.cli.app import app

    root: Any = get_command(app)
    return frozenset(name for name, cmd in root.commands.items() if hasattr(cmd, "commands"))


@cache
def help_exit_code(path: tuple[str, ...]) -> int:
    return run(*path, "--help", cwd=REPO_ROOT, timeout=60).code


def test_every_document_exists() -> None:
    for document in documents():
        assert document.is_file(), f"{document.relative_to(REPO_ROOT)} is missing"


def test_invocations_are_collected_from_spans_and_blocks() -> None:
    text = (
        "Run `safedeploy --state /srv/state slo status --json` or:\n\n"
        "```bash\nsafedeploy reconcile --push  # safedeploy frobnicate in a comment\n```\n\n"
        "```yaml\nnote: safedeploy ignores this\n```\n"
        "In prose safedeploy never counts; `safedeploy.toml` and `safedeploy --help` neither.\n"
    )
    assert invocations(text) == {("slo", "status"), ("reconcile",)}


def test_an_unknown_command_fails_its_help() -> None:
    assert help_exit_code(("frobnicate",)) != 0
    assert help_exit_code(("slo", "frobnicate")) != 0


@pytest.mark.parametrize("document", documents(), ids=lambda p: p.name)
def test_every_safedeploy_command_in_the_docs_exists(document: Path) -> None:
    if not document.is_file():
        pytest.fail(f"{document.relative_to(REPO_ROOT)} is missing")
    found = invocations(document.read_text(encoding="utf-8"))
    assert found, f"{document.name} names no safedeploy command"
    missing = sorted(" ".join(p) for p in found if help_exit_code(p) != 0)
    assert not missing, f"{document.name}: no such command: {missing}"


def test_the_docs_name_the_commands_they_are_about() -> None:
    named = set().union(*(invocations(d.read_text("utf-8")) for d in documents()))
    for path in [
        ("demo",),
        ("reconcile",),
        ("replay",),
        ("audit", "verify"),
        ("generate", "rules"),
        ("gate",),
        ("approve",),
        ("reject",),
        ("slo", "status"),
    ]:
        assert path in named, f"the docs never show `safedeploy {' '.join(path)}`"


# --- configuration keys and service fields named in the docs ------------------------------

SECTIONS: dict[str, type[BaseModel]] = {
    name: field.annotation  # type: ignore[misc]
    for name, field in Settings.model_fields.items()
}
SPEC_PARTS: dict[str, type[BaseModel]] = {
    "deployment": Deployment,
    "policy": Policy,
    "target": Target,
    "rollback": Rollback,
}
FILE_SUFFIXES = {"py", "md", "yaml", "yml", "json", "toml", "log", "rego"}
DOTTED = re.compile(r"^(?:spec\.)?([a-z_]+)\.([a-z_]+)(?:\s*=.*)?$")


def test_configuration_keys_and_service_fields_in_the_docs_exist() -> None:
    checked = 0
    for document in documents()[1:]:
        prose = FENCE.sub("", document.read_text(encoding="utf-8"))
        for span in re.findall(r"`([^`\n]+)`", prose):
            match = DOTTED.match(span.strip())
            if match is None:
                continue
            section, key = match.groups()
            model = SECTIONS.get(section) or SPEC_PARTS.get(section)
            if model is None or key in FILE_SUFFIXES:  # `policy.py` is a file, not a key
                continue
            checked += 1
            assert key in model.model_fields, f"{document.name}: `{span}` does not exist"
    assert checked >= 5, "the docs name hardly any configuration key"


def test_environment_variables_in_the_docs_exist() -> None:
    known = {*environment_names(), "SAFEDEPLOY_STATE", KEY_VARIABLE}
    for document in [*documents(), CRONJOB]:
        for name in set(re.findall(r"\bSAFEDEPLOY_[A-Z_]+\b", document.read_text("utf-8"))):
            assert name in known, f"{document.name}: {name} is read by nothing"


# --- (c) the example environment repository ----------------------------------------------


def example_rollout() -> dict[str, Any]:
    text = (ENV_REPO / "apps" / "checkout" / "rollout.yaml").read_text(encoding="utf-8")
    [document] = list(YAML(typ="safe").load_all(text))
    # Through JSON: what the API server would receive.
    loaded: dict[str, Any] = json.loads(json.dumps(document))
    return loaded


def test_example_rollout_validates_against_the_crd_schema() -> None:
    rollout = example_rollout()
    assert rollout["apiVersion"] == "argoproj.io/v1alpha1"
    assert rollout["kind"] == "Rollout"
    jsonschema.validate(rollout, rollout_schema())


def test_the_crd_schema_would_refuse_a_broken_rollout() -> None:
    rollout = example_rollout()
    rollout["spec"]["strategy"]["canary"]["steps"][0]["setWeight"] = "twenty"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rollout, rollout_schema())


def test_example_rollout_canary_is_20_50_100_with_pauses() -> None:
    steps = example_rollout()["spec"]["strategy"]["canary"]["steps"]
    weights = [s["setWeight"] for s in steps if "setWeight" in s]
    assert weights == [20, 50, 100]
    kinds = [next(iter(s)) for s in steps]
    assert kinds == ["setWeight", "pause", "setWeight", "pause", "setWeight"]


@pytest.fixture(scope="module")
def example_services() -> dict[str, Any]:
    catalog = load_catalog([REPO_ROOT / "services"])
    return {service.name: service for service in catalog.services}


def test_example_services_each_point_at_a_file_of_the_example_env_repo(
    example_services: dict[str, Any],
) -> None:
    kinds = {name: s.spec.target.kind for name, s in example_services.items()}
    assert kinds == {"checkout": "rollout", "payments": "helm", "search": "kustomize"}
    rollout = example_services["checkout"]
    assert list(rollout.spec.deployment.steps) == [20, 50, 100]


@pytest.mark.parametrize("name", ["checkout", "payments", "search"])
def test_example_manifests_are_read_and_edited_for_their_service(
    name: str, example_services: dict[str, Any]
) -> None:
    target = example_services[name].spec.target
    text = (ENV_REPO / target.path).read_text(encoding="utf-8")
    version = manifests.read_version(text, target)
    assert is_tag(version), version
    # A rollback to another tag changes exactly one line and reads back.
    edited = manifests.set_version(text, target, "0.9.9")
    changed = [
        (a, b) for a, b in zip(text.splitlines(), edited.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 1, changed
    assert manifests.read_version(edited, target) == "0.9.9"


def test_example_kustomization_resources_exist() -> None:
    kustomization = YAML(typ="safe").load(
        (ENV_REPO / "apps" / "search" / "kustomization.yaml").read_text(encoding="utf-8")
    )
    for resource in kustomization["resources"]:
        assert (ENV_REPO / "apps" / "search" / resource).is_file(), resource


# --- (d) the example CronJob ---------------------------------------------------------------


def cronjob_documents() -> list[dict[str, Any]]:
    return [d for d in YAML(typ="safe").load_all(CRONJOB.read_text("utf-8")) if d]


def the_cronjob() -> dict[str, Any]:
    [cronjob] = [d for d in cronjob_documents() if d.get("kind") == "CronJob"]
    return cronjob


def test_cronjob_runs_one_reconcile_at_a_time_every_minute() -> None:
    cronjob = the_cronjob()
    assert cronjob["apiVersion"] == "batch/v1"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert cronjob["spec"]["schedule"] == "* * * * *"


def _command_words(container: dict[str, Any]) -> list[str]:
    words: list[str] = []
    for part in [*container.get("command", []), *container.get("args", [])]:
        words += shlex.split(part) if " " in part else [part]
    return words


def test_cronjob_runs_safedeploy_reconcile_with_real_options() -> None:
    pod = the_cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    commands = [_command_words(c) for c in pod["containers"]]
    reconcile = [w for w in commands if "safedeploy" in w and "reconcile" in w]
    assert len(reconcile) == 1, commands
    words = reconcile[0]
    after = words[words.index("reconcile") + 1 :]
    assert "--push" in after
    help_text = run("reconcile", "--help", cwd=REPO_ROOT, timeout=60).stdout
    for option in (w for w in after if w.startswith("--")):
        assert option in help_text, f"safedeploy reconcile has no {option}"
    # The state directory is cloned before reconcile runs.
    init_scripts = " ".join(" ".join(_command_words(c)) for c in pod.get("initContainers", []))
    assert "git clone" in init_scripts


def test_cronjob_takes_the_token_from_a_secret_and_prometheus_from_config() -> None:
    documents_by_kind = {d["kind"]: d for d in cronjob_documents()}
    pod = the_cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    secret_refs = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
    config_refs = [
        e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e
    ]
    secret = documents_by_kind["Secret"]
    config = documents_by_kind["ConfigMap"]
    assert secret["metadata"]["name"] in secret_refs
    assert "GITHUB_TOKEN" in secret.get("stringData", secret.get("data", {}))
    assert config["metadata"]["name"] in config_refs
    assert "SAFEDEPLOY_PROMETHEUS_URL" in config["data"]
    # No token in the ConfigMap or written into a command line.
    assert "GITHUB_TOKEN" not in config["data"]
    assert "x-access-token:" not in CRONJOB.read_text("utf-8")
