"""Counter increase over a range, computed exactly as Prometheus 2.42 computes it.

The embedded metrics source must give the same numbers as a real Prometheus, so this is a
faithful port of `extrapolatedRate` (promql/functions.go, v2.42) and of the sample
selection in `matrixIterSlice` (promql/engine.go, v2.42), which keeps samples in the
closed interval [start, end]. Prometheus 3 made the left edge open; that is not what a
2.x server answers, and parity with the server is what matters here.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

# Prometheus extrapolates to a range edge only when the gap to it is within 10% more than
# the average spacing; a bigger gap means the series starts or ends inside the range.
_EXTRAPOLATION_SLACK = 1.1


def increase(
    times: Sequence[float],
    values: Sequence[float],
    range_start: float,
    range_end: float,
) -> float | None:
    """Prometheus 2.42 `increase()` of one counter series over [range_start, range_end].

    `times` are seconds, sorted ascending, parallel to `values`. Returns None when fewer
    than two samples fall in the range: "no data", which is not the same as 0.
    """
    return _extrapolated_delta(times, values, range_start, range_end, is_counter=True)


def rate(
    times: Sequence[float],
    values: Sequence[float],
    range_start: float,
    range_end: float,
) -> float | None:
    """Prometheus 2.42 `rate()`: the increase divided by the range length in seconds."""
    result = increase(times, values, range_start, range_end)
    if result is None:
        return None
    return result / (range_end - range_start)


def delta(
    times: Sequence[float],
    values: Sequence[float],
    range_start: float,
    range_end: float,
) -> float | None:
    """Prometheus 2.42 `delta()` for gauges: no reset correction, no zero-point limit."""
    return _extrapolated_delta(times, values, range_start, range_end, is_counter=False)


def _extrapolated_delta(
    times: Sequence[float],
    values: Sequence[float],
    range_start: float,
    range_end: float,
    *,
    is_counter: bool,
) -> float | None:
    first = bisect_left(times, range_start)
    last = bisect_right(times, range_end) - 1
    count = last - first + 1
    if count < 2:
        return None

    first_value = values[first]
    result = values[last] - first_value
    if is_counter:
        result += _reset_correction(values, first, last)

    first_t = times[first]
    last_t = times[last]
    if last_t <= first_t:
        # Only reachable with duplicate timestamps, which a TSDB would have refused.
        return None
    duration_to_start = first_t - range_start
    duration_to_end = range_end - last_t
    sampled_interval = last_t - first_t
    average_gap = sampled_interval / (count - 1)

    # 2.42 applies the zero-point limit before the threshold test (later versions swapped
    # the order), so a counter that started inside the range can pass the test here.
    if is_counter and result > 0 and first_value >= 0:
        duration_to_zero = sampled_interval * (first_value / result)
        duration_to_start = min(duration_to_start, duration_to_zero)

    threshold = average_gap * _EXTRAPOLATION_SLACK
    extrapolate_to = sampled_interval
    extrapolate_to += duration_to_start if duration_to_start < threshold else average_gap / 2
    extrapolate_to += duration_to_end if duration_to_end < threshold else average_gap / 2
    return result * (extrapolate_to / sampled_interval)


def _reset_correction(values: Sequence[float], first: int, last: int) -> float:
    """Sum of the values just before each drop: what the counter had counted when it reset."""
    correction = 0.0
    previous = values[first]
    for index in range(first + 1, last + 1):
        current = values[index]
        if current < previous:
            correction += previous
        previous = current
    return correction


def reset_counts(values: Sequence[float]) -> list[int]:
    """`counts[i]`: how many drops (counter resets) occur at indices 1..i."""
    counts = [0] * len(values)
    for index in range(1, len(values)):
        counts[index] = counts[index - 1] + (values[index] < values[index - 1])
    return counts


def increase_indexed(
    times: Sequence[float],
    values: Sequence[float],
    resets: Sequence[int],
    range_start: float,
    range_end: float,
) -> float | None:
    """`increase()` for a series whose `reset_counts` are known: the same number, faster.

    The reset correction walks every sample of the range (a month of them for a budget
    window). Where the range holds no reset and the zero-point limit cannot apply,
    `increase()` equals `delta()` bit for bit, and the reset check is one lookup.
    """
    first = bisect_left(times, range_start)
    last = bisect_right(times, range_end) - 1
    if last <= first or resets[last] != resets[first]:
        return increase(times, values, range_start, range_end)
    rise = values[last] - values[first]
    if rise > 0 and values[first] >= 0:
        to_zero = (times[last] - times[first]) * (values[first] / rise)
        if to_zero < times[first] - range_start:
            return increase(times, values, range_start, range_end)
    return delta(times, values, range_start, range_end)
