"""Edit the version a deployment target runs, in the text of its manifest.

A change lands as a pull request that a human reviews, so an edit must be exactly the line
that moves: ruamel.yaml's round trip keeps comments, key order and quoting, the file's own
indentation is detected so a re-dump does not reformat it, and every edit is checked
against the original text before it is returned.
"""

from __future__ import annotations

import difflib
import io
import itertools
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import ScalarString

from safedeploy.errors import BadInputError

# Docker's reference grammar for a tag; anything else would make the image unpullable.
TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

_BLOCK_KEY = re.compile(r"^(?P<indent> *)(?:- +)?[^\s#-][^#]*:\s*(?:#.*)?$")
_NO_WRAP = 1 << 16


class TargetLike(Protocol):
    """The fields of a catalog target that an edit needs (see domain/catalog.py)."""

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


class Editor(Protocol):
    def read_version(self, text: str, target: TargetLike) -> str: ...

    def set_version(self, text: str, target: TargetLike, version: str) -> str: ...


# --- YAML plumbing -------------------------------------------------------------------------


def _detect_indent(text: str) -> tuple[int, int]:
    """Return (mapping indent, sequence dash offset) as most of the file writes them."""
    mapping: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for line, following in itertools.pairwise(lines):
        opener = _BLOCK_KEY.match(line)
        if opener is None:
            continue
        key_col = len(line) - len(line.lstrip(" "))
        if line.lstrip().startswith("- "):
            # A key written after "- " sits two columns right of the dash.
            key_col += 2
        child_col = len(following) - len(following.lstrip(" "))
        if child_col < key_col:
            continue
        if following.lstrip().startswith("- "):
            offsets[child_col - key_col] += 1
        elif child_col > key_col:
            mapping[child_col - key_col] += 1
    indent = mapping.most_common(1)[0][0] if mapping else 2
    offset = offsets.most_common(1)[0][0] if offsets else 0
    return indent, offset


def _yaml_for(text: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _NO_WRAP
    indent, offset = _detect_indent(text)
    yaml.indent(mapping=indent, sequence=offset + 2, offset=offset)
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    yaml.explicit_start = first.startswith("---")
    return yaml


def _load(text: str, path: str) -> tuple[YAML, list[Any]]:
    yaml = _yaml_for(text)
    try:
        documents = list(yaml.load_all(text))
    except YAMLError as exc:
        raise BadInputError(f"{path}: not valid YAML: {exc}") from exc
    return yaml, documents


def _dump(yaml: YAML, documents: list[Any], original: str, path: str, field: str) -> str:
    buffer = io.StringIO()
    yaml.dump_all(documents, buffer)
    edited = buffer.getvalue()
    if not original.endswith("\n"):
        edited = edited.rstrip("\n")
    _ensure_minimal(original, edited, path, field)
    return _keep_comment_gaps(original, edited)


def _ensure_minimal(before: str, after: str, path: str, field: str) -> None:
    """Refuse an edit that would touch more than the one line it is about."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if not changes:
        return
    if len(changes) == 1:
        _, a_start, a_end, b_start, b_end = changes[0]
        if a_end - a_start <= 1 and b_end - b_start <= 1:
            return
    raise BadInputError(
        f"{path}: {field}: changing it would reformat other lines of the file; "
        "edit this file by hand"
    )


def _keep_comment_gaps(before: str, after: str) -> str:
    """Keep the spaces before a trailing comment as written, not ruamel's comment column."""
    old_lines = before.splitlines(keepends=True)
    new_lines = after.splitlines(keepends=True)
    if len(old_lines) != len(new_lines):
        return after
    for number, (old, new) in enumerate(zip(old_lines, new_lines, strict=True)):
        if old != new:
            new_lines[number] = _with_gap_of(old, new)
    return "".join(new_lines)


def _with_gap_of(old: str, new: str) -> str:
    for match in re.finditer(r"(?<=\S)(\s+)(#.*)$", old, re.DOTALL):
        comment = match.group(2)
        if new.endswith(comment) and new[: -len(comment)].endswith((" ", "\t")):
            return new[: -len(comment)].rstrip(" \t") + match.group(1) + comment
    return new


def _child(node: Any, key: str, path: str, field: str) -> Any:
    if not isinstance(node, CommentedMap) or key not in node:
        raise BadInputError(f"{path}: {field}: missing")
    return node[key]


def _same_style(old: Any, new: str) -> str:
    """Keep the quoting the file used for the value being replaced."""
    if isinstance(old, ScalarString):
        styled: str = type(old)(new)
        return styled
    return new


def _check_tag(version: str, path: str) -> None:
    if TAG_PATTERN.fullmatch(version) is None:
        raise BadInputError(f"{path}: {version!r} is not a valid image tag")


# --- rollout -------------------------------------------------------------------------------


def _rollout_document(documents: list[Any], path: str) -> CommentedMap:
    for document in documents:
        if isinstance(document, CommentedMap) and document.get("kind") == "Rollout":
            return document
    kinds = [d.get("kind") for d in documents if isinstance(d, CommentedMap)]
    raise BadInputError(f"{path}: kind: expected Rollout, found {kinds or 'no document'}")


def _rollout_container(document: CommentedMap, target: TargetLike) -> CommentedMap:
    path = target.path
    spec = _child(document, "spec", path, "spec")
    template = _child(spec, "template", path, "spec.template")
    pod_spec = _child(template, "spec", path, "spec.template.spec")
    field = "spec.template.spec.containers"
    containers = _child(pod_spec, "containers", path, field)
    if not isinstance(containers, CommentedSeq) or not containers:
        raise BadInputError(f"{path}: {field}: no containers")
    if target.container is None:
        first: CommentedMap = containers[0]
        return first
    for container in containers:
        if isinstance(container, CommentedMap) and container.get("name") == target.container:
            return container
    raise BadInputError(f"{path}: {field}: no container named {target.container!r}")


def split_image(image: str, path: str) -> tuple[str, str]:
    """Split `repository:tag`; a digest-pinned image cannot be moved by its tag."""
    if "@" in image:
        raise BadInputError(
            f"{path}: image {image!r} is pinned by digest; safedeploy edits tags only"
        )
    repository, sep, tag = image.rpartition(":")
    # A colon before the last slash is a registry port, not a tag.
    if not sep or "/" in tag:
        raise BadInputError(f"{path}: image {image!r} has no tag")
    return repository, tag


class RolloutEditor:
    def read_version(self, text: str, target: TargetLike) -> str:
        _, documents = _load(text, target.path)
        container = _rollout_container(_rollout_document(documents, target.path), target)
        image = _child(container, "image", target.path, "containers[].image")
        return split_image(str(image), target.path)[1]

    def set_version(self, text: str, target: TargetLike, version: str) -> str:
        _check_tag(version, target.path)
        yaml, documents = _load(text, target.path)
        container = _rollout_container(_rollout_document(documents, target.path), target)
        old = _child(container, "image", target.path, "containers[].image")
        repository, _ = split_image(str(old), target.path)
        container["image"] = _same_style(old, f"{repository}:{version}")
        return _dump(yaml, documents, text, target.path, "containers[].image")


def set_paused(text: str, paused: bool, *, path: str = "rollout manifest") -> str:
    """Pause a Rollout (`spec.paused: true`) or remove the pause; canary steps stay as is."""
    yaml, documents = _load(text, path)
    spec = _child(_rollout_document(documents, path), "spec", path, "spec")
    if paused:
        if spec.get("paused") is True:
            return text
        if "paused" in spec:
            spec["paused"] = True
        else:
            # First key of spec: the line a reviewer looks for, and no trailing comment moves.
            spec.insert(0, "paused", True)
    elif "paused" in spec:
        del spec["paused"]
    else:
        return text
    return _dump(yaml, documents, text, path, "spec.paused")


# --- helm ----------------------------------------------------------------------------------


def _helm_parent(documents: list[Any], target: TargetLike) -> tuple[CommentedMap, str]:
    keys = target.values_key.split(".")
    if not documents or not all(keys):
        raise BadInputError(f"{target.path}: {target.values_key}: missing")
    node: Any = documents[0]
    for depth, key in enumerate(keys[:-1]):
        node = _child(node, key, target.path, ".".join(keys[: depth + 1]))
    if not isinstance(node, CommentedMap) or keys[-1] not in node:
        raise BadInputError(f"{target.path}: {target.values_key}: missing")
    return node, keys[-1]


class HelmEditor:
    def read_version(self, text: str, target: TargetLike) -> str:
        _, documents = _load(text, target.path)
        parent, key = _helm_parent(documents, target)
        value = parent[key]
        if isinstance(value, CommentedMap | CommentedSeq) or value is None:
            raise BadInputError(f"{target.path}: {target.values_key}: not a version")
        return str(value)

    def set_version(self, text: str, target: TargetLike, version: str) -> str:
        _check_tag(version, target.path)
        yaml, documents = _load(text, target.path)
        parent, key = _helm_parent(documents, target)
        parent[key] = _same_style(parent[key], version)
        return _dump(yaml, documents, text, target.path, target.values_key)


# --- kustomize -----------------------------------------------------------------------------


def _kustomize_image(documents: list[Any], target: TargetLike) -> CommentedMap:
    path = target.path
    if target.image is None:
        raise BadInputError(f"{path}: target.image: required for a kustomize target")
    root = documents[0] if documents else None
    images = _child(root, "images", path, "images")
    if isinstance(images, CommentedSeq):
        for entry in images:
            if isinstance(entry, CommentedMap) and entry.get("name") == target.image:
                if "digest" in entry:
                    raise BadInputError(
                        f"{path}: images[{target.image}].digest: pinned by digest; "
                        "safedeploy edits tags only"
                    )
                return entry
    raise BadInputError(f"{path}: images: no image named {target.image!r}")


class KustomizeEditor:
    def read_version(self, text: str, target: TargetLike) -> str:
        _, documents = _load(text, target.path)
        entry = _kustomize_image(documents, target)
        field = f"images[{target.image}].newTag"
        return str(_child(entry, "newTag", target.path, field))

    def set_version(self, text: str, target: TargetLike, version: str) -> str:
        _check_tag(version, target.path)
        yaml, documents = _load(text, target.path)
        entry = _kustomize_image(documents, target)
        entry["newTag"] = _same_style(entry.get("newTag"), version)
        return _dump(yaml, documents, text, target.path, f"images[{target.image}].newTag")


EDITORS: Mapping[str, Editor] = {
    "rollout": RolloutEditor(),
    "helm": HelmEditor(),
    "kustomize": KustomizeEditor(),
}


def editor_for(target: TargetLike) -> Editor:
    try:
        return EDITORS[target.kind]
    except KeyError:
        known = ", ".join(sorted(EDITORS))
        raise BadInputError(f"{target.path}: kind: {target.kind!r}, expected {known}") from None


def read_version(text: str, target: TargetLike) -> str:
    return editor_for(target).read_version(text, target)


def set_version(text: str, target: TargetLike, version: str) -> str:
    return editor_for(target).set_version(text, target, version)


def version_reader(target: TargetLike) -> Callable[[str], str]:
    """A one-argument reader, the shape EnvRepo.versions_of expects."""
    return lambda text: read_version(text, target)
