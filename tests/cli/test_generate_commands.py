"""The generate and import commands, through a root app that carries `--state` the way
`safedeploy.cli.app` does, and through the installed command once it registers them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pytest
import typer
from ruamel.yaml import YAML
from typer.testing import CliRunner

from safedeploy.cli.generate_commands import register
from safedeploy.errors import SafedeployError
from testing.cli import REPO_ROOT, Runner, tree_snapshot

DATA = REPO_ROOT / "tests" / "data"


def root_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root(
        ctx: typer.Context,
        state: Annotated[Path, typer.Option("--state")] = Path("."),
    ) -> None:
        ctx.obj = state

    register(app)
    return app


def run(*args: str) -> tuple[int, str]:
    """Exit code and stdout, with expected errors mapped as `app.main` maps them."""
    result = CliRunner().invoke(root_app(), list(args))
    if isinstance(result.exception, SafedeployError):
        return result.exception.exit_code, str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_generate_rules_to_stdout_and_to_files(tmp_path: Path) -> None:
    code, out = run("--state", str(REPO_ROOT), "generate", "rules", "--service", "checkout")
    assert code == 0
    groups = YAML(typ="safe").load(out)["groups"]
    assert {g["name"] for g in groups} == {
        "safedeploy-checkout-sli-recordings",
        "safedeploy-checkout-meta-recordings",
        "safedeploy-checkout-alerts",
    }
    code, out = run("--state", str(REPO_ROOT), "generate", "rules", "--out-dir", str(tmp_path))
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkout.rules.yaml",
        "payments.rules.yaml",
        "search.rules.yaml",
    ]


def test_unknown_service_is_bad_input() -> None:
    code, message = run("--state", str(REPO_ROOT), "generate", "rules", "--service", "nope")
    assert code == 2
    assert "unknown service 'nope'" in message


def test_generate_dashboard(tmp_path: Path) -> None:
    code, out = run("--state", str(REPO_ROOT), "generate", "dashboard")
    assert code == 0
    assert json.loads(out)["uid"] == "safedeploy-slos"
    target = tmp_path / "board.json"
    code, _ = run("--state", str(REPO_ROOT), "generate", "dashboard", "--out", str(target))
    assert code == 0
    assert json.loads(target.read_text())["uid"] == "safedeploy-slos"


def test_generate_analysis_template() -> None:
    code, out = run(
        "--state", str(REPO_ROOT), "generate", "analysis-template", "--service", "search",
        "--address", "http://prom:9090",
    )  # fmt: skip
    assert code == 0
    documents = list(YAML(typ="safe").load_all(out))
    assert [d["metadata"]["name"] for d in documents] == ["search-canary-slos"]


def test_import_openslo_writes_into_the_state_services(tmp_path: Path) -> None:
    code, out = run(
        "--state", str(tmp_path), "import", "openslo",
        str(DATA / "openslo" / "search.yaml"), "--target-kind", "helm",
        "--target-path", "charts/{name}/values.yaml",
    )  # fmt: skip
    assert code == 0, out
    # The console wraps long lines under the test runner.
    assert f"created{tmp_path / 'services' / 'search.yaml'}" in "".join(out.split())
    written = (tmp_path / "services" / "search.yaml").read_text()
    assert "kind: helm" in written
    assert "path: charts/search/values.yaml" in written


def test_import_openslo_refusal_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "slo.yaml"
    broken.write_text(
        (DATA / "openslo" / "checkout.yaml").read_text().replace("isRolling: true", "isRolling: no")
    )
    before = tree_snapshot(tmp_path)
    code, message = run("--state", str(tmp_path), "import", "openslo", str(broken))
    assert code == 2
    assert message.startswith(f"{broken}: document 3 (SLO availability): spec.timeWindow[0]: ")
    assert tree_snapshot(tmp_path) == before


def test_import_sloth_with_owner_and_approvers_prints_its_notes(tmp_path: Path) -> None:
    spec = DATA / "sloth/corpus/slok/sloth/examples/kubernetes-apiserver.yml"
    code, out = run(
        "--state", str(tmp_path), "import", "sloth", str(spec),
        "--owner", "team-platform", "--approvers", "ann, bob",
    )  # fmt: skip
    assert code == 0, out
    assert "note: k8s-apiserver: owner team-platform from --owner" in out
    assert "note: k8s-apiserver: approvers ann, bob from --approvers" in out
    assert "note: k8s-apiserver: no SLO period in Sloth specs: 30d rolling" in out
    written = YAML(typ="safe").load((tmp_path / "services" / "k8s-apiserver.yaml").read_text())
    assert written["metadata"]["owner"] == "team-platform"
    assert written["metadata"]["approvers"] == ["ann", "bob"]
    code, message = run(
        "--state", str(tmp_path), "import", "sloth", str(spec), "--owner", "x", "--approvers", "y"
    )
    assert code == 2
    assert message.endswith("k8s-apiserver.yaml: already exists; import never overwrites a service")


def test_generate_rules_for_prometheus_operator(tmp_path: Path) -> None:
    code, out = run(
        "--state",
        str(REPO_ROOT),
        "generate",
        "rules",
        "--service",
        "search",
        "--format",
        "prometheus-operator",
    )
    assert code == 0
    [document] = YAML(typ="safe").load_all(out)
    assert document["kind"] == "PrometheusRule"
    code, message = run("--state", str(REPO_ROOT), "generate", "rules", "--format", "thanos")
    assert code == 2
    assert message.startswith("--format: 'thanos'")


def _wired() -> bool:
    from safedeploy.cli.app import app

    return any(group.name == "generate" for group in app.registered_groups)


@pytest.mark.skipif(not _wired(), reason="generate_commands.register(app) is not in app.py")
def test_installed_command(cli: Runner, tmp_path: Path) -> None:
    result = cli("--state", str(REPO_ROOT), "generate", "rules", "--out-dir", str(tmp_path))
    assert result.code == 0, result.stderr
    assert (tmp_path / "checkout.rules.yaml").exists()
    broken = tmp_path / "slo.yaml"
    broken.write_text((DATA / "openslo" / "checkout.yaml").read_text().replace("Occurrences", "X"))
    result = cli("--state", str(tmp_path), "import", "openslo", str(broken))
    assert result.code == 2
    assert "spec.budgetingMethod" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
