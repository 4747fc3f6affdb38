"""Use cases over the service catalog: validate it, create a new state directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.adapters.templates import example_files
from safedeploy.domain.catalog import Catalog, whole
from safedeploy.domain.layout import GITIGNORE, IGNORED, SERVICES, STATE_DIRS
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
    created.append(_ignore(directory / GITIGNORE))
    return created


def _ignore(path: Path) -> Path:
    """`.gitignore` with the clone cache and the lock, so `git add -A` commits neither;
    an existing file keeps its lines and gains the missing ones."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    missing = [line for line in IGNORED if line not in text.splitlines()]
    if missing:
        lead = "" if not text or text.endswith("\n") else "\n"
        header = "# safedeploy: local only, never committed\n"
        path.write_text(f"{text}{lead}{header}" + "".join(f"{m}\n" for m in missing), "utf-8")
    return path
