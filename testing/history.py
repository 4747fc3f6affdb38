"""Deterministic OpenMetrics history for tests and benchmarks.

Every scenario is a steady request stream whose error and slow shares change in phases
near the end; counts come from floored running totals, so the counters are monotonic
integers and the exact number of requests, errors and slow requests in any window is known.
`intended` keeps those exact numbers per window at the end instant: what safedeploy (and
Prometheus) should recover, up to Prometheus's extrapolation.

Conventions follow DESIGN.md: `http_requests_total{service, code}` and the histogram
`http_request_duration_seconds{service}` with buckets 0.05, 0.1, 0.3, 0.5, 1, +Inf.
"""

from __future__ import annotations

import math
import random
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

T_END = datetime(2026, 11, 1, tzinfo=UTC)
T_END_SECONDS = int(T_END.timestamp())
DAY = 86_400
DEFAULT_DURATION = 12 * DAY
DEFAULT_STEP = 60
WINDOWS: dict[str, int] = {
    "5m": 300,
    "30m": 1_800,
    "1h": 3_600,
    "2h": 7_200,
    "6h": 21_600,
    "1d": DAY,
    "3d": 3 * DAY,
    "30d": 30 * DAY,
}
BUCKETS = ("0.05", "0.1", "0.3", "0.5", "1", "+Inf")
LATENCY_THRESHOLD = "0.3"
REQUESTS = "http_requests_total"
BUCKET = "http_request_duration_seconds_bucket"
COUNT = "http_request_duration_seconds_count"

Kind = Literal["healthy", "fast-burn", "slow-burn", "latency-burn", "low-traffic", "reset"]


@dataclass(frozen=True)
class Phase:
    """From `since` seconds before the end onward, these shares apply."""

    since: int
    error_ratio: float
    slow_ratio: float


@dataclass(frozen=True)
class Scenario:
    """One service's traffic; shares are of all requests, 404s included."""

    service: str
    kind: Kind
    requests_per_minute: float
    error_ratio: float
    slow_ratio: float
    phases: tuple[Phase, ...] = ()
    error_codes: tuple[str, ...] = ("500",)
    not_found_ratio: float = 0.03
    # Minutes of traffic served before the history starts: counters rarely start at 0,
    # and the start value drives Prometheus's zero-point limit on long windows.
    prehistory_minutes: float = 1_440.0
    reset_before_end: int | None = None

    def shares_at(self, before_end: float) -> tuple[float, float]:
        """(error share, slow share) in force `before_end` seconds before the end."""
        error, slow = self.error_ratio, self.slow_ratio
        for phase in self.phases:
            if before_end < phase.since:
                error, slow = phase.error_ratio, phase.slow_ratio
        return error, slow


@dataclass(frozen=True)
class Intended:
    """Exact counts in one window, taken from the generated counters before any reset."""

    total: int
    errors: int
    slow: int

    @property
    def error_ratio(self) -> float | None:
        """5xx share of all requests; None without requests."""
        return self.errors / self.total if self.total else None

    @property
    def slow_ratio(self) -> float | None:
        """Share of requests above the latency threshold; None without requests."""
        return self.slow / self.total if self.total else None


@dataclass(frozen=True)
class History:
    """What was written and what it means."""

    path: Path
    start: int
    end: int
    step: int
    scenarios: tuple[Scenario, ...]
    intended: dict[str, dict[str, Intended]] = field(repr=False)
    series: int
    samples: int

    def scenario(self, service: str) -> Scenario:
        """The scenario of one service."""
        return next(one for one in self.scenarios if one.service == service)


DEFAULT_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "checkout",
        "fast-burn",
        600,
        0.0005,
        0.003,
        phases=(Phase(3_600, 0.10, 0.003),),
        error_codes=("500", "503"),
    ),
    Scenario("payments", "slow-burn", 300, 0.0003, 0.002, phases=(Phase(3 * DAY, 0.003, 0.002),)),
    Scenario("search", "latency-burn", 900, 0.0002, 0.002, phases=(Phase(21_600, 0.0002, 0.2),)),
    Scenario("inventory", "healthy", 400, 0.0003, 0.002),
    Scenario("lowtraffic", "low-traffic", 0.6, 0.02, 0.01, prehistory_minutes=0.0),
    Scenario("resetting", "reset", 500, 0.0005, 0.003, reset_before_end=1_800),
)


def synthetic_scenarios(count: int, seed: int = 0) -> tuple[Scenario, ...]:
    """`count` services, mostly healthy, some burning in each way, for benchmarks."""
    rng = random.Random(seed)
    kinds: tuple[Kind, ...] = ("healthy", "fast-burn", "slow-burn", "latency-burn", "reset")
    scenarios = []
    for index in range(count):
        kind = rng.choices(kinds, weights=(16, 1, 1, 1, 1))[0]
        rpm = rng.uniform(50, 2_000)
        base = Scenario(f"svc-{index:05d}", kind, rpm, rng.uniform(0, 0.0005), 0.003)
        scenarios.append(_with_kind(base, kind))
    return tuple(scenarios)


def _with_kind(base: Scenario, kind: Kind) -> Scenario:
    phase = {
        "fast-burn": Phase(3_600, 0.1, base.slow_ratio),
        "slow-burn": Phase(3 * DAY, 0.003, base.slow_ratio),
        "latency-burn": Phase(21_600, base.error_ratio, 0.2),
    }.get(kind)
    if phase is not None:
        return Scenario(**{**base.__dict__, "phases": (phase,)})
    if kind == "reset":
        return Scenario(**{**base.__dict__, "reset_before_end": 1_800})
    return base


def write_history(
    path: Path,
    scenarios: Sequence[Scenario] = DEFAULT_SCENARIOS,
    *,
    end: int = T_END_SECONDS,
    duration: int = DEFAULT_DURATION,
    step: int = DEFAULT_STEP,
    seed: int = 0,
) -> History:
    """Write the OpenMetrics file for `scenarios`, one sample per `step` up to `end`."""
    times = list(range(end - duration + step, end + 1, step))
    time_texts = [str(t) for t in times]
    intended: dict[str, dict[str, Intended]] = {}
    spill = path.with_name(path.name + ".histograms")
    series = 0
    with path.open("w", encoding="utf-8") as out, spill.open("w", encoding="utf-8") as hist:
        out.write("# TYPE http_requests counter\n")
        for scenario in scenarios:
            counts = _simulate(scenario, times, end, seed)
            intended[scenario.service] = _intended(counts, times, end)
            exposed = _apply_reset(counts, times, end, scenario.reset_before_end)
            series += _write_service(out, hist, scenario, exposed, time_texts)
        hist.write("# EOF\n")
    with path.open("a", encoding="utf-8") as out, spill.open(encoding="utf-8") as hist:
        out.write("# TYPE http_request_duration_seconds histogram\n")
        shutil.copyfileobj(hist, out, 1 << 20)
    spill.unlink()
    return History(
        path=path,
        start=times[0],
        end=end,
        step=step,
        scenarios=tuple(scenarios),
        intended=intended,
        series=series,
        samples=series * len(times),
    )


@dataclass
class _Counts:
    """Cumulative counts per sample: by status code and by latency bucket."""

    codes: dict[str, list[int]]
    errors: list[int]
    buckets: dict[str, list[int]]


def _simulate(scenario: Scenario, times: list[int], end: int, seed: int) -> _Counts:
    rng = random.Random(f"{seed}:{scenario.service}")
    codes = ["200", "404", *scenario.error_codes]
    code_acc = dict.fromkeys(codes, 0.0)
    bucket_acc = dict.fromkeys(BUCKETS[:-1], 0.0)
    out = _Counts({c: [] for c in codes}, [], {b: [] for b in BUCKETS})
    step = times[1] - times[0] if len(times) > 1 else DEFAULT_STEP
    for index, t in enumerate(times):
        minutes = scenario.prehistory_minutes if index == 0 else step / 60
        diurnal = 1 + 0.3 * math.sin(2 * math.pi * (t % DAY) / DAY)
        requests = scenario.requests_per_minute * minutes * diurnal * rng.uniform(0.95, 1.05)
        error, slow = scenario.shares_at(end - t)
        shares = _code_shares(scenario, error)
        total = 0
        errors = 0
        for code in codes:
            code_acc[code] += requests * shares[code]
            value = math.floor(code_acc[code])
            out.codes[code].append(value)
            total += value
            if code.startswith("5"):
                errors += value
        out.errors.append(errors)
        for bucket, fraction in zip(BUCKETS, _bucket_fractions(slow), strict=False):
            bucket_acc[bucket] += requests * fraction
            out.buckets[bucket].append(min(math.floor(bucket_acc[bucket]), total))
        out.buckets["+Inf"].append(total)
    return out


def _code_shares(scenario: Scenario, error: float) -> dict[str, float]:
    shares = {"404": scenario.not_found_ratio, "200": 1 - scenario.not_found_ratio - error}
    for code in scenario.error_codes:
        shares[code] = error / len(scenario.error_codes)
    return shares


def _bucket_fractions(slow: float) -> tuple[float, ...]:
    """Cumulative share at or under each finite bucket; `slow` lies above 0.3 s."""
    fast = 1 - slow
    return (fast * 0.5, fast * 0.8, fast, 1 - slow * 0.6, 1 - slow * 0.2)


def _total(counts: _Counts) -> list[int]:
    return counts.buckets["+Inf"]


def _intended(counts: _Counts, times: list[int], end: int) -> dict[str, Intended]:
    """Exact counts per window; a window longer than the history covers all of it."""
    total, errors = _total(counts), counts.errors
    slow = [a - b for a, b in zip(total, counts.buckets[LATENCY_THRESHOLD], strict=True)]
    last = len(times) - 1
    step = times[1] - times[0] if len(times) > 1 else DEFAULT_STEP
    result = {}
    for name, seconds in WINDOWS.items():
        first = max(0, last - seconds // step)
        result[name] = Intended(
            total=total[last] - total[first],
            errors=errors[last] - errors[first],
            slow=slow[last] - slow[first],
        )
    return result


def _apply_reset(
    counts: _Counts, times: list[int], end: int, reset_before_end: int | None
) -> _Counts:
    """Counters as a restarted process exposes them: from 0 again at the reset."""
    if reset_before_end is None:
        return counts
    at = next(i for i, t in enumerate(times) if t >= end - reset_before_end)

    def restart(values: list[int]) -> list[int]:
        base = values[at - 1]
        return values[:at] + [v - base for v in values[at:]]

    return _Counts(
        {code: restart(v) for code, v in counts.codes.items()},
        restart(counts.errors),
        {bucket: restart(v) for bucket, v in counts.buckets.items()},
    )


def _write_service(
    out: IO[str], hist: IO[str], scenario: Scenario, counts: _Counts, time_texts: list[str]
) -> int:
    service = scenario.service
    for code, values in counts.codes.items():
        _write_series(out, f'{REQUESTS}{{service="{service}",code="{code}"}}', values, time_texts)
    for bucket, values in counts.buckets.items():
        _write_series(hist, f'{BUCKET}{{service="{service}",le="{bucket}"}}', values, time_texts)
    _write_series(hist, f'{COUNT}{{service="{service}"}}', _total(counts), time_texts)
    return len(counts.codes) + len(counts.buckets) + 1


def _write_series(out: IO[str], prefix: str, values: Iterable[int], times: list[str]) -> None:
    out.write("".join([f"{prefix} {v} {t}\n" for v, t in zip(values, times, strict=True)]))
