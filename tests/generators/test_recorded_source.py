"""The generated recording rules, evaluated by a real Prometheus over backfilled history,
must give the error ratios `evaluate_services` computes from the raw counters."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.prometheus import PrometheusSource
from safedeploy.adapters.recorded_source import parse_ratios, recorded_error_ratios
from safedeploy.domain.catalog import Service
from safedeploy.errors import DataSourceError
from safedeploy.generators.rules import render_rules
from safedeploy.usecases.slo_status import evaluate_services
from testing.cli import REPO_ROOT
from testing.history import T_END, T_END_SECONDS
from testing.prometheus import PROMTOOL, RunningPrometheus, serve

pytestmark = pytest.mark.prometheus
RELATIVE = 1e-3


def services() -> list[Service]:
    return list(load_catalog([REPO_ROOT / "services"]).services)


def backfill_rules(source: RunningPrometheus, rules: Path, out: Path) -> None:
    """Evaluate the recording rules over the last minutes of history, T_END included."""
    done = subprocess.run(
        [
            str(PROMTOOL), "tsdb", "create-blocks-from", "rules", "--quiet",
            f"--url={source.url}",
            f"--start={T_END_SECONDS - 300}",
            f"--end={T_END_SECONDS}",
            "--eval-interval=60s",
            f"--output-dir={out}",
            str(rules),
        ],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr or done.stdout


@pytest.fixture(scope="module")
def recorded(
    prometheus: RunningPrometheus, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPrometheus]:
    """A second server over the raw history plus the backfilled recordings."""
    work = tmp_path_factory.mktemp("recorded")
    rules = work / "rules.yaml"
    rules.write_text(render_rules(services()))
    backfill_rules(prometheus, rules, work / "rule-blocks")
    data = work / "data"
    data.mkdir()
    # Blocks are immutable directories with a meta.json: safe to copy while served.
    for source in (prometheus.data_dir, work / "rule-blocks"):
        for block in source.iterdir():
            if (block / "meta.json").exists():
                shutil.copytree(block, data / block.name)
    with serve(data, prometheus.history) as running:
        yield running


def recording_instants(url: str) -> dict[str, datetime]:
    """When each service's recording group last ran up to T_END. Prometheus (and promtool)
    offset every group inside the interval by a hash of its name, so this is not T_END."""
    response = httpx.get(
        f"{url}/api/v1/query",
        params={"query": "timestamp(slo:sli_error:ratio_rate5m)", "time": T_END_SECONDS},
    )
    instants: dict[str, datetime] = {}
    for sample in response.json()["data"]["result"]:
        stamp = datetime.fromtimestamp(float(sample["value"][1]), UTC)
        instants[sample["metric"]["service"]] = stamp
    return instants


def test_recordings_are_fresh(recorded: RunningPrometheus) -> None:
    instants = recording_instants(recorded.url)
    assert set(instants) == {"checkout", "payments", "search"}
    for stamp in instants.values():
        assert T_END - timedelta(seconds=60) < stamp <= T_END


def test_recorded_ratios_equal_the_engine_on_raw_counters(recorded: RunningPrometheus) -> None:
    compared = 0
    highest = 0.0
    instants = recording_instants(recorded.url)
    source = PrometheusSource(recorded.url)
    for service in services():
        # The engine and the recording at the very same instant: a minute apart, the 5m
        # ratio of a burning service moves by more than the tolerance.
        at = instants[service.name]
        ratios = recorded_error_ratios(recorded.url, [service], at)
        for slo in evaluate_services([service], source, at)[0].slos:
            for window, measured in slo.windows.items():
                if measured.error_ratio is None:
                    continue
                got = ratios[(service.name, slo.slo)][window]
                assert got == pytest.approx(measured.error_ratio, rel=RELATIVE, abs=1e-12), (
                    service.name, slo.slo, window,
                )  # fmt: skip
                highest = max(highest, got)
                compared += 1
    # 3 services x 2 SLOs x 8 windows: every one of them had traffic to compare.
    assert compared == 48
    # The history burns: a comparison of zeros would prove nothing.
    assert highest > 0.01


def test_unreachable_prometheus_is_a_data_source_error() -> None:
    with pytest.raises(DataSourceError, match=r"127\.0\.0\.1:9"):
        recorded_error_ratios("http://127.0.0.1:9", services(), T_END, timeout=0.5)


def test_parse_ratios_drops_other_slos_and_empty_windows() -> None:
    catalog = services()
    result = [
        {"metric": {"__name__": "slo:sli_error:ratio_rate1h", "service": "checkout",
                    "slo": "availability"}, "value": [0, "0.25"]},
        {"metric": {"__name__": "slo:sli_error:ratio_rate60m", "service": "checkout",
                    "slo": "latency"}, "value": [0, "0.5"]},
        {"metric": {"__name__": "slo:sli_error:ratio_rate5m", "service": "checkout",
                    "slo": "availability"}, "value": [0, "NaN"]},
        {"metric": {"__name__": "slo:sli_error:ratio_rate5m", "service": "elsewhere",
                    "slo": "availability"}, "value": [0, "0.9"]},
    ]  # fmt: skip
    assert parse_ratios(result, catalog) == {
        ("checkout", "availability"): {"1h": 0.25},
        ("checkout", "latency"): {"1h": 0.5},
    }


def test_reconcile_on_recordings_decides_as_on_raw_counters(
    recorded: RunningPrometheus,
) -> None:
    """`prometheus.read = "recorded"`: the same severities, burn rates and budgets."""
    from safedeploy.adapters.recorded_source import RecordedSource

    instants = recording_instants(recorded.url)
    compared = 0
    seen: set[str] = set()
    for service in services():
        at = instants[service.name]
        [raw] = evaluate_services([service], PrometheusSource(recorded.url), at)
        [rec] = evaluate_services([service], RecordedSource(recorded.url), at)
        assert rec.severity == raw.severity, service.name
        seen.add(rec.severity)
        for raw_slo, rec_slo in zip(raw.slos, rec.slos, strict=True):
            assert rec_slo.severity == raw_slo.severity, (service.name, raw_slo.slo)
            assert [a.state for a in rec_slo.alerts] == [a.state for a in raw_slo.alerts]
            for window, measured in raw_slo.windows.items():
                got = rec_slo.windows[window]
                assert got.total == pytest.approx(measured.total, rel=RELATIVE)
                if measured.burn_rate is not None:
                    assert got.burn_rate == pytest.approx(
                        measured.burn_rate, rel=RELATIVE, abs=1e-9
                    ), (service.name, raw_slo.slo, window)
                    compared += 1
            assert rec_slo.budget.remaining == pytest.approx(
                raw_slo.budget.remaining, rel=RELATIVE, abs=1e-9
            )
    assert compared == 48
    # The history burns: agreeing on "normal" everywhere would prove little.
    assert "fast-burn" in seen


def test_missing_recordings_make_the_slo_unknown(prometheus: RunningPrometheus) -> None:
    """A Prometheus without the rules: every SLO unknown, naming the missing recording."""
    from safedeploy.adapters.recorded_source import RecordedSource

    [status] = evaluate_services(services()[:1], RecordedSource(prometheus.url), T_END)
    assert status.severity == "unknown"
    for slo in status.slos:
        assert slo.severity == "unknown"
        assert "no recording slo:sli_events:increase" in slo.reason
