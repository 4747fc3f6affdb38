"""Comparing a state directory reconciled shard by shard with one reconciled whole."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from safedeploy.domain import layout
from testing.cli import tree_snapshot

# What a shard writes under its own name, and the audit streams, compared apart; the
# configuration names each copy's own paths.
APART = (f"{layout.AUDIT}/", layout.SUMMARY, layout.LAST_RUN, f"{layout.SHARDS}/", layout.CONFIG)


def decided_state(root: Path) -> dict[str, bytes]:
    """Every file but those written per shard and the audit streams, with its bytes."""
    return {
        name: data
        for name, data in tree_snapshot(root).items()
        if not name.startswith(APART) and name != layout.LOCK
    }


def audit_lines(root: Path) -> Counter[str]:
    """Every audit line without its place in the chain (seq, prev, hash), which a push
    combined with another's seals anew."""
    lines: Counter[str] = Counter()
    for log in sorted((root / layout.AUDIT).glob("*.log")):
        for raw in log.read_text().splitlines():
            line = json.loads(raw)
            del line["seq"], line["prev"], line["hash"]
            lines[json.dumps(line, sort_keys=True)] += 1
    return lines
