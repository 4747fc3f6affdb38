"""The terminal: one place decides colour, width and where output goes.

rich already drops colour when stdout is not a TTY and honours NO_COLOR; cron logs get
plain text.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console


def stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def print_error(message: str) -> None:
    # Plain write: error lines must stay exactly one line each, never wrapped by rich.
    sys.stderr.write(f"{message}\n")
