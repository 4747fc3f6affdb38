"""Reads an evidence folder's JSON documents; a missing or broken one is named, not fatal."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def read_documents(directory: Path, names: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """The documents that exist and parse, and the names of those that do not parse."""
    documents: dict[str, Any] = {}
    broken: list[str] = []
    for name in names:
        path = directory / name
        if not path.is_file():
            continue
        try:
            documents[name] = json.loads(path.read_bytes())
        except (ValueError, RecursionError):  # "[[[[..." nested past the limit
            broken.append(name)
    return documents, broken
