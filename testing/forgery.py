"""What someone with write access to a state directory can do to its audit log.

`reseal` is the forger's tool: change the records of a stream (edit one, reorder, drop
some) and seal every line anew, numbers and links included, so the chain alone verifies
again. The anchored audit exists to catch exactly that.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from safedeploy.adapters.audit import GENESIS, seal

Records = list[dict[str, Any]]


def reseal(raw: bytes, edit: Callable[[Records], Records]) -> bytes:
    """The stream's lines as `edit` returns their records, sealed anew in that order."""
    records = [json.loads(line) for line in raw.splitlines()]
    out, prev = b"", GENESIS
    for seq, record in enumerate(edit(records), start=1):
        line, prev = seal(
            seq=seq,
            at=datetime.fromisoformat(record["at"]),
            stream=record["stream"],
            event=record["event"],
            data=record["data"],
            prev=prev,
        )
        out += line
    return out


def reseal_file(path: Path, edit: Callable[[Records], Records]) -> None:
    path.write_bytes(reseal(path.read_bytes(), edit))


def cut_file(path: Path, lines: int) -> None:
    """The last `lines` lines removed: what is left verifies on its own."""
    kept = path.read_bytes().splitlines(keepends=True)[:-lines]
    path.write_bytes(b"".join(kept))
