"""Where the version is in a manifest: the one scalar that names the image, tag or digest.

Each kind of target has a finder over the composed documents (Rollout, Deployment,
StatefulSet and DaemonSet pod templates, Helm values, kustomize images). A finder either
returns exactly one scalar or raises one line naming the file, the line, the field, what
it found and what is supported; it never picks among several candidates.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, Protocol

from safedeploy.adapters.yaml_nodes import (
    STR_TAG,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    entry,
    line,
)
from safedeploy.errors import BadInputError

Holds = Literal["image", "tag", "digest"]

# catalog kind -> the Kubernetes kind whose pod template holds the image.
WORKLOAD_KINDS: dict[str, str] = {
    "rollout": "Rollout",
    "deployment": "Deployment",
    "statefulset": "StatefulSet",
    "daemonset": "DaemonSet",
}
_CATALOG_KIND = {kind: key for key, kind in WORKLOAD_KINDS.items()}


class TargetLike(Protocol):
    """The fields of a catalog target that finding a version needs (domain/catalog.py)."""

    @property
    def path(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def container(self) -> str | None: ...

    @property
    def values_key(self) -> str: ...

    @property
    def image(self) -> str | None: ...

    @property
    def name(self) -> str | None: ...

    @property
    def workload_path(self) -> str | None: ...


class Found(NamedTuple):
    """The scalar holding the version, the field path shown to people, and what it holds."""

    node: ScalarNode
    field: str
    holds: Holds


class WorkloadRef(NamedTuple):
    kind: str
    name: str
    line: int


def _fail(path: str, node: Node | None, message: str) -> BadInputError:
    where = f"{path}:{line(node)}" if node is not None else path
    return BadInputError(f"{where}: {message}")


def _mapping(
    node: Node | None, path: str, field: str, parent: Node, supported: str = ""
) -> MappingNode:
    if isinstance(node, MappingNode):
        return node
    if node is None:
        raise _fail(path, parent, f"{field}: missing")
    found = f"{field}: expected a mapping, found {_shape(node)}"
    raise _fail(path, node, f"{found}; {supported}" if supported else found)


def _shape(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return f"the value {node.value!r}" if node.value else "nothing"
    return "a list" if isinstance(node, SequenceNode) else "a mapping"


def _keys(mapping: MappingNode) -> str:
    return ", ".join(k.value for k, _ in mapping.value if isinstance(k, ScalarNode)) or "no keys"


def _text(mapping: MappingNode, key: str, path: str) -> str | None:
    value = entry(mapping, key, path, key)
    return value.value if isinstance(value, ScalarNode) else None


# --- workloads -----------------------------------------------------------------------------


def workload_document(documents: list[Node], kind: str, name: str | None, path: str) -> MappingNode:
    """The one document of `kind` (named `name`, if given) in a multi-document file."""
    found: list[tuple[MappingNode, str | None]] = []
    for document in documents:
        if isinstance(document, MappingNode) and _text(document, "kind", path) == kind:
            metadata = entry(document, "metadata", path, "metadata")
            named = _text(metadata, "name", path) if isinstance(metadata, MappingNode) else None
            found.append((document, named))
    chosen = [doc for doc, named in found if name is None or named == name]
    if len(chosen) == 1:
        return chosen[0]
    wanted = f"{kind} named {name!r}" if name else f"a {kind}"
    if len(chosen) > 1:
        lines = ", ".join(str(line(doc)) for doc in chosen)
        raise _fail(
            path,
            chosen[1],
            f"kind: {len(chosen)} {kind} documents (lines {lines}); set spec.target.name "
            "to the metadata.name of the one to edit",
        )
    seen = ", ".join(_described(doc, path) for doc in documents) or "no document"
    raise BadInputError(f"{path}: kind: expected {wanted}, found {seen}")


def _described(document: Node, path: str) -> str:
    if not isinstance(document, MappingNode):
        return f"{_shape(document)} (line {line(document)})"
    kind = _text(document, "kind", path) or "no kind"
    metadata = entry(document, "metadata", path, "metadata")
    named = _text(metadata, "name", path) if isinstance(metadata, MappingNode) else None
    return f"{kind}{f' {named!r}' if named else ''} (line {line(document)})"


def workload_ref(document: MappingNode, path: str) -> WorkloadRef | None:
    """A Rollout's spec.workloadRef, when it borrows the pod template of another object."""
    spec = _mapping(entry(document, "spec", path, "spec"), path, "spec", document)
    ref = entry(spec, "workloadRef", path, "spec.workloadRef")
    if ref is None:
        return None
    ref = _mapping(ref, path, "spec.workloadRef", spec)
    kind, name = _text(ref, "kind", path), _text(ref, "name", path)
    if kind not in _CATALOG_KIND or not name:
        raise _fail(
            path,
            ref,
            f"spec.workloadRef: points at {kind or 'no kind'} {name or '(no name)'}; "
            f"supported: {', '.join(sorted(_CATALOG_KIND))} by name",
        )
    return WorkloadRef(_CATALOG_KIND[kind], name, line(ref))


def find_in_workload(documents: list[Node], target: TargetLike) -> Found:
    """The image of the target's container in a Rollout, Deployment, StatefulSet or DaemonSet."""
    path = target.path
    document = workload_document(documents, WORKLOAD_KINDS[target.kind], target.name, path)
    if target.kind == "rollout":
        ref = workload_ref(document, path)
        if ref is not None:
            return _through_ref(documents, ref, target)
    return _image_of(document, target)


def _through_ref(documents: list[Node], ref: WorkloadRef, target: TargetLike) -> Found:
    kind = WORKLOAD_KINDS[ref.kind]
    held = [
        doc
        for doc in documents
        if isinstance(doc, MappingNode) and _text(doc, "kind", target.path) == kind
    ]
    if not any(_named(doc, ref.name, target.path) for doc in held):
        raise BadInputError(
            f"{target.path}:{ref.line}: spec.workloadRef: {kind} {ref.name!r} is not in this "
            "file; set spec.target.workload_path to the file that holds it"
        )
    return _image_of(workload_document(documents, kind, ref.name, target.path), target)


def _named(document: MappingNode, name: str, path: str) -> bool:
    metadata = entry(document, "metadata", path, "metadata")
    return isinstance(metadata, MappingNode) and _text(metadata, "name", path) == name


def _image_of(document: MappingNode, target: TargetLike) -> Found:
    path = target.path
    spec = _mapping(entry(document, "spec", path, "spec"), path, "spec", document)
    template = _mapping(entry(spec, "template", path, "spec.template"), path, "spec.template", spec)
    pod = _mapping(
        entry(template, "spec", path, "spec.template.spec"), path, "spec.template.spec", template
    )
    container, field = _container(pod, target)
    image = entry(container, "image", path, f"{field}.image")
    if not isinstance(image, ScalarNode) or not image.value:
        raise _fail(path, image or container, f"{field}.image: missing")
    return Found(image, f"{field}.image", "image")


def _container(pod: MappingNode, target: TargetLike) -> tuple[MappingNode, str]:
    path = target.path
    lists: dict[str, list[MappingNode]] = {}
    for key in ("containers", "initContainers"):
        field = f"spec.template.spec.{key}"
        value = entry(pod, key, path, field)
        if isinstance(value, SequenceNode):
            lists[key] = [c for c in value.value if isinstance(c, MappingNode)]
        elif value is not None:
            raise _fail(path, value, f"{field}: expected a list, found {_shape(value)}")
    named = [
        (key, container, _text(container, "name", path))
        for key, containers in lists.items()
        for container in containers
    ]
    if target.container is None:
        main = [(k, c, n) for k, c, n in named if k == "containers"]
        if len(main) == 1:
            key, container, name = main[0]
            return container, f"spec.template.spec.{key}[{name}]"
        listed = ", ".join(str(n) for _, _, n in main) or "none"
        raise _fail(
            path,
            pod,
            f"spec.template.spec.containers: {len(main)} containers ({listed}); set "
            "spec.target.container to the one whose image is the version",
        )
    matches = [(k, c) for k, c, n in named if n == target.container]
    if len(matches) == 1:
        key, container = matches[0]
        return container, f"spec.template.spec.{key}[{target.container}]"
    if matches:
        lines = ", ".join(str(line(c)) for _, c in matches)
        raise _fail(
            path,
            matches[1][1],
            f"spec.template.spec: {len(matches)} containers named {target.container!r} "
            f"(lines {lines}); which one is the version is ambiguous",
        )
    listed = "; ".join(f"{k}: {', '.join(str(n) for kk, _, n in named if kk == k)}" for k in lists)
    raise _fail(
        path,
        pod,
        f"spec.template.spec: no container named {target.container!r} ({listed or 'none'})",
    )


# --- helm values ---------------------------------------------------------------------------


def find_in_values(documents: list[Node], target: TargetLike) -> Found:
    """`image.tag`, `image` holding `repo:tag`, a nested key, or an `image.digest`."""
    path, key = target.path, target.values_key
    root = _single_root(documents, path)
    parts = key.split(".")
    holder: MappingNode | None = None
    value = root
    for depth, part in enumerate(parts):
        field = ".".join(parts[: depth + 1])
        above = ".".join(parts[:depth]) or "(top level)"
        holder = _mapping(value, path, above, holder or root, _VALUES_SUPPORTED)
        child = entry(holder, part, path, field)
        if child is None:
            raise _fail(path, holder, f"{field}: missing (found {_keys(holder)})")
        value = child
    if isinstance(value, MappingNode):
        return _image_mapping(value, key, path)
    if not isinstance(value, ScalarNode):
        raise _fail(path, value, f"{key}: a list; {_VALUES_SUPPORTED}")
    holds: Holds = "digest" if parts[-1] == "digest" else "tag"
    if holds == "tag" and any(c in value.value for c in ":/@"):
        holds = "image"
    if holds == "tag" and holder is not None:
        _refuse_digest_beside(holder, key, path)
    return Found(value, key, holds)


_VALUES_SUPPORTED = (
    "supported: values_key naming a tag (image.tag), an image string (image: repo:tag), "
    "a digest (image.digest) or a mapping with tag"
)


def _image_mapping(mapping: MappingNode, key: str, path: str) -> Found:
    tag = entry(mapping, "tag", path, f"{key}.tag")
    if not isinstance(tag, ScalarNode):
        found = f"{key}: a mapping without tag (found {_keys(mapping)})"
        raise _fail(path, mapping, f"{found}; {_VALUES_SUPPORTED}")
    _refuse_digest_beside(mapping, f"{key}.tag", path)
    return Found(tag, f"{key}.tag", "tag")


def _refuse_digest_beside(mapping: MappingNode, key: str, path: str) -> None:
    digest = entry(mapping, "digest", path, "digest")
    if isinstance(digest, ScalarNode) and digest.value and digest.tag == STR_TAG:
        field = key.rpartition(".")[0] + ".digest" if "." in key else "digest"
        raise _fail(
            path,
            digest,
            f"{field}: set beside {key}, so the image is pulled by digest; set "
            f"spec.target.values_key to {field} to move the digest",
        )


def _single_root(documents: list[Node], path: str) -> Node:
    if len(documents) != 1:
        raise BadInputError(
            f"{path}: {len(documents)} YAML documents; a values file or kustomization has one"
        )
    return documents[0]


# --- kustomize -----------------------------------------------------------------------------


def find_in_kustomization(documents: list[Node], target: TargetLike) -> Found:
    """`images[name].newTag`, or `images[name].digest` when the image is pinned by digest."""
    path = target.path
    if target.image is None:
        raise BadInputError(f"{path}: spec.target.image: required for a kustomize target")
    root = _single_root(documents, path)
    root = _mapping(root, path, "(top level)", root)
    images = entry(root, "images", path, "images")
    if not isinstance(images, SequenceNode):
        found = f"found {_shape(images)}" if images is not None else "missing"
        raise _fail(
            path,
            images or root,
            f"images: {found}; supported: a list of entries with name and newTag or digest",
        )
    listed = [e for e in images.value if isinstance(e, MappingNode)]
    entries = [e for e in listed if _text(e, "name", path) == target.image]
    field = f"images[{target.image}]"
    if len(entries) != 1:
        if entries:
            lines = ", ".join(str(line(e)) for e in entries)
            raise _fail(path, entries[1], f"{field}: listed {len(entries)} times (lines {lines})")
        names = ", ".join(str(_text(e, "name", path)) for e in listed)
        raise _fail(path, images, f"images: no image named {target.image!r} (found {names})")
    image = entries[0]
    # kustomize pulls by digest when one is given, whatever newTag says.
    keys: tuple[tuple[str, Holds], ...] = (("digest", "digest"), ("newTag", "tag"))
    for key, holds in keys:
        value = entry(image, key, path, f"{field}.{key}")
        if isinstance(value, ScalarNode) and value.value:
            return Found(value, f"{field}.{key}", holds)
    raise _fail(path, image, f"{field}: neither newTag nor digest; safedeploy moves one of them")
