"""`safedeploy simulate` through the installed command on the packaged demo story: the bad
release is detected within minutes, quiet services raise nothing, a window where nothing
happened is a miss, bad input exits 2 on one line, and nothing is written."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from safedeploy.adapters.templates import example_services
from safedeploy.demo import story
from safedeploy.domain.instants import format_instant
from testing.cli import Runner, tree_snapshot

DAY_BEFORE = format_instant(story.END - timedelta(days=1))
THREE_HOURS_BEFORE = format_instant(story.END - timedelta(hours=3))
END = format_instant(story.END)


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "metrics.om"
    path.write_text("".join(story.openmetrics()), encoding="utf-8")
    return path


@pytest.fixture
def state(tmp_path: Path) -> Path:
    root = tmp_path / "state"
    for name, text in example_services().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def labels(tmp_path: Path, *windows: dict[str, str], name: str = "labels.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(list(windows)), encoding="utf-8")
    return path


RELEASE = {
    "service": "checkout",
    "start": format_instant(story.RELEASE_AT),
    "end": END,
    "note": "checkout 1.5.0",
}
QUIET = {
    "service": "search",
    "start": format_instant(story.END - timedelta(hours=2, minutes=30)),
    "end": format_instant(story.END - timedelta(hours=2)),
    "note": "nothing happened",
}


def simulate_json(cli: Runner, state: Path, metrics: Path, *args: str) -> dict[str, Any]:
    result = cli("--state", str(state), "simulate", "--metrics", str(metrics), "--json", *args)
    assert result.code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def by_service(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["service"]: s for s in data["services"]}


def test_a_day_of_demo_history_detects_the_bad_release_within_minutes(
    cli: Runner, state: Path, metrics: Path, tmp_path: Path
) -> None:
    windows = labels(tmp_path, RELEASE, QUIET)
    before = tree_snapshot(state)
    data = simulate_json(
        cli, state, metrics, "--from", DAY_BEFORE, "--to", END, "--incidents", str(windows)
    )
    assert tree_snapshot(state) == before
    assert data["steps"] == 24 * 60 + 1
    services = by_service(data)
    checkout = services["checkout"]
    (incident,) = checkout["incidents"]
    assert incident["severity"] == "fast-burn"
    (detected,) = checkout["windows"]
    assert detected["outcome"] == "detected"
    assert detected["incident"] == incident["id"]
    assert 0 < detected["detection_seconds"] <= 15 * 60
    assert checkout["detection_seconds"] == [detected["detection_seconds"]]
    assert incident["rollback_proposed_at"] == incident["opened_at"]
    # The history ends while checkout still burns.
    assert incident["resolved_at"] is None
    assert checkout["false_positives"] == [] and checkout["misses"] == 0
    for quiet in ("payments", "search"):
        assert services[quiet]["incidents"] == []
        assert services[quiet]["false_positives"] == []
    (missed,) = services["search"]["windows"]
    assert missed["outcome"] == "missed" and missed["note"] == "nothing happened"
    assert services["search"]["misses"] == 1


def test_without_labels_every_incident_is_a_false_positive(
    cli: Runner, state: Path, metrics: Path
) -> None:
    data = simulate_json(
        cli, state, metrics, "--from", THREE_HOURS_BEFORE, "--to", END, "--service", "checkout"
    )
    (checkout,) = data["services"]
    assert [i["id"] for i in checkout["incidents"]] == checkout["false_positives"]
    assert len(checkout["false_positives"]) == 1


def test_yaml_labels_and_the_summary_table(
    cli: Runner, state: Path, metrics: Path, tmp_path: Path
) -> None:
    windows = tmp_path / "labels.yaml"
    windows.write_text(
        f"- service: checkout\n  start: {RELEASE['start']}\n  end: {END}\n"
        f"  note: bad release\n"
        f"- service: search\n  start: {QUIET['start']}\n  end: {QUIET['end']}\n",
        encoding="utf-8",
    )
    result = cli(
        "--state", str(state), "simulate", "--metrics", str(metrics), "--from",
        THREE_HOURS_BEFORE, "--to", END, "--step", "5m", "--incidents", str(windows),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "Replayed 37 steps of 5m" in result.stdout
    assert "(bad release): detected by checkout-20261101t" in result.stdout
    assert ": missed" in result.stdout
    lines = result.stdout.splitlines()
    table = lines[lines.index("Summary") + 1 :]
    assert re.split(r"\s{2,}", table[0]) == [
        "service", "incidents", "detected", "detection", "false positives", "misses"
    ]  # fmt: skip
    rows = {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in table)}
    assert rows["checkout"][1:3] == ["1", "1/1"]
    assert rows["search"][1:3] == ["0", "0/1"]
    # False positives and misses, as counts.
    assert rows["checkout"][4:] == ["0", "0"]
    assert rows["search"][4:] == ["0", "1"]
    # No progress bar and no escape codes when stderr is not a terminal.
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--metrics", "missing.om", "--from", DAY_BEFORE, "--to", END), "missing.om"),
        (("--from", END, "--to", DAY_BEFORE), "--to"),
        (("--from", END, "--to", END), "--to"),
        (("--from", DAY_BEFORE, "--to", END, "--step", "soon"), "--step"),
        (("--from", "yesterday", "--to", END), "--from"),
        (("--from", DAY_BEFORE, "--to", END, "--service", "nope"), "nope"),
    ],
)
def test_bad_input_exits_2_on_one_line(
    cli: Runner, state: Path, metrics: Path, args: tuple[str, ...], message: str
) -> None:
    given_metrics = () if "--metrics" in args else ("--metrics", str(metrics))
    result = cli("--state", str(state), "simulate", *given_metrics, *args)
    assert result.code == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({**RELEASE, "start": "yesterday"}, "[0].start"),
        ({**RELEASE, "end": RELEASE["start"]}, "[0]: Value error, end must be after start"),
        ({k: v for k, v in RELEASE.items() if k != "service"}, "[0].service"),
        ({**RELEASE, "service": "nope"}, "[0].service: unknown service 'nope'"),
        ({**RELEASE, "colour": "red"}, "[0].colour"),
    ],
)
def test_a_labels_file_with_a_bad_field_names_the_file_and_field(
    cli: Runner, state: Path, metrics: Path, tmp_path: Path, window: dict[str, str], field: str
) -> None:
    path = labels(tmp_path, window)
    result = cli(
        "--state", str(state), "simulate", "--metrics", str(metrics), "--from", DAY_BEFORE,
        "--to", END, "--incidents", str(path),
    )  # fmt: skip
    assert result.code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"{path}: ") and field in line, line


@pytest.mark.parametrize("text", ["{service: checkout}", "- [unclosed\n", ""])
def test_a_labels_file_that_is_not_a_list_is_refused(
    cli: Runner, state: Path, metrics: Path, tmp_path: Path, text: str
) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli(
        "--state", str(state), "simulate", "--metrics", str(metrics), "--from", DAY_BEFORE,
        "--to", END, "--incidents", str(path),
    )  # fmt: skip
    assert result.code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"{path}: ")
