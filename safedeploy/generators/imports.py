"""What every import of another tool's SLO files shares: reading the files, naming the
document a refusal is about, who owns and approves a service, building and writing it.

An import is all or nothing. Each file is read and mapped before anything is written, the
first problem raises a `BadInputError` naming the file, the document, the field and what
is supported, and an existing `services/<name>.yaml` is never overwritten: a half-imported
catalog would judge releases against SLOs nobody wrote.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from safedeploy.domain.catalog import API_VERSION, Service
from safedeploy.errors import BadInputError

DEFAULT_PERIOD = "30d"
OWNER_KEYS = ("owner", "team")
APPROVER_KEYS = ("approvers",)
_TARGET_OPTIONS = {
    "kind": "--target-kind",
    "path": "--target-path",
    "container": "--container",
    "image": "--image",
}


@dataclass(frozen=True)
class Deployment:
    """What the imported formats do not describe, from the command line.

    `{name}` (or `<name>`) in the target path stands for the service.
    """

    target_kind: str = "rollout"
    target_path: str = "apps/{name}/rollout.yaml"
    container: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class People:
    """Owner and approvers from the command line, for services whose files name none."""

    owner: str | None = None
    approvers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """One object of a file, numbered in file order (documents and list items alike)."""

    file: str
    number: int
    kind: str
    name: str
    body: Mapping[str, Any]

    @property
    def where(self) -> str:
        return f"{self.file}: document {self.number} ({self.kind} {self.name})"

    def fail(self, field: str, message: str) -> BadInputError:
        return BadInputError(f"{self.where}: {field}: {message}")


@dataclass
class Imported:
    """The services an import wrote and what the user should know about how."""

    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_objects(file: Path) -> list[Any]:
    """Every object of a YAML (or JSON) file: documents, and the items of a top-level list."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{file}: cannot read: {exc}") from None
    try:
        loaded = [d for d in YAML(typ="safe").load_all(text) if d is not None]
    except YAMLError as exc:
        raise BadInputError(f"{file}: not YAML: {' '.join(str(exc).split())[:200]}") from None
    objects: list[Any] = []
    for item in loaded:
        objects.extend(item if isinstance(item, list) else [item])
    if not objects:
        raise BadInputError(f"{file}: empty; expected SLO documents")
    return objects


def text_map(doc: Document, value: Any, field: str) -> dict[str, str]:
    """A mapping of names to scalars, the scalars spelled as YAML would (`true`, `2`)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise doc.fail(field, "expected a mapping of names to values")
    result = {}
    for key, item in value.items():
        if isinstance(item, bool):
            result[str(key)] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            result[str(key)] = str(item)
        else:
            raise doc.fail(f"{field}.{key}", "expected a single value")
    return result


def names_in(value: Any) -> list[str]:
    """A label or annotation naming people: one name, a list of them, or `a, b`."""
    items = value if isinstance(value, list) else str(value).split(",") if value else []
    return [str(item).strip() for item in items if str(item).strip()]


Labels = tuple[str, str, Mapping[str, Any]]
"""Where a format keeps labels: the field (`metadata.labels`), whose they are
(` of Service checkout`, or empty) and the labels themselves."""


def people_from(
    sources: Iterable[Labels], cli: People
) -> tuple[str | None, tuple[str, ...], list[str]]:
    """Owner, approvers and how they were found, from `sources` most specific first; the
    command line fills what none of them names. A list of owners makes the first the
    owner, and the note says so, since the catalog holds one."""
    owner: str | None = None
    approvers: tuple[str, ...] = ()
    notes: list[str] = []
    for place, whose, labels in sources:
        for key in OWNER_KEYS:
            found = names_in(labels.get(key))
            if owner is None and found:
                owner = found[0]
                others = f" (the first of {', '.join(found)})" if len(found) > 1 else ""
                notes.append(f"owner {owner} from {place}.{key}{whose}{others}")
        for key in APPROVER_KEYS:
            found = names_in(labels.get(key))
            if not approvers and found:
                approvers = tuple(found)
                notes.append(f"approvers {', '.join(found)} from {place}.{key}{whose}")
    if owner is None and cli.owner:
        owner = cli.owner
        notes.append(f"owner {owner} from --owner")
    if not approvers and cli.approvers:
        approvers = cli.approvers
        notes.append(f"approvers {', '.join(approvers)} from --approvers")
    return owner, approvers, notes


def build_service(
    name: str,
    metadata: dict[str, Any],
    slos: list[dict[str, Any]],
    deployment: Deployment,
    origin: Document,
) -> Service:
    """The catalog `Service`, validated; what fails names the option or the document."""
    target: dict[str, Any] = {
        "kind": deployment.target_kind,
        "path": deployment.target_path.replace("{name}", name).replace("<name>", name),
    }
    if deployment.container:
        target["container"] = deployment.container
    if deployment.image:
        target["image"] = deployment.image
    data = {
        "apiVersion": API_VERSION,
        "kind": "Service",
        "metadata": {"name": name, **metadata},
        "spec": {
            "target": target,
            "deployment": {"strategy": "canary"},
            "rollback": {"strategy": "revert-image"},
            "slos": slos,
        },
    }
    try:
        return Service.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = [str(p) for p in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc[:2] == ["spec", "target"]:
            # The target comes from the command line, not from the file: name the option.
            option = _TARGET_OPTIONS.get(loc[2] if len(loc) > 2 else "image", "--image")
            raise BadInputError(f"{option}: {message}") from None
        raise origin.fail(_field_of(loc, slos), message) from None


def _field_of(loc: list[str], slos: list[dict[str, Any]]) -> str:
    """The catalog field a validation error is about, with the SLO named, not numbered."""
    if loc[:2] == ["spec", "slos"] and len(loc) > 2 and loc[2].isdigit():
        slo = slos[int(loc[2])].get("name", loc[2])
        rest = [part for part in loc[3:] if part != "[key]"]
        return f"SLO {slo}: {'.'.join(rest) or 'slo'}"
    if loc[:2] == ["metadata", "name"]:
        return "the service name"
    return ".".join(loc)


def render_service(service: Service, header: str) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    buffer.write(f"# {header}\n")
    yaml.dump(service.model_dump(mode="json", exclude_defaults=True), buffer)
    return buffer.getvalue()


def write_services(services: list[Service], out: Path, header: str) -> list[Path]:
    """Write `out/<name>.yaml` for every service, or nothing if any one already exists."""
    from safedeploy.adapters.store import atomic_write_bytes

    targets = {out / f"{s.name}.yaml": s for s in services}
    existing = [p for p in targets if p.exists()]
    if existing:
        raise BadInputError(f"{existing[0]}: already exists; import never overwrites a service")
    out.mkdir(parents=True, exist_ok=True)
    for path, service in targets.items():
        atomic_write_bytes(path, render_service(service, header).encode("utf-8"))
    return list(targets)


def check_people(
    name: str, owner: str | None, approvers: tuple[str, ...], origin: Document, labels: str
) -> None:
    """Refuse a service nobody owns or nobody could approve proposals for; `labels` is the
    field of `origin` where the format keeps its labels."""
    if owner is None:
        raise origin.fail(
            f"{labels}.owner",
            f"no owner for service {name}; label it owner (or team), or pass --owner",
        )
    if not approvers:
        raise origin.fail(
            f"{labels}.approvers",
            f"nobody could approve proposals for service {name}; label it approvers, "
            "or pass --approvers",
        )
