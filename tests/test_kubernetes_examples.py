"""The Kubernetes examples: valid against Kubernetes' own schemas, and the sharded one runs.

The schemas are the standalone strict JSON schemas generated from the Kubernetes 1.30
OpenAPI document (tests/data/kubernetes/SOURCES.md): "strict" refuses any field Kubernetes
does not know, so a misspelt `completions` fails here instead of being dropped by the API
server. The sharded CronJob's script is then run, every index at once, as the Indexed Job
would run it, against a real bare state repository.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from safedeploy.demo import story
from safedeploy.domain.shards import shard_of
from safedeploy.usecases.audit_replay import verify
from safedeploy.usecases.context import Context
from safedeploy.usecases.reconcile import reconcile
from safedeploy.usecases.report import report
from testing.cli import REPO_ROOT, safedeploy_executable
from testing.shards import audit_lines, decided_state
from testing.state_repo import StateRepoFixture, clone

SCHEMAS = REPO_ROOT / "tests" / "data" / "kubernetes"
SHARDED = REPO_ROOT / "examples" / "kubernetes" / "reconcile-shards.yaml"
EXAMPLES = (SHARDED, REPO_ROOT / "examples" / "cronjob.yaml")
SCHEMA_FILES = {
    ("batch/v1", "CronJob"): "cronjob-batch-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "Secret"): "secret-v1.json",
}
SHARD_ARGUMENT = re.compile(r'--shard "\$\{JOB_COMPLETION_INDEX\}/(\d+)"')


@cache
def schema(api_version: str, kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / SCHEMA_FILES[api_version, kind]).read_text())
    return loaded


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in YAML(typ="safe").load_all(path.read_text("utf-8")) if d]


def problems(document: dict[str, Any]) -> list[str]:
    found = schema(document["apiVersion"], document["kind"])
    # `$schema` names no draft ("http://json-schema.org/schema#"); the generator writes draft 7.
    validator = jsonschema.Draft7Validator(found)
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_document_is_valid_kubernetes(path: Path) -> None:
    found = documents(path)
    assert {(d["apiVersion"], d["kind"]) for d in found} == set(SCHEMA_FILES)
    for document in found:
        assert problems(document) == [], document["kind"]


def the(kind: str) -> dict[str, Any]:
    [found] = [d for d in documents(SHARDED) if d["kind"] == kind]
    return found


def test_the_schema_refuses_what_kubernetes_would_not_take() -> None:
    """The check has teeth: a misspelt field and a wrong type are both caught."""
    cronjob = the("CronJob")
    misspelt = copy.deepcopy(cronjob)
    job = misspelt["spec"]["jobTemplate"]["spec"]
    job["completion"] = job.pop("completions")
    assert any("'completion' was unexpected" in p for p in problems(misspelt))
    wrong = copy.deepcopy(cronjob)
    wrong["spec"]["jobTemplate"]["spec"]["parallelism"] = "4"
    assert any(p.startswith("spec.jobTemplate.spec.parallelism") for p in problems(wrong))


def shard_script() -> tuple[str, int]:
    """The container's shell script and the number of shards its `--shard` names."""
    job = the("CronJob")["spec"]["jobTemplate"]["spec"]
    [container] = job["template"]["spec"]["containers"]
    assert container["command"] == ["/bin/sh", "-ec"]
    [script] = container["args"]
    [count] = SHARD_ARGUMENT.findall(script)
    return script, int(count)


def test_the_indexed_job_runs_one_shard_per_index() -> None:
    job = the("CronJob")["spec"]["jobTemplate"]["spec"]
    script, count = shard_script()
    assert job["completionMode"] == "Indexed"
    assert job["completions"] == job["parallelism"] == count
    assert "--push" in script
    # Configuration from the ConfigMap, the token from the Secret, by name and key.
    [container] = job["template"]["spec"]["containers"]
    [source] = container["envFrom"]
    assert source == {"configMapRef": {"name": the("ConfigMap")["metadata"]["name"]}}
    secret = the("Secret")
    refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e]
    assert refs == [{"name": secret["metadata"]["name"], "key": "GITHUB_TOKEN"}]
    assert "GITHUB_TOKEN" in secret["stringData"]
    assert not [v for v in the("ConfigMap")["data"] if "TOKEN" in v]
    variables = set(re.findall(r"\$\{?([A-Z_]+)", script)) - {"JOB_COMPLETION_INDEX"}
    assert variables <= set(the("ConfigMap")["data"]), variables


@pytest.mark.soak
def test_every_index_of_the_job_at_once_leaves_one_runs_state(
    state_repo: StateRepoFixture, tmp_path: Path
) -> None:
    """The script as the pods run it, all indexes at once against one remote: their
    pushes race, and together they leave what one unsharded run leaves."""
    script, count = shard_script()
    at = story.END.isoformat()
    bin_dir = str(Path(safedeploy_executable()).parent)
    pods = []
    for index in range(count):
        pod = tmp_path / f"pod-{index}"
        pod.mkdir()
        # The pod's /state volume is this test's folder; --at pins the instant for all.
        text = script.replace("/state", str(pod)).replace("--push", f"--push --at {at}")
        environ = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "HOME": str(pod),
            "STATE_REPO_URL": str(state_repo.origin),
            "STATE_BRANCH": "main",
            "JOB_COMPLETION_INDEX": str(index),
        }
        pods.append(
            subprocess.Popen(
                ["/bin/sh", "-ec", text],
                cwd=pod,
                env=environ,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=120) for p in pods]
    whole = clone(state_repo, tmp_path / "whole")
    expected = reconcile(Context(whole), story.END, []).exit_code
    codes = [p.returncode for p in pods]
    assert max(codes) == expected, outputs
    assert all("push" in out.splitlines()[-1] for out, _ in outputs), outputs
    fresh = clone(state_repo, tmp_path / "fresh")
    assert verify(Context(fresh)).ok
    assert decided_state(fresh) == decided_state(whole)
    assert audit_lines(fresh) == audit_lines(whole)
    assert report(Context(fresh)) == report(Context(whole))
    # Each shard that decided a service pushed its own summary; an empty shard's run
    # changed nothing but telemetry, which makes no commit.
    owners = {
        shard_of(name, count) for name in (s.service for s in report(Context(whole)).services)
    }
    shards = sorted(os.listdir(fresh / "control-plane" / "state" / "shards"))
    assert shards == sorted(f"{i}-of-{count}" for i in owners)
