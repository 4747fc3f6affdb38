"""Read and move the version a deployment target runs, in the text of its manifest.

A change lands as a pull request that a human reviews and ArgoCD applies, so an edit is
exactly the characters of one value: the finder for the target's kind locates the scalar
through the parser's positions, the new text is spliced in its place, and the edited file
is parsed again to prove that nothing else moved (scalar_splice.py). The file is never
dumped again, so its formatting, comments and headers are whatever they were.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from safedeploy.adapters.manifest_targets import (
    WORKLOAD_KINDS,
    Found,
    TargetLike,
    find_in_kustomization,
    find_in_values,
    find_in_workload,
    workload_document,
    workload_ref,
)
from safedeploy.adapters.scalar_splice import replace_scalar
from safedeploy.adapters.yaml_nodes import Node, compose, line
from safedeploy.domain.images import is_digest, is_tag, is_version, parse_image, split_version
from safedeploy.errors import BadInputError

__all__ = [
    "FINDERS",
    "TargetLike",
    "locate",
    "read_version",
    "set_version",
    "version_reader",
    "version_target",
]

Finder = Callable[[list[Node], TargetLike], Found]

# Explicit registry: target kind -> where its version lives.
FINDERS: Final[Mapping[str, Finder]] = {
    **dict.fromkeys(WORKLOAD_KINDS, find_in_workload),
    "helm": find_in_values,
    "kustomize": find_in_kustomization,
}


def locate(text: str, target: TargetLike) -> tuple[list[Node], Found]:
    """The file's documents and the one scalar in them that holds the version."""
    try:
        finder = FINDERS[target.kind]
    except KeyError:
        known = ", ".join(sorted(FINDERS))
        raise BadInputError(f"{target.path}: kind: {target.kind!r}, expected {known}") from None
    documents = compose(text, target.path)
    return documents, finder(documents, target)


def _where(target: TargetLike, found: Found) -> str:
    return f"{target.path}:{line(found.node)}: {found.field}"


def version_of(found: Found, target: TargetLike) -> str:
    """The version as the file writes it: a tag, a digest, or tag@digest, always text."""
    text: str = found.node.value
    where = _where(target, found)
    if not text:
        fallback = " (the chart then runs its appVersion)" if target.kind == "helm" else ""
        raise BadInputError(
            f"{where}: empty{fallback}; safedeploy moves a version written in this file"
        )
    if found.holds == "image":
        ref = parse_image(text)
        if ref.tag is None and ref.digest is None:
            raise BadInputError(
                f"{where}: image {text!r} has neither a tag nor a digest; safedeploy moves "
                "one of them"
            )
        version = ref.version
    else:
        version = text
    if not is_version(version):
        raise BadInputError(f"{where}: {version!r} is not an image tag or digest")
    return version


def read_version(text: str, target: TargetLike) -> str:
    return version_of(locate(text, target)[1], target)


def version_reader(target: TargetLike) -> Callable[[str], str]:
    """A one-argument reader, the shape EnvRepo.versions_of expects."""
    return lambda text: read_version(text, target)


def _new_value(found: Found, target: TargetLike, version: str) -> str:
    where = _where(target, found)
    if not is_version(version):
        raise BadInputError(f"{where}: {version!r} is not an image tag or digest")
    if found.holds == "image":
        return str(parse_image(found.node.value).with_version(version))
    tag, digest = split_version(version)
    if found.holds == "tag" and digest is None and tag is not None and is_tag(tag):
        return version
    if found.holds == "digest" and tag is None and is_digest(version):
        return version
    raise BadInputError(f"{where}: holds a {found.holds}; {version!r} is not one")


def set_version(text: str, target: TargetLike, version: str) -> str:
    """`text` with only the version's characters changed; the same text if it is already so."""
    documents, found = locate(text, target)
    current = version_of(found, target)
    value = _new_value(found, target, version)
    if current == version:
        return text
    edited = replace_scalar(text, documents, found.node, value, path=target.path, field=found.field)
    if read_version(edited, target) != version:  # the finder must agree with the splice
        raise BadInputError(f"{_where(target, found)}: the edit did not read back as {version}")
    return edited


@dataclass(frozen=True)
class WorkloadTarget:
    """The object a Rollout's workloadRef points at, in the file that holds it."""

    path: str
    kind: str
    name: str | None
    container: str | None
    values_key: str = "image.tag"
    image: str | None = None
    workload_path: str | None = None


def version_target(target: TargetLike, read: Callable[[str], str]) -> TargetLike:
    """The target whose file holds the version: itself, or for a Rollout with a workloadRef
    to another file (spec.target.workload_path), the referenced workload in that file."""
    if target.kind != "rollout" or target.workload_path is None:
        return target
    documents = compose(read(target.path), target.path)
    rollout = workload_document(documents, "Rollout", target.name, target.path)
    ref = workload_ref(rollout, target.path)
    if ref is None:
        raise BadInputError(
            f"{target.path}:{line(rollout)}: spec.workloadRef: missing, but "
            "spec.target.workload_path is set; the Rollout holds its own template"
        )
    return WorkloadTarget(target.workload_path, ref.kind, ref.name, target.container)
