"""Evidence charts as SVG: one `Figure` (stacked panels of lines over time) to one file.

A fixed layout, every coordinate written with one decimal and every text escaped, so the
same figure always gives the same bytes. GitHub shows the files inline in a README;
`<title>` and `<desc>` carry the chart's meaning for screen readers and for anyone reading
the evidence as text. Elements carry `class` and `data-*` attributes naming what they
draw (a series' role, a threshold's value), which is also what the tests compare.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from safedeploy.domain.chart_series import Figure, Line, Panel, Role
from safedeploy.domain.instants import format_instant

WIDTH = 760
HEADER = 40
PANEL_HEIGHT = 250
PLOT_LEFT, PLOT_RIGHT = 72.0, 736.0
# Offsets inside a panel.
PLOT_TOP, PLOT_BOTTOM = 52.0, 200.0
FONT = "Helvetica, Arial, sans-serif"
INK, MUTED, GRID = "#1f2328", "#59636e", "#d1d9e0"
THRESHOLD = "#cf222e"
COLORS: dict[Role, str] = {
    "long": "#0969da",
    "short": "#bc4c00",
    "budget": "#1a7f37",
    "canary": "#bc4c00",
    "stable": "#0969da",
    "limit": THRESHOLD,
}
DASHED: frozenset[Role] = frozenset({"limit"})
# Candidate spacings of time ticks, in seconds: the first that gives at most six ticks.
TIME_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
MAX_TIME_TICKS = 6
VALUE_TICKS = 4


def figure_svg(figure: Figure) -> str:
    height = HEADER + PANEL_HEIGHT * len(figure.panels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="chart-title chart-desc" '
        f"font-family={quoteattr(FONT)}>",
        f'<title id="chart-title">{escape(figure.title)}</title>',
        f'<desc id="chart-desc">{escape(figure.description)}</desc>',
        f'<rect class="background" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        _text(16, 26, figure.title, cls="figure-title", size=16, weight="bold"),
    ]
    for index, panel in enumerate(figure.panels):
        parts += _panel(panel, HEADER + index * PANEL_HEIGHT)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class _Scale:
    start: float
    end: float
    low: float
    high: float
    top: float

    def x(self, seconds: float) -> float:
        share = (seconds - self.start) / (self.end - self.start) if self.end > self.start else 1
        return PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT)

    def y(self, value: float) -> float:
        share = (min(max(value, self.low), self.high) - self.low) / (self.high - self.low)
        return self.top + PLOT_BOTTOM - share * (PLOT_BOTTOM - PLOT_TOP)


def value_range(panel: Panel) -> tuple[float, float, float]:
    """(low, high, tick step) of the value axis: every value and threshold in view, zero
    included, bounds on whole ticks; values under the panel's floor are drawn at it."""
    values = [v for line in panel.lines for v in line.values if v is not None]
    values += [t.value for t in panel.thresholds]
    low, high = min([0.0, *values]), max([0.0, *values])
    if panel.floor is not None:
        low = max(low, panel.floor)
    if high <= low:
        high = low + 0.01
    step = _nice_step((high - low) / VALUE_TICKS)
    low = math.floor(low / step + 1e-9) * step
    high = math.ceil(high * 1.04 / step - 1e-9) * step
    return low, high, step


def _nice_step(raw: float) -> float:
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))


def _panel(panel: Panel, top: float) -> list[str]:
    low, high, step = value_range(panel)
    scale = _Scale(panel.grid.start.timestamp(), panel.grid.end.timestamp(), low, high, top)
    parts = [f'<g class="panel" data-title={quoteattr(panel.title)}>']
    parts.append(_text(PLOT_LEFT, top + 20, panel.title, cls="panel-title", size=13, weight="bold"))
    parts += _legend(panel, top + 38)
    parts += _value_axis(panel, scale, step)
    parts += _time_axis(scale)
    parts += _thresholds(panel, scale)
    parts += _markers(panel, scale)
    times = [t.timestamp() for t in panel.grid.instants()]
    for line in panel.lines:
        parts += _series(line, times, scale)
    if panel.note:
        middle = (PLOT_LEFT + PLOT_RIGHT) / 2
        parts.append(
            _text(
                middle,
                top + (PLOT_TOP + PLOT_BOTTOM) / 2,
                panel.note,
                cls="note",
                size=12,
                anchor="middle",
                fill=MUTED,
            )
        )
    parts.append("</g>")
    return parts


def _thresholds(panel: Panel, scale: _Scale) -> list[str]:
    parts: list[str] = []
    label_ys = _label_positions([scale.y(t.value) for t in panel.thresholds])
    for threshold, label_y in zip(panel.thresholds, label_ys, strict=True):
        y = scale.y(threshold.value)
        parts.append(
            f'<line class="threshold" data-value="{threshold.value:.6g}" x1="{PLOT_LEFT:.1f}" '
            f'y1="{y:.1f}" x2="{PLOT_RIGHT:.1f}" y2="{y:.1f}" stroke="{THRESHOLD}" '
            'stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        # At the left, where the history is: the right edge is where a breach shows.
        parts.append(
            _text(
                PLOT_LEFT + 4,
                label_y,
                threshold.label,
                cls="threshold-label",
                size=11,
                fill=THRESHOLD,
            )
        )
    return parts


def _label_positions(line_ys: list[float]) -> list[float]:
    """Each label just above its line, or just below it when the label of a line higher up
    is already there (a 10% margin right above 0% exhausted)."""
    placed: dict[int, float] = {}
    for index in sorted(range(len(line_ys)), key=lambda i: line_ys[i]):
        above = line_ys[index] - 4
        clash = any(abs(above - other) < 12 for other in placed.values())
        placed[index] = line_ys[index] + 13 if clash else above
    return [placed[i] for i in range(len(line_ys))]


def _markers(panel: Panel, scale: _Scale) -> list[str]:
    parts: list[str] = []
    top = scale.top
    for marker in panel.markers:
        x = scale.x(marker.at.timestamp())
        parts.append(
            f'<line class="marker" data-at="{format_instant(marker.at)}" x1="{x:.1f}" '
            f'y1="{top + PLOT_TOP:.1f}" x2="{x:.1f}" y2="{top + PLOT_BOTTOM:.1f}" '
            f'stroke="{MUTED}" stroke-dasharray="2 3"/>'
        )
        # Beside the line, on whichever side has room.
        right = x > (PLOT_LEFT + PLOT_RIGHT) / 2
        parts.append(
            _text(
                x - 3 if right else x + 3,
                top + PLOT_TOP + 11,
                marker.label,
                cls="marker-label",
                size=11,
                anchor="end" if right else "start",
                fill=MUTED,
            )
        )
    return parts


def _legend(panel: Panel, y: float) -> list[str]:
    parts = ['<g class="legend">']
    x = PLOT_LEFT
    entries = [(line.label, COLORS[line.role], line.role in DASHED) for line in panel.lines]
    entries += [(t.label, THRESHOLD, True) for t in panel.thresholds]
    for label, color, dashed in entries:
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts.append(
            f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 18:.1f}" y2="{y - 4:.1f}" '
            f'stroke="{color}" stroke-width="2"{dash}/>'
        )
        parts.append(_text(x + 23, y, label, cls="legend-label", size=11))
        x += 23 + _width(label) + 18
    parts.append("</g>")
    return parts


def _value_axis(panel: Panel, scale: _Scale, step: float) -> list[str]:
    top = scale.top
    parts = [
        f'<g class="value-axis" data-low="{scale.low:.6g}" data-high="{scale.high:.6g}">',
        f'<rect class="plot" x="{PLOT_LEFT:.1f}" y="{top + PLOT_TOP:.1f}" '
        f'width="{PLOT_RIGHT - PLOT_LEFT:.1f}" height="{PLOT_BOTTOM - PLOT_TOP:.1f}" '
        f'fill="none" stroke="{GRID}"/>',
    ]
    ticks = round((scale.high - scale.low) / step)
    for k in range(ticks + 1):
        value = scale.low + k * step
        y = scale.y(value)
        parts.append(
            f'<line class="tick" x1="{PLOT_LEFT:.1f}" y1="{y:.1f}" x2="{PLOT_RIGHT:.1f}" '
            f'y2="{y:.1f}" stroke="{GRID}" stroke-width="0.5"/>'
        )
        parts.append(
            _text(
                PLOT_LEFT - 6,
                y + 4,
                _tick_percent(value, step),
                cls="tick-label",
                size=11,
                anchor="end",
                fill=MUTED,
            )
        )
    middle = top + (PLOT_TOP + PLOT_BOTTOM) / 2
    parts.append(
        f'<text class="axis-label" x="18" y="{middle:.1f}" font-size="12" fill="{INK}" '
        f'text-anchor="middle" transform="rotate(-90 18 {middle:.1f})">'
        f"{escape(panel.y_label)}</text>"
    )
    parts.append("</g>")
    return parts


def _tick_percent(value: float, step: float) -> str:
    text = f"{step * 100:.6f}".rstrip("0").rstrip(".")
    decimals = len(text.partition(".")[2])
    shown = round(value * 100, decimals)
    return f"{shown + 0.0:.{decimals}f}%"  # + 0.0: never "-0%"


def _time_axis(scale: _Scale) -> list[str]:
    span = scale.end - scale.start
    step = next((s for s in TIME_STEPS if span / s <= MAX_TIME_TICKS), TIME_STEPS[-1])
    if span <= 86_400:
        pattern = "%H:%M"
    elif step < 86_400:
        pattern = "%m-%d %H:%M"
    else:
        pattern = "%m-%d"
    bottom = scale.top + PLOT_BOTTOM
    parts = ['<g class="time-axis">']
    tick = math.ceil(scale.start / step) * step
    while tick <= scale.end:
        x = scale.x(tick)
        parts.append(
            f'<line class="tick" x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" '
            f'y2="{bottom + 4:.1f}" stroke="{MUTED}"/>'
        )
        label = datetime.fromtimestamp(tick, tz=UTC).strftime(pattern)
        # A label centred on the last tick would run off the picture: end it there instead.
        anchor = "end" if x + _width(label) / 2 > WIDTH - 4 else "middle"
        parts.append(
            _text(x, bottom + 17, label, cls="tick-label", size=11, anchor=anchor, fill=MUTED)
        )
        tick += step
    start = datetime.fromtimestamp(scale.start, tz=UTC)
    end = datetime.fromtimestamp(scale.end, tz=UTC)
    label = f"time (UTC), {format_instant(start)} to {format_instant(end)}"
    parts.append(
        _text(
            (PLOT_LEFT + PLOT_RIGHT) / 2,
            bottom + 36,
            label,
            cls="axis-label",
            size=12,
            anchor="middle",
        )
    )
    parts.append("</g>")
    return parts


def _series(line: Line, times: Sequence[float], scale: _Scale) -> list[str]:
    """A polyline per run of known values: an unknown instant is a gap, never a zero."""
    color = COLORS[line.role]
    dash = ' stroke-dasharray="6 4"' if line.role in DASHED else ""
    runs: list[list[tuple[float, float]]] = [[]]
    for seconds, value in zip(times, line.values, strict=True):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((scale.x(seconds), scale.y(value)))
    known = sum(len(run) for run in runs)
    parts = [
        f'<g class="series" data-role="{line.role}" data-label={quoteattr(line.label)} '
        f'data-points="{known}">'
    ]
    for run in runs:
        if len(run) == 1:
            ((x, y),) = run
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{color}"/>')
        elif run:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{color}" '
                f'stroke-width="1.8" stroke-linejoin="round"{dash}/>'
            )
    parts.append("</g>")
    return parts


def _width(label: str) -> float:
    """An estimate of an 11px label's width: the layout only needs to avoid overlaps."""
    return 6.2 * len(label)


def _text(
    x: float,
    y: float,
    content: str,
    *,
    cls: str,
    size: int,
    anchor: str = "start",
    weight: str = "normal",
    fill: str = INK,
) -> str:
    bold = ' font-weight="bold"' if weight == "bold" else ""
    align = f' text-anchor="{anchor}"' if anchor != "start" else ""
    return (
        f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}"'
        f"{align}{bold}>{escape(content)}</text>"
    )
