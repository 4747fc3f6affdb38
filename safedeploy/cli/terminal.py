"""The terminal: one place decides colour, width and where output goes.

rich drops colour when stdout is not a TTY and honours NO_COLOR. Off a terminal (a pipe,
a file, a cron log) nothing is wrapped either: a line is as long as what it says, so a
URL, a PromQL query or an id is never broken in two.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Wide enough that rich never wraps a line of a log; tables off a terminal are plain text
# (cli/tables.py) and take only the width they need.
UNWRAPPED = 1_000_000


def stdout() -> Console:
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, width=UNWRAPPED)
    return console


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def print_error(message: str) -> None:
    # Plain write: error lines must stay exactly one line each, never wrapped by rich.
    sys.stderr.write(f"{message}\n")
