"""`safedeploy validate --live` against the real Prometheus: every selector of every SLO,
a typo named at its file and line (exit 2), errors that never matched a note (exit 0), a
source that cannot answer leaves the check undone (exit 3)."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from testing.builders import service_yaml, write_service
from testing.cli import REPO_ROOT, Runner
from testing.prometheus import RunningPrometheus

pytestmark = pytest.mark.prometheus

AT = "2026-11-01T00:00:00Z"


def env(url: str) -> dict[str, str]:
    return {"SAFEDEPLOY_PROMETHEUS_URL": url}


def live(cli: Runner, url: str, *args: str) -> tuple[int, str]:
    result = cli("validate", "--live", "--at", AT, *args, env=env(url))
    return result.code, result.stdout + result.stderr


@pytest.fixture
def state(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "services", tmp_path / "services")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_the_example_catalog_matches_everywhere(
    cli: Runner, state: Path, prometheus: RunningPrometheus
) -> None:
    code, out = live(cli, prometheus.url)
    assert code == 0, out
    assert out.strip() == (
        f"12 selectors of 3 services against Prometheus at {prometheus.url} at {AT}: "
        "0 problems, 0 notes, 0 not checked"
    )


def test_every_typo_is_named_at_its_file_line_and_field(
    cli: Runner, state: Path, prometheus: RunningPrometheus
) -> None:
    services = state / "services"
    edit(
        services / "checkout.yaml",
        'errors: http_requests_total{service="checkout"',
        'errors: http_request_total{service="checkout"',
    )
    edit(services / "payments.yaml", 'code=~"5.."', 'status=~"5.."')
    edit(services / "search.yaml", "threshold: 0.3", "threshold: 0.25")
    code, out = live(cli, prometheus.url)
    assert code == 2, out
    lines = out.splitlines()
    assert lines[0] == (
        "services/checkout.yaml:25: spec.slos[0].sli.errors: "
        'http_request_total{service="checkout", code=~"5.."}: in the 30d before '
        f"{AT}, metric http_request_total has no series: typo?"
    )
    assert lines[1].startswith("services/payments.yaml:24: spec.slos[0].sli.errors: ")
    assert lines[1].endswith("no series of http_requests_total has a label status: typo?")
    assert "in the 28d before" in lines[1]  # payments' own period
    assert lines[2].startswith("services/search.yaml:30: spec.slos[1].sli.threshold: ")
    assert lines[2].endswith("is the threshold one of the histogram's bucket boundaries?")
    assert lines[3].endswith("3 problems, 0 notes, 0 not checked")


def test_errors_that_never_matched_are_a_note_not_a_problem(
    cli: Runner, tmp_path: Path, prometheus: RunningPrometheus
) -> None:
    text = service_yaml("inventory").replace('code=~"5.."', 'code="599"')
    write_service(tmp_path / "services", "inventory", text)
    code, out = live(cli, prometheus.url, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["valid"] is True and data["selectors"] == 4
    [finding] = data["findings"]
    assert finding["level"] == "note"
    assert finding["where"] == "services/inventory.yaml:22"
    assert finding["message"].endswith("reads as zero errors until one appears")


def test_a_source_that_cannot_answer_leaves_the_check_undone(cli: Runner, state: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    code, out = live(cli, url)
    assert code == 3, out
    assert "not checked: " in out and "cannot connect" in out
    assert out.splitlines()[-1].endswith("0 problems, 0 notes, 12 not checked")


def test_a_structural_violation_still_comes_first(
    cli: Runner, state: Path, prometheus: RunningPrometheus
) -> None:
    edit(state / "services" / "search.yaml", "objective: 99.5", "objective: 100")
    code, out = live(cli, prometheus.url)
    assert code == 2
    assert "services/search.yaml" in out and "spec.slos[0].objective" in out
