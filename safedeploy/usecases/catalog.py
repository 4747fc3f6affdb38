"""Use cases over the service catalog: validate it, create a new state directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.templates import example_files
from safedeploy.domain.catalog import Catalog, whole
from safedeploy.domain.layout import SERVICES, STATE_DIRS
from safedeploy.errors import BadInputError
from safedeploy.usecases.context import Context


def validate(ctx: Context, paths: Sequence[Path] = ()) -> Catalog:
    """The catalog at `paths` (default `<state>/services`), or CatalogError with every issue."""
    missing = [p for p in paths or [ctx.state / SERVICES] if not p.exists()]
    if missing:
        raise BadInputError(f"{missing[0]}: no such file or directory")
    return load_catalog(list(paths)) if paths else whole(ctx.catalog)


def init(directory: Path) -> list[Path]:
    """Create an empty state directory; refuse to overwrite anything that is there."""
    files = example_files()
    clashes = [directory / name for name in files if (directory / name).exists()]
    if clashes:
        raise BadInputError(f"{clashes[0]}: already exists; init never overwrites files")
    created: list[Path] = []
    for sub in STATE_DIRS:
        (directory / sub).mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
        created.append(path)
    return created
