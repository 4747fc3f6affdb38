"""A proposal's change, applied to the environment repo's files as they are now.

The same function serves reconcile, which applies every new proposal in memory before it
writes one (a proposal that cannot be applied is never made), `validate --env-repo`, and
approval, which pushes the result: what a person approves is what was checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from safedeploy.adapters import manifests, rollout_pause
from safedeploy.domain.catalog import Target
from safedeploy.domain.images import join_version, split_version
from safedeploy.domain.proposals import PauseChange, ProposalKind, TargetChange, VersionChange
from safedeploy.domain.versions import TargetCheck
from safedeploy.errors import BadInputError

Read = Callable[[str], str]


class Edit(NamedTuple):
    """One file of the environment repo, before and after the change."""

    path: str
    before: str
    after: str


def edit_for(kind: ProposalKind, change: TargetChange, target: Target, read: Read) -> Edit:
    """The edit that carries out the change; BadInputError naming file, line and field."""
    if isinstance(change, PauseChange):
        text = read(target.path)
        return Edit(target.path, text, rollout_pause.pause(text, target))
    located = manifests.version_target(target, read)
    if kind == "promote-canary":
        return _promotion(target, located, change, read)
    text = read(located.path)
    return Edit(located.path, text, _moved(text, located, change))


def _moved(text: str, located: manifests.TargetLike, change: VersionChange) -> str:
    current = manifests.read_version(text, located)
    if current == change.to_version:
        return text
    if current != change.from_version:
        raise BadInputError(
            f"{located.path} runs {current}, not {change.from_version} as when the proposal "
            "was made; the environment moved on (reject this proposal)"
        )
    return manifests.set_version(text, located, change.to_version)


def _promotion(
    target: Target, located: manifests.TargetLike, change: VersionChange, read: Read
) -> Edit:
    """Promotion lifts the pause, and moves the version if the canary is not yet there."""
    rollout = read(target.path)
    lifted = rollout_pause.lift_pause(rollout, target)
    if located.path == target.path:
        return Edit(target.path, rollout, _moved(lifted, located, change))
    text = read(located.path)
    moved = _moved(text, located, change)
    if moved == text:
        return Edit(target.path, rollout, lifted)
    if lifted != rollout:
        raise BadInputError(
            f"{target.path}: promoting would change two files (the pause here and the version "
            f"in {located.path}); lift the pause by hand first"
        )
    return Edit(located.path, text, moved)


_PROBE_TAG = "safedeploy-probe"
_PROBE_DIGEST = "sha256:" + "0" * 64


def _probe(version: str) -> str:
    """Another version of the same shape (tag, digest or both) to try an edit with."""
    tag, digest = split_version(version)
    probe = join_version(
        _PROBE_TAG if tag is not None else None, _PROBE_DIGEST if digest is not None else None
    )
    if probe == version:
        probe = probe[:-1] + ("1" if probe[-1] != "1" else "2")
    return probe


def check_target(target: Target, read: Read) -> TargetCheck:
    """Read the version now and prove that an edit (and a pause) touches one value."""
    located = manifests.version_target(target, read)
    text = read(located.path)
    _, found = manifests.locate(text, located)
    version = manifests.version_of(found, located)
    edited = manifests.set_version(text, located, _probe(version))
    if edited == text:
        raise BadInputError(f"{located.path}: {found.field}: an edit changed nothing")
    if target.pausable:
        rollout_pause.pause(read(target.path), target)
    line = int(found.node.start_mark.line) + 1
    return TargetCheck(
        path=located.path, field=found.field, line=line, version=version, pausable=target.pausable
    )
