from __future__ import annotations

import pytest

from safedeploy.adapters import rollout_pause
from safedeploy.adapters.target_edits import check_target, edit_for
from safedeploy.domain.catalog import Target
from safedeploy.domain.proposals import PauseChange, VersionChange
from safedeploy.errors import BadInputError
from testing.gitrepos import HELM_PATH, ROLLOUT_PATH, helm_text, rollout_text
from testing.manifests import changed_lines

ROLLOUT = Target(path=ROLLOUT_PATH, kind="rollout", container="checkout")
HELM = Target(path=HELM_PATH, kind="helm")
FILES = {ROLLOUT_PATH: rollout_text("1.5.0"), HELM_PATH: helm_text("2.1.1")}
BACK = VersionChange(path=ROLLOUT_PATH, kind="rollout", from_version="1.5.0", to_version="1.4.2")


def test_a_rollback_is_the_one_value() -> None:
    edit = edit_for("rollback-rollout", BACK, ROLLOUT, FILES.__getitem__)
    assert (edit.path, edit.before, edit.after) == (
        ROLLOUT_PATH,
        rollout_text("1.5.0"),
        rollout_text("1.4.2"),
    )


def test_a_rollback_of_an_environment_that_moved_on_is_refused() -> None:
    moved = {ROLLOUT_PATH: rollout_text("1.6.0")}
    with pytest.raises(BadInputError, match=r"runs 1\.6\.0, not 1\.5\.0 .*moved on"):
        edit_for("rollback-rollout", BACK, ROLLOUT, moved.__getitem__)


def test_a_pause_is_only_for_rollouts() -> None:
    edit = edit_for("block-promotion", PauseChange(), ROLLOUT, FILES.__getitem__)
    assert changed_lines(edit.before, edit.after) == ["+  paused: true"]
    with pytest.raises(BadInputError, match=r"^apps/payments/values.yaml: kind: helm has no pause"):
        edit_for("block-promotion", PauseChange(), HELM, FILES.__getitem__)


def test_a_promotion_lifts_the_pause_and_moves_the_version_if_needed() -> None:
    paused = rollout_pause.pause(rollout_text("1.4.2"), ROLLOUT)
    files = {ROLLOUT_PATH: paused}
    up = VersionChange(path=ROLLOUT_PATH, kind="rollout", from_version="1.4.2", to_version="1.5.0")
    edit = edit_for("promote-canary", up, ROLLOUT, files.__getitem__)
    assert edit.after == rollout_text("1.5.0")
    already = {ROLLOUT_PATH: rollout_pause.pause(rollout_text("1.5.0"), ROLLOUT)}
    assert edit_for("promote-canary", up, ROLLOUT, already.__getitem__).after == rollout_text(
        "1.5.0"
    )


def test_a_workload_ref_to_another_file_edits_that_file() -> None:
    rollout = (
        "kind: Rollout\nmetadata: {name: web}\n"
        "spec:\n  replicas: 2\n  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
    )
    deployment = (
        "kind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - {name: web, image: 'r/web:2.0'}\n"
    )
    files = {"rollout.yaml": rollout, "deployment.yaml": deployment}
    where = Target(path="rollout.yaml", kind="rollout", workload_path="deployment.yaml")
    back = VersionChange(path="rollout.yaml", kind="rollout", from_version="2.0", to_version="1.9")
    edit = edit_for("rollback-rollout", back, where, files.__getitem__)
    assert (edit.path, edit.after) == ("deployment.yaml", deployment.replace("2.0", "1.9"))
    pause = edit_for("block-promotion", PauseChange(), where, files.__getitem__)
    assert pause.path == "rollout.yaml"
    check = check_target(where, files.__getitem__)
    assert (check.path, check.line, check.version, check.pausable) == (
        "deployment.yaml",
        7,
        "2.0",
        True,
    )


def test_check_target_reads_the_version_and_proves_an_edit() -> None:
    check = check_target(HELM, FILES.__getitem__)
    assert (check.path, check.field, check.line, check.version, check.pausable) == (
        HELM_PATH,
        "image.tag",
        6,
        "2.1.1",
        False,
    )
    pinned = {HELM_PATH: helm_text("sha256:" + "c" * 64).replace("tag:", "digest:")}
    digest = Target(path=HELM_PATH, kind="helm", values_key="image.digest")
    assert check_target(digest, pinned.__getitem__).version == "sha256:" + "c" * 64
    with pytest.raises(BadInputError, match=r"^apps/payments/values.yaml:6: image.tag: empty"):
        check_target(HELM, {HELM_PATH: helm_text("")}.__getitem__)
