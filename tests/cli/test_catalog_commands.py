from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from testing.builders import service_yaml, write_service
from testing.cli import REPO_ROOT, Runner, tree_snapshot


def test_validate_the_repository_catalog(cli: Runner) -> None:
    result = cli("validate", cwd=REPO_ROOT)
    assert result.code == 0, result.stderr
    assert "3 services valid" in result.stdout
    for name in ("checkout", "payments", "search"):
        assert name in result.stdout


def test_validate_json(cli: Runner) -> None:
    result = cli("--state", str(REPO_ROOT), "validate", "--json")
    assert result.code == 0
    data = json.loads(result.stdout)
    assert {s["service"] for s in data["services"]} == {"checkout", "payments", "search"}
    checkout = next(s for s in data["services"] if s["service"] == "checkout")
    assert checkout["objectives"] == [0.999, 0.99]
    assert checkout["target_kind"] == "rollout"


def test_validate_reports_every_violation_and_exits_2(cli: Runner, tmp_path: Path) -> None:
    services = tmp_path / "services"
    write_service(
        services, "checkout", service_yaml().replace("objective: 0.999", "objectve: 0.999")
    )
    write_service(services, "search", service_yaml("search").replace("kind: rollout", "kind: k8s"))
    (services / "empty.yaml").write_text("")
    before = tree_snapshot(tmp_path)
    result = cli("validate")
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith("services/checkout.yaml:")
    assert any(x == "services/empty.yaml:1: (file): the file is empty" for x in lines)
    assert any(x.startswith("services/search.yaml:") and "spec.target.kind" in x for x in lines)
    assert result.stdout == ""
    assert tree_snapshot(tmp_path) == before


def _alias_bomb() -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("passwd.yaml", service_yaml().replace("name: checkout", "name: ../../etc/passwd")),
        ("checkout.yaml", service_yaml().replace('service="checkout"}', 'service="x\\"}"}', 1)),
        ("checkout.yaml", _alias_bomb()),
        ("checkout.yaml", "\udcff"),
    ],
)
def test_hostile_files_get_one_line_and_exit_2(
    cli: Runner, tmp_path: Path, name: str, content: str
) -> None:
    services = tmp_path / "services"
    services.mkdir()
    (services / name).write_bytes(content.encode("utf-8", "surrogateescape"))
    result = cli("validate")
    assert result.code == 2
    assert len(result.stderr.strip().splitlines()) >= 1
    assert all(line.startswith(f"services/{name}:") for line in result.stderr.strip().splitlines())
    assert "Traceback" not in result.stderr


def test_validate_missing_path(cli: Runner) -> None:
    result = cli("validate", "nowhere")
    assert result.code == 2
    assert "nowhere: no such file or directory" in result.stderr


def test_init_creates_a_valid_state_dir_and_refuses_to_overwrite(
    cli: Runner, tmp_path: Path
) -> None:
    target = tmp_path / "state"
    first = cli("init", str(target))
    assert first.code == 0, first.stderr
    for sub in ("services", "incidents", "action-proposals", "evidence", "audit"):
        assert (target / sub).is_dir()
    config = (target / "safedeploy.toml").read_text()
    assert "[prometheus]" in config and config.count("#") > 10
    assert cli("--state", str(target), "validate").code == 0
    before = tree_snapshot(target)
    second = cli("init", str(target))
    assert second.code == 2
    assert "already exists" in second.stderr
    assert tree_snapshot(target) == before


def test_version_and_help(cli: Runner) -> None:
    assert cli("--version").stdout.strip().startswith("safedeploy ")
    help_text = cli("--help").stdout
    assert "validate" in help_text and "--state" in help_text


def test_state_from_environment(cli: Runner, tmp_path: Path) -> None:
    result = cli("validate", env={"SAFEDEPLOY_STATE": str(REPO_ROOT)})
    assert result.code == 0


def test_no_colour_off_a_tty(cli: Runner) -> None:
    result = cli("validate", cwd=REPO_ROOT, env={"NO_COLOR": "", "TERM": "xterm-256color"})
    assert "\x1b[" not in result.stdout


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["validate", "--help"]])
def test_help_does_not_import_heavy_adapters(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from safedeploy.cli.app import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('github', 'git', 'jsonschema', 'httpx', 'ruamel.yaml') "
        "if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "HEAVY="
