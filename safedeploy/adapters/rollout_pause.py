"""Pause a Rollout (`spec.paused: true`) or lift the pause, as one line of its manifest.

Only an Argo Rollout has a pause that holds promotion where it is; a Deployment, a Helm
values file or a kustomization has none that safedeploy could write (PAUSABLE_TARGETS in
domain/catalog.py). The pause is a new first line of `spec`, indented as
that mapping's keys are, or an existing `paused: false` flipped in place; lifting it
removes the line the pause added. Each edit is proven like a version edit.
"""

from __future__ import annotations

from typing import Final

from safedeploy.adapters.manifest_targets import TargetLike, workload_document
from safedeploy.adapters.scalar_splice import Claim, entry_pairs, proven, replace_scalar
from safedeploy.adapters.yaml_nodes import MappingNode, Node, ScalarNode, compose, entry, line
from safedeploy.domain.catalog import PAUSABLE_TARGETS
from safedeploy.errors import BadInputError

_BOOL_TAG: Final = "tag:yaml.org,2002:bool"
_BOOLS: Final = ("true", "false")


def _spec(text: str, target: TargetLike) -> tuple[list[Node], Node, MappingNode]:
    """The documents, the `spec` key and the spec mapping of the target's Rollout."""
    if target.kind not in PAUSABLE_TARGETS:
        raise BadInputError(
            f"{target.path}: kind: {target.kind} has no pause safedeploy can write; only a "
            "Rollout (spec.paused) holds a promotion"
        )
    documents = compose(text, target.path)
    document = workload_document(documents, "Rollout", target.name, target.path)
    spec = entry(document, "spec", target.path, "spec")
    if not isinstance(spec, MappingNode) or not spec.value:
        raise BadInputError(f"{target.path}:{line(document)}: spec: missing or empty")
    key = next(k for k, v in document.value if v is spec)
    return documents, key, spec


def _paused(spec: MappingNode, path: str) -> ScalarNode | None:
    value = entry(spec, "paused", path, "spec.paused")
    if value is None:
        return None
    if not isinstance(value, ScalarNode) or value.tag != _BOOL_TAG or value.value not in _BOOLS:
        raise BadInputError(f"{path}:{line(value)}: spec.paused: not true or false")
    return value


def pause(text: str, target: TargetLike) -> str:
    documents, key, spec = _spec(text, target)
    paused = _paused(spec, target.path)
    if paused is not None:
        if paused.value == "true":
            return text
        return _flipped(text, documents, paused, "true", target)
    first = spec.value[0][0]
    column = int(first.start_mark.column)
    first_line = int(first.start_mark.index) - column
    if spec.flow_style or text[first_line : int(first.start_mark.index)] != " " * column:
        raise BadInputError(
            f"{target.path}:{line(first)}: spec: not written one key per line; add "
            "spec.paused: true by hand"
        )
    # Right under `spec:`, so that a comment above the first key stays with that key.
    end_of_spec_line = text.find("\n", int(key.end_mark.index))
    start = end_of_spec_line + 1 if 0 <= end_of_spec_line < first_line else first_line
    newline = "\r\n" if text[: text.find("\n", start) + 1].endswith("\r\n") else "\n"
    edited = text[:start] + " " * column + "paused: true" + newline + text[start:]
    return _checked(documents, edited, target, _inserted(spec))


def lift_pause(text: str, target: TargetLike) -> str:
    """Lift a pause; a target that cannot be paused has none to lift."""
    if target.kind not in PAUSABLE_TARGETS:
        return text
    documents, _, spec = _spec(text, target)
    paused = _paused(spec, target.path)
    if paused is None or paused.value == "false":
        return text
    key = next(k for k, v in spec.value if v is paused)
    start = int(key.start_mark.index) - int(key.start_mark.column)
    end = text.find("\n", int(paused.end_mark.index))
    end = len(text) if end < 0 else end + 1
    alone = text[start : int(key.start_mark.index)].strip(" ") == ""
    rest = text[int(paused.end_mark.index) : end].strip()
    if alone and not rest and len(spec.value) > 1:
        return _checked(documents, text[:start] + text[end:], target, _removed(spec, paused))
    return _flipped(text, documents, paused, "false", target)


def _flipped(
    text: str, documents: list[Node], paused: ScalarNode, value: str, target: TargetLike
) -> str:
    return replace_scalar(text, documents, paused, value, path=target.path, field="spec.paused")


def _checked(documents: list[Node], after: str, target: TargetLike, claim: Claim) -> str:
    if not proven(documents, after, target.path, claim):
        raise BadInputError(f"{target.path}: spec.paused: the edit would change more than spec")
    return after


def _inserted(spec: MappingNode) -> Claim:
    def claim(old: Node, new: Node) -> list[tuple[Node, Node]] | bool | None:
        if old is not spec:
            return None
        if not isinstance(new, MappingNode) or len(new.value) != len(old.value) + 1:
            return False
        key, value = new.value[0]
        if (key.value, value.value, value.tag) != ("paused", "true", _BOOL_TAG):
            return False
        return entry_pairs(old.value, new.value[1:])

    return claim


def _removed(spec: MappingNode, paused: ScalarNode) -> Claim:
    kept = [pair for pair in spec.value if pair[1] is not paused]

    def claim(old: Node, new: Node) -> list[tuple[Node, Node]] | bool | None:
        if old is not spec:
            return None
        if not isinstance(new, MappingNode) or len(new.value) != len(kept):
            return False
        return entry_pairs(kept, new.value)

    return claim
