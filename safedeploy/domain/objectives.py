"""SLO objectives as people write them: a ratio (0.999) or a percent (99.9).

A value above 1 is read as a percent. Read as written, a slip of the decimal point turns
detection off without a word: `9.99` is 9.99 %, a budget of 90 % that no outage spends,
and `0.0999` the same as a ratio. So an objective must lie from 50 % up to (not including)
100 %; below half the requests succeeding there is no service left to protect, and 100 %
leaves no budget at all. A value outside is refused with the reading it most likely meant,
when there is one: the same digits with the decimal point moved to where objectives
usually are (90 % to 100 %).
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import AfterValidator, WithJsonSchema

LOWEST: Final = 0.5  # 50 %
_USUAL: Final = 90.0  # percent: where a moved decimal point is taken for the intent
_SHIFTS: Final = (10, 100, 1000, 0.1, 0.01, 0.001)


def plausible(percent: float) -> bool:
    return LOWEST * 100 <= percent < 100


def objective_ratio(value: float) -> float:
    """The objective `value` (ratio or percent) as a ratio in [0.5, 1); ValueError naming
    the likely intent otherwise."""
    percent = value if value > 1 else value * 100
    if plausible(percent):
        return round(percent / 100, 12)
    if percent == 100:
        raise ValueError(f"an objective of {value} (100%) leaves no error budget")
    reading = f"{value} is read as {percent:g}%" if value > 1 else f"{value} is {percent:g}%"
    guess = _likely(percent)
    hint = ""
    if guess is not None:
        hint = f": did you mean {guess:g}?" if value > 1 else f": did you mean {guess / 100:g}?"
    raise ValueError(
        f"{reading}, not a plausible objective (a ratio in [0.5, 1) such as 0.999, "
        f"or a percent in [50, 100) such as 99.9){hint}"
    )


def _likely(percent: float) -> float | None:
    """The percent written with the same digits and the decimal point moved into range."""
    for factor in _SHIFTS:
        shifted = round(percent * factor, 9)
        if _USUAL <= shifted < 100:
            return shifted
    return None


Objective = Annotated[
    float,
    AfterValidator(objective_ratio),
    WithJsonSchema(
        {
            "description": "Target ratio in [0.5, 1) such as 0.999, or a percent in [50, 100) "
            "such as 99.9.",
            "anyOf": [
                {"type": "number", "minimum": LOWEST, "exclusiveMaximum": 1},
                {"type": "number", "minimum": LOWEST * 100, "exclusiveMaximum": 100},
            ],
        }
    ),
]
"""An objective as a service file writes it, stored as a ratio."""
