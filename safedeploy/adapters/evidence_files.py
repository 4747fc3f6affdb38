"""Evidence folders on disk: every document written and read through here.

Writes go through the store (atomic, only when the bytes change, under the lock). Reads
parse each document into its model from `domain/evidence.py`; a missing document is
simply absent, and one that is not JSON or not the document its name says is named as a
problem, never fatal: a reviewer still gets everything else the folder holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from safedeploy.adapters.store import StateStore
from safedeploy.domain import layout
from safedeploy.domain.evidence import (
    DOCUMENTS,
    EvidenceDocument,
    EvidenceFolder,
    Problem,
    document_text,
)


def write_documents(
    store: StateStore, folder: str, documents: Mapping[str, EvidenceDocument | str]
) -> list[str]:
    """Write each document whose bytes changed; the names of those written."""
    return [
        name
        for name, document in documents.items()
        if store.write_text(f"{folder.rstrip('/')}/{name}", document_text(document))
    ]


def read_folder(store: StateStore, folder: str) -> EvidenceFolder:
    relative = f"{folder.rstrip('/')}/"
    directory = store.resolve(relative)
    if not directory.is_dir():
        return EvidenceFolder(folder=relative, exists=False)
    files = tuple(sorted(p.name for p in directory.iterdir() if p.is_file()))
    parsed: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, model in DOCUMENTS.items():
        path = directory / name
        if not path.is_file():
            continue
        try:
            raw = json.loads(path.read_bytes())
        except (ValueError, RecursionError):  # "[[[[..." nested past the limit
            problems.append(Problem(name=name, reason="not valid JSON"))
            continue
        except OSError as exc:
            problems.append(Problem(name=name, reason="not readable", detail=str(exc.strerror)))
            continue
        try:
            parsed[name.removesuffix(".json")] = model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "(document)"
            problems.append(
                Problem(name=name, reason="not a valid document", detail=f"{where}: {first['msg']}")
            )
    readme_path = directory / layout.README_DOC
    readme = (
        readme_path.read_text(encoding="utf-8", errors="replace") if readme_path.is_file() else None
    )
    return EvidenceFolder(
        folder=relative, files=files, readme=readme, problems=tuple(problems), **parsed
    )
