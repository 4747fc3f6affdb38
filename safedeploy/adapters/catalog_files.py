"""Reads `services/*.yaml` into the catalog, turning every problem into `file:line: path: msg`.

This is the one place where service files meet the models: YAML and pydantic errors are
converted here, with the line of the offending key, so a user never sees a traceback.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from safedeploy.adapters.catalog_cache import ParsedServices, content_key
from safedeploy.domain import catalog as models
from safedeploy.errors import CatalogError

MAX_FILE_BYTES = 1024 * 1024
# Aliases are legal YAML, but expanded they can multiply a small file into billions of
# nodes ("billion laughs"); no honest service definition comes near this.
MAX_NODES = 20_000

PathKey = tuple[str | int, ...]

_MISSING_MESSAGES: dict[PathKey, str] = {
    ("metadata", "owner"): "every service needs an owner",
    ("metadata", "name"): "every service needs a name",
    ("spec", "slos"): "every service needs at least one SLO",
    ("spec", "rollback"): "every service needs a rollback strategy",
    ("spec", "deployment"): "every service needs a canary deployment strategy",
    ("spec", "target"): "every service needs a target in the environment repo",
}


class _ViolationError(Exception):
    def __init__(self, line: int, path: str, message: str) -> None:
        self.line, self.path, self.message = line, path, message
        super().__init__(message)


def service_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories to their YAML files, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


def load_catalog(
    paths: Iterable[Path],
    *,
    strict_file_names: bool = True,
    partial: bool = False,
    parsed: ParsedServices | None = None,
) -> models.Catalog:
    """Every service in `paths`, or CatalogError listing every violation of every file.

    `partial`: the services that loaded, each broken file recorded under the service its
    file is named for, so one team's typo holds back its own service only. `parsed`: what
    files parsed to before (`adapters/catalog_cache.py`), told what this load parsed; the
    caller saves it.
    """
    broken: list[models.BrokenService] = []
    services: list[models.Service] = []
    defined_in: dict[str, Path] = {}
    parsed = parsed or ParsedServices.open(None)
    for file in service_files(paths):
        loaded = _load_checked(file, defined_in, strict_file_names, parsed)
        if isinstance(loaded, list):
            broken.append(models.BrokenService(name=file.stem, violations=tuple(loaded)))
            continue
        defined_in[loaded.name] = file
        services.append(loaded)
    catalog = models.Catalog(services=tuple(services), broken=tuple(broken))
    return catalog if partial else models.whole(catalog)


def _load_checked(
    file: Path, defined_in: dict[str, Path], strict_file_names: bool, parsed: ParsedServices
) -> models.Service | list[str]:
    """The file's service, or its violations (a name defined twice or not the file's)."""
    shown = _display(file)
    try:
        service, lines = _load_one(file, parsed)
    except _ViolationError as v:
        return [f"{shown}:{v.line}: {v.path}: {v.message}"]
    except CatalogError as e:
        return e.violations
    line = lines.get(("metadata", "name"), 1)
    if service.name in defined_in:
        return [
            f"{shown}:{line}: metadata.name: service {service.name!r} is also defined in "
            f"{_display(defined_in[service.name])}"
        ]
    if strict_file_names and file.stem != service.name:
        return [
            f"{shown}:{line}: metadata.name: {service.name!r} must match the file name "
            f"({file.stem}{file.suffix}); services live in services/<name>.yaml"
        ]
    return service


def field_line(file: Path, path: PathKey) -> str:
    """`file:line` of the key at `path` in a service file that loaded (1 if not found)."""
    try:
        _, lines = _parse_text(_read_text(file))
    except _ViolationError:
        return f"{_display(file)}:1"
    return f"{_display(file)}:{_line_of(path, lines)}"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load_one(file: Path, parsed: ParsedServices) -> tuple[models.Service, dict[PathKey, int]]:
    raw = _read_bytes(file)
    key = content_key(raw)
    cached = parsed.get(key)
    if cached is not None:
        return cached, {}
    text = _decoded(raw)
    fast = _fast_data(text)
    if fast is not None:
        # The common case, a valid file, needs no line numbers: only a failure pays for
        # the round-trip parse that knows where every key is.
        try:
            service = models.Service.model_validate(fast)
        except ValidationError:
            pass
        else:
            parsed.put(key, service)
            return service, {}
    data, lines = _parse_text(text)
    try:
        service = models.Service.model_validate(data)
        parsed.put(key, service)
        return service, lines
    except ValidationError as exc:
        shown = _display(file)
        raise CatalogError(
            [f"{shown}:{line}: {path}: {msg}" for line, path, msg in _explain(exc, lines)]
        ) from None


def _fast_data(text: str) -> dict[str, Any] | None:
    """The document through the C parser when it is there; None on any doubt."""
    from ruamel.yaml.error import YAMLError

    try:
        documents = list(_safe_yaml().load_all(text))
    except (YAMLError, RecursionError, ValueError):
        return None
    if len(documents) != 1:
        return None
    try:
        data = _plain(documents[0], (), {}, [MAX_NODES])
    except _ViolationError:
        return None
    return data if isinstance(data, dict) else None


@functools.cache
def _safe_yaml() -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe")


def _read_text(file: Path) -> str:
    return _decoded(_read_bytes(file))


def _decoded(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _ViolationError(line, "(file)", f"not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise _ViolationError(1, "(file)", "the file is empty")
    return text


def _parse_text(text: str) -> tuple[Any, dict[PathKey, int]]:
    document = _compose(text)
    lines: dict[PathKey, int] = {}
    budget = [MAX_NODES]
    data = _plain(document, (), lines, budget)
    if not isinstance(data, dict):
        raise _ViolationError(
            1, "(document)", "expected a mapping with apiVersion, kind, metadata, spec"
        )
    return data, lines


def _read_bytes(file: Path) -> bytes:
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _ViolationError(
                1, "(file)", f"{size} bytes is over the limit of {MAX_FILE_BYTES}"
            )
        return file.read_bytes()
    except OSError as exc:
        raise _ViolationError(1, "(file)", f"cannot read: {exc.strerror}") from None


def _compose(text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    try:
        documents = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise _ViolationError(line, "(yaml)", " ".join(str(problem).split())) from None
    except (YAMLError, RecursionError, ValueError) as exc:
        raise _ViolationError(1, "(yaml)", " ".join(str(exc).split())[:200]) from None
    if len(documents) != 1:
        raise _ViolationError(1, "(yaml)", f"expected one YAML document, found {len(documents)}")
    return documents[0]


def _plain(node: Any, path: PathKey, lines: dict[PathKey, int], budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _ViolationError(1, "(yaml)", f"more than {MAX_NODES} nodes once aliases are expanded")
    if isinstance(node, dict):
        result: dict[str, Any] = {}
        for key, value in node.items():
            child = (*path, str(key))
            position = _position(node, "key", key)
            if position is not None:
                lines[child] = position
            result[str(key)] = _plain(value, child, lines, budget)
        return result
    if isinstance(node, list):
        items: list[Any] = []
        for index, value in enumerate(node):
            child = (*path, index)
            position = _position(node, "item", index)
            if position is not None:
                lines[child] = position
            items.append(_plain(value, child, lines, budget))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return str(node)


def _position(container: Any, what: str, key: object) -> int | None:
    try:
        line, _ = getattr(container.lc, what)(key)
    except (AttributeError, KeyError, TypeError, IndexError):
        return None
    return int(line) + 1


def _explain(exc: ValidationError, lines: dict[PathKey, int]) -> list[tuple[int, str, str]]:
    explained = []
    for error in exc.errors(include_url=False):
        loc: PathKey = tuple(error["loc"])
        explained.append((_line_of(loc, lines), _dotted(loc) or "(document)", _message(error)))
    return explained


def _line_of(loc: PathKey, lines: dict[PathKey, int]) -> int:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _dotted(loc: PathKey) -> str:
    """`spec.slos[0].objective`; a key that is not a plain name is quoted, as in JSONPath."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(part):
            text += f"[{json.dumps(part)}]"
        else:
            text += f".{part}" if text else part
    return text


def _message(error: Any) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return _MISSING_MESSAGES.get(loc, "this field is required")
    if kind == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, _known_fields(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown field {name!r}{hint}"
    if loc[-2:] == ("deployment", "strategy") and kind == "literal_error":
        return "the deployment strategy must be 'canary' so a release can be judged early"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _known_fields() -> list[str]:
    names: set[str] = set()
    for value in vars(models).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            names.update(value.model_fields)
    return sorted(names)


def load_service_text(text: str, shown: str) -> models.Service:
    """One service from its file's text (as a commit holds it), errors naming `shown`."""
    fast = _fast_data(text)
    if fast is not None:
        try:
            return models.Service.model_validate(fast)
        except ValidationError:
            pass
    try:
        data, lines = _parse_text(text)
    except _ViolationError as v:
        raise CatalogError([f"{shown}:{v.line}: {v.path}: {v.message}"]) from None
    try:
        return models.Service.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(
            [f"{shown}:{line}: {path}: {msg}" for line, path, msg in _explain(exc, lines)]
        ) from None
