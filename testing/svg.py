"""Reading the evidence charts back: their structure, series and thresholds, from the XML.

Charts are compared by what they draw, never by the bytes of their floats: the element
tree and every non-geometric attribute exactly, coordinates to a tolerance, and the values
the `data-*` attributes name against where they are drawn.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

SVG = "{http://www.w3.org/2000/svg}"
# Attributes holding coordinates or lengths: compared as numbers, to a tolerance.
GEOMETRY = frozenset(
    {"x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height", "points", "transform"}
)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg", root.tag
    return root


def local(tag: str) -> str:
    return tag.removeprefix(SVG)


def structure(root: ET.Element) -> list[tuple[str, tuple[tuple[str, str], ...], str]]:
    """Every element in document order: tag, non-geometric attributes, text."""
    return [
        (
            local(e.tag),
            tuple(sorted((k, v) for k, v in e.attrib.items() if k not in GEOMETRY)),
            (e.text or "").strip(),
        )
        for e in root.iter()
    ]


def geometry(root: ET.Element) -> list[list[float]]:
    """The numbers in every geometric attribute, element by element, in document order."""
    return [
        [float(n) for k in sorted(e.attrib) if k in GEOMETRY for n in NUMBER.findall(e.attrib[k])]
        for e in root.iter()
    ]


def assert_same_chart(actual: str, expected: str, tolerance: float = 0.05) -> None:
    got, want = parse(actual), parse(expected)
    assert structure(got) == structure(want)
    for index, (mine, theirs) in enumerate(zip(geometry(got), geometry(want), strict=True)):
        assert len(mine) == len(theirs), f"element {index}: {len(mine)} != {len(theirs)} numbers"
        for a, b in zip(mine, theirs, strict=True):
            assert math.isclose(a, b, abs_tol=tolerance), f"element {index}: {a} != {b}"


@dataclass(frozen=True)
class Series:
    role: str
    label: str
    points: int  # what `data-points` claims
    drawn: list[tuple[float, float]]  # what the polylines and dots draw


@dataclass(frozen=True)
class ChartPanel:
    title: str
    low: float
    high: float
    top: float  # y of the plot's top edge
    bottom: float  # y of its bottom edge
    series: list[Series]
    thresholds: list[tuple[float, float]]  # (value, y)
    markers: list[str]
    note: str | None

    def y_of(self, value: float) -> float:
        """Where the value axis puts `value`."""
        share = (min(max(value, self.low), self.high) - self.low) / (self.high - self.low)
        return self.bottom - share * (self.bottom - self.top)


def panels(text: str) -> list[ChartPanel]:
    root = parse(text)
    found = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "panel":
            continue
        axis = _child(group, "value-axis")
        plot = next(e for e in axis.iter(f"{SVG}rect") if e.get("class") == "plot")
        top = float(plot.attrib["y"])
        found.append(
            ChartPanel(
                title=group.attrib["data-title"],
                low=float(axis.attrib["data-low"]),
                high=float(axis.attrib["data-high"]),
                top=top,
                bottom=top + float(plot.attrib["height"]),
                series=[_series(g) for g in group.iter(f"{SVG}g") if g.get("class") == "series"],
                thresholds=[
                    (float(e.attrib["data-value"]), float(e.attrib["y1"]))
                    for e in group.iter(f"{SVG}line")
                    if e.get("class") == "threshold"
                ],
                markers=[
                    e.attrib["data-at"]
                    for e in group.iter(f"{SVG}line")
                    if e.get("class") == "marker"
                ],
                note=next(
                    (e.text for e in group.iter(f"{SVG}text") if e.get("class") == "note"), None
                ),
            )
        )
    return found


def title_and_description(text: str) -> tuple[str, str]:
    root = parse(text)
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert list(root)[:2] == [title, desc], "title and desc come first"
    return title.text or "", desc.text or ""


def _child(group: ET.Element, cls: str) -> ET.Element:
    return next(e for e in group.iter(f"{SVG}g") if e.get("class") == cls)


def _series(group: ET.Element) -> Series:
    drawn: list[tuple[float, float]] = []
    for element in group:
        if local(element.tag) == "polyline":
            for pair in element.attrib["points"].split():
                x, y = pair.split(",")
                drawn.append((float(x), float(y)))
        elif local(element.tag) == "circle":
            drawn.append((float(element.attrib["cx"]), float(element.attrib["cy"])))
    return Series(
        role=group.attrib["data-role"],
        label=group.attrib["data-label"],
        points=int(group.attrib["data-points"]),
        drawn=drawn,
    )
