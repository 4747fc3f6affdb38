"""`safedeploy slo status` through the installed command against a real Prometheus: the
scenarios' severities, the JSON contract of DESIGN.md, the generator's ratios, a source that
is down, and the embedded source giving the same numbers."""

from __future__ import annotations

import json
import math
import shutil
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from testing.builders import write_service
from testing.cli import REPO_ROOT, Runner
from testing.history import T_END, Intended
from testing.prometheus import RunningPrometheus

pytestmark = pytest.mark.prometheus

AT = "2026-11-01T00:00:00Z"
SEVERITIES = {"normal", "unknown", "slow-burn", "fast-burn", "exhausted"}
WINDOW_NAMES = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The repository's three example services plus a healthy and a low-traffic one."""
    shutil.copytree(REPO_ROOT / "services", tmp_path / "services")
    for name in ("inventory", "lowtraffic"):
        write_service(tmp_path / "services", name)
    return tmp_path


def status_json(cli: Runner, env: dict[str, str], *args: str) -> tuple[int, list[Any]]:
    result = cli("slo", "status", "--json", "--at", AT, *args, env=env)
    assert result.code in (0, 1, 3), result.stderr
    return result.code, json.loads(result.stdout)


def entry(data: list[Any], service: str, slo: str) -> dict[str, Any]:
    return next(e for e in data if e["service"] == service and e["slo"] == slo)


def prometheus_env(prometheus: RunningPrometheus) -> dict[str, str]:
    return {"SAFEDEPLOY_PROMETHEUS_URL": prometheus.url}


def test_scenarios_get_their_severities(
    cli: Runner, state: Path, prometheus: RunningPrometheus
) -> None:
    code, data = status_json(cli, prometheus_env(prometheus))
    severities = {(e["service"], e["slo"]): e["severity"] for e in data}
    # 1% slow at 0.6 requests a minute sits right on the 3d/6h factor of 1: either side of
    # it is correct, and the low-traffic test below covers what must hold.
    assert severities.pop(("lowtraffic", "latency")) in {"normal", "slow-burn"}
    assert severities == {
        ("checkout", "availability"): "fast-burn",
        ("checkout", "latency"): "normal",
        ("inventory", "availability"): "normal",
        ("inventory", "latency"): "normal",
        # Its short windows are unknown, but 12 days at 2% errors are ~10,000 requests:
        # enough to know the 30d budget is spent twenty times over.
        ("lowtraffic", "availability"): "exhausted",
        ("payments", "availability"): "slow-burn",
        ("payments", "latency"): "normal",
        ("search", "availability"): "normal",
        ("search", "latency"): "fast-burn",
    }
    # Services burn and no SLO is unknown: "unhealthy", as the exit codes say.
    assert code == 1
    assert entry(data, "checkout", "availability")["reason"].startswith("1h/5m burn rate ")
    assert entry(data, "payments", "availability")["reason"].startswith("1d/2h burn rate ")
    assert entry(data, "payments", "availability")["reason"].endswith("over 2.8")  # 28d table
    assert entry(data, "search", "latency")["reason"].startswith("1h/5m burn rate 20.0")


def test_low_traffic_windows_are_unknown_and_never_breach(
    cli: Runner, state: Path, prometheus: RunningPrometheus
) -> None:
    _, data = status_json(cli, prometheus_env(prometheus), "--service", "lowtraffic")
    for slo in data:
        # 0.6 requests a minute: 3 in 5m (of 9 a short window needs), 36 in 1h (of 100).
        for window, minimum in (("5m", "the short-window minimum 9"), ("1h", "min_events 100")):
            shown = slo["windows"][window]
            assert shown["sli"] is None and shown["burn_rate"] is None, window
            assert f"fewer than {minimum}" in shown["reason"]
        # 18 in 30m and 72 in 2h are enough for a short window, 216 in 6h for a long one.
        for window in ("30m", "2h", "6h"):
            assert slo["windows"][window]["burn_rate"] is not None, window
        rows = {a["windows"]: a["state"] for a in slo["alerts"]}
        assert rows["1h/5m"] == "unknown"
        assert rows["6h/30m"] != "unknown" and rows["1d/2h"] != "unknown"
        assert slo["severity"] != "normal"


def test_a_young_low_traffic_service_is_unknown_and_exits_3(
    cli: Runner, state: Path, prometheus: RunningPrometheus
) -> None:
    # Ninety minutes into the history the low-traffic service has fewer than 100 requests
    # even over its whole period: nothing can be decided.
    early = prometheus.history.start + 90 * 60
    result = cli(
        "slo",
        "status",
        "--service",
        "lowtraffic",
        "--json",
        "--at",
        str(early),
        env=prometheus_env(prometheus),
    )
    assert result.code == 3, result.stderr
    data = json.loads(result.stdout)
    assert [e["severity"] for e in data] == ["unknown", "unknown"]
    for slo in data:
        assert slo["reason"].startswith("5m: ")
        assert "fewer than the short-window minimum 9" in slo["reason"]
        assert slo["budget"] == {"consumed": None, "remaining": None}
    text = cli(
        "slo",
        "status",
        "--service",
        "lowtraffic",
        "--at",
        str(early),
        env=prometheus_env(prometheus),
    )
    assert text.code == 3
    assert "lowtraffic  unknown" in text.stdout


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_json_has_the_contract_shape(
    cli: Runner, state: Path, prometheus: RunningPrometheus
) -> None:
    _, data = status_json(cli, prometheus_env(prometheus))
    assert isinstance(data, list) and len(data) == 10
    for item in data:
        assert {
            "service",
            "slo",
            "objective",
            "period",
            "severity",
            "reason",
            "budget",
            "windows",
        } <= item.keys()
        assert isinstance(item["service"], str) and isinstance(item["slo"], str)
        assert 0 < item["objective"] < 1
        assert item["period"] in {"28d", "30d"}
        assert item["severity"] in SEVERITIES
        assert isinstance(item["reason"], str) and item["reason"]
        assert set(item["budget"]) == {"consumed", "remaining"}
        consumed, remaining = item["budget"]["consumed"], item["budget"]["remaining"]
        if consumed is None:
            assert remaining is None
        else:
            assert consumed + remaining == pytest.approx(1.0, abs=1e-9)
        assert list(item["windows"]) == [*WINDOW_NAMES, item["period"]]
        for name, window in item["windows"].items():
            assert {"sli", "error_ratio", "burn_rate", "total"} <= window.keys()
            if window["sli"] is None:
                assert window["error_ratio"] is None and window["burn_rate"] is None
                continue
            assert 0 <= window["sli"] <= 1 and 0 <= window["error_ratio"] <= 1
            assert window["sli"] + window["error_ratio"] == pytest.approx(1.0, abs=1e-12)
            assert window["burn_rate"] == pytest.approx(
                window["error_ratio"] / (1 - item["objective"]), rel=1e-9
            )
            # Windows that are only ever short need their share of min_events (100).
            minimum = 9 if name in ("5m", "30m", "2h") else 100
            assert _is_number(window["total"]) and window["total"] >= minimum


def _intended_ratio(intended: Intended, kind: str) -> float:
    ratio = intended.error_ratio if kind == "availability" else intended.slow_ratio
    assert ratio is not None
    return ratio


@pytest.mark.parametrize("service", ["checkout", "payments", "search", "inventory"])
def test_numbers_are_the_generators_ratios(
    cli: Runner, state: Path, prometheus: RunningPrometheus, service: str
) -> None:
    _, data = status_json(cli, prometheus_env(prometheus), "--service", service)
    compared = 0
    for slo in data:
        for name, window in slo["windows"].items():
            # A 28d or 30d window covers the whole 12-day history, as "30d" does there.
            intended = prometheus.intended[service]["30d" if name == slo["period"] else name]
            bad = intended.errors if slo["slo"] == "availability" else intended.slow
            expected = _intended_ratio(intended, slo["slo"])
            assert window["total"] == pytest.approx(intended.total, rel=1e-3), name
            if bad < 20:
                # Too few bad events for a relative comparison to mean anything.
                assert window["error_ratio"] == pytest.approx(expected, abs=1e-3)
                continue
            assert window["error_ratio"] == pytest.approx(expected, rel=1e-3), (slo["slo"], name)
            compared += 1
        period = slo["windows"][slo["period"]]
        assert slo["budget"]["consumed"] == pytest.approx(
            period["error_ratio"] / (1 - slo["objective"]), rel=1e-9
        )
    assert compared >= 8


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_prometheus_down_exits_3_with_every_slo_unknown(cli: Runner, state: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = cli("slo", "status", "--json", "--at", AT, env={"SAFEDEPLOY_PROMETHEUS_URL": url})
    assert result.code == 3, result.stderr
    data = json.loads(result.stdout)
    assert len(data) == 10
    for item in data:
        assert item["severity"] == "unknown"
        assert f"{url}/api/v1/query" in item["reason"], item["reason"]
        assert "cannot connect" in item["reason"]
        assert item["budget"] == {"consumed": None, "remaining": None}
        assert all(w["sli"] is None for w in item["windows"].values())
    text = cli("slo", "status", "--at", AT, env={"SAFEDEPLOY_PROMETHEUS_URL": url})
    assert text.code == 3
    for service in ("checkout", "inventory", "lowtraffic", "payments", "search"):
        assert f"{service}  unknown" in text.stdout
    assert f"from Prometheus at {url}" in text.stdout


def test_the_embedded_source_gives_the_same_numbers(
    cli: Runner, state: Path, prometheus: RunningPrometheus
) -> None:
    _, served = status_json(cli, prometheus_env(prometheus))
    _, embedded = status_json(cli, {"SAFEDEPLOY_METRICS_FILE": str(prometheus.history.path)})
    assert [(e["service"], e["slo"]) for e in embedded] == [
        (e["service"], e["slo"]) for e in served
    ]
    for ours, theirs in zip(served, embedded, strict=True):
        assert ours["severity"] == theirs["severity"]
        assert ours["reason"] == theirs["reason"]
        for key in ("consumed", "remaining"):
            assert _close(ours["budget"][key], theirs["budget"][key])
        for name, window in ours["windows"].items():
            for key in ("sli", "error_ratio", "burn_rate", "total"):
                assert _close(window[key], theirs["windows"][name][key]), (name, key)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=1e-6, abs=1e-12)


def test_at_is_respected(cli: Runner, state: Path, prometheus: RunningPrometheus) -> None:
    # Two hours before the end, checkout's error burst (the last hour) has not started yet.
    before = (T_END - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    result = cli(
        "slo",
        "status",
        "--service",
        "checkout",
        "--json",
        "--at",
        before,
        env=prometheus_env(prometheus),
    )
    assert result.code == 0, result.stderr
    availability = entry(json.loads(result.stdout), "checkout", "availability")
    assert availability["severity"] == "normal"
    assert availability["windows"]["1h"]["error_ratio"] < 0.001
