from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safedeploy.adapters import manifests
from safedeploy.errors import BadInputError
from testing.gitrepos import (
    HELM_PATH,
    KUSTOMIZE_PATH,
    ROLLOUT_PATH,
    helm_text,
    kustomize_text,
    rollout_text,
)
from testing.manifests import assert_valid_rollout, changed_lines


@dataclass(frozen=True)
class Target:
    path: str
    kind: str
    container: str | None = None
    values_key: str = "image.tag"
    image: str | None = None
    repo: str | None = None


ROLLOUT = Target(ROLLOUT_PATH, "rollout")
HELM = Target(HELM_PATH, "helm")
KUSTOMIZE = Target(KUSTOMIZE_PATH, "kustomize", image="search")


# --- reading -------------------------------------------------------------------------------


def test_reads_each_kind() -> None:
    assert manifests.read_version(rollout_text("1.5.0"), ROLLOUT) == "1.5.0"
    assert manifests.read_version(helm_text("2.1.1"), HELM) == "2.1.1"
    assert manifests.read_version(kustomize_text("1.0.1"), KUSTOMIZE) == "1.0.1"


def test_reads_named_container_and_registry_port() -> None:
    envoy = Target(ROLLOUT_PATH, "rollout", container="envoy")
    assert manifests.read_version(rollout_text("1.5.0"), envoy) == "v1.29.1"
    text = rollout_text("1.5.0").replace("registry.example.com/", "registry.example.com:5000/")
    assert manifests.read_version(text, ROLLOUT) == "1.5.0"


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        (
            rollout_text("1.5.0").replace(":1.5.0", "@sha256:" + "a" * 64),
            ROLLOUT,
            "pinned by digest",
        ),
        (rollout_text("1.5.0").replace(":1.5.0", ""), ROLLOUT, "has no tag"),
        (rollout_text("1.5.0").replace("kind: Rollout", "kind: Deployment"), ROLLOUT, "kind"),
        (rollout_text("1.5.0"), Target(ROLLOUT_PATH, "rollout", container="nope"), "'nope'"),
        (
            rollout_text("1.5.0").replace("  template:", "  workloadRef:"),
            ROLLOUT,
            "spec.template: missing",
        ),
        (
            helm_text("2.1.1"),
            Target(HELM_PATH, "helm", values_key="image.version"),
            "image.version",
        ),
        (helm_text("2.1.1"), Target(HELM_PATH, "helm", values_key="app.image.tag"), "app: missing"),
        (kustomize_text("1.0.1"), Target(KUSTOMIZE_PATH, "kustomize", image="web"), "'web'"),
        (kustomize_text("1.0.1"), Target(KUSTOMIZE_PATH, "kustomize"), "target.image"),
        (
            kustomize_text("1.0.1").replace("  newTag: 1.0.1", "  digest: sha256:abc"),
            KUSTOMIZE,
            "digest",
        ),
        ("a: [unclosed", ROLLOUT, "not valid YAML"),
    ],
)
def test_refuses_what_it_cannot_read(text: str, target: Target, expected: str) -> None:
    with pytest.raises(BadInputError) as caught:
        manifests.read_version(text, target)
    assert str(caught.value).startswith(target.path + ":")
    assert expected in str(caught.value)


def test_unknown_kind_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="kind: 'jsonnet'"):
        manifests.read_version("a: 1\n", Target("x.yaml", "jsonnet"))


# --- editing: exactly the line that moves --------------------------------------------------


def test_rollout_edit_is_the_image_line() -> None:
    before = rollout_text("1.5.0")
    after = manifests.set_version(before, ROLLOUT, "1.4.2")
    assert changed_lines(before, after) == [
        "-          image: registry.example.com/checkout:1.5.0",
        "+          image: registry.example.com/checkout:1.4.2",
    ]
    assert after == rollout_text("1.4.2")
    assert_valid_rollout(after)


def test_rollout_edit_keeps_quotes_and_trailing_comment() -> None:
    before = rollout_text("1.5.0")
    after = manifests.set_version(before, Target(ROLLOUT_PATH, "rollout", container="envoy"), "v1")
    assert changed_lines(before, after) == [
        '-          image: "docker.io/envoyproxy/envoy:v1.29.1"  # sidecar, pinned on purpose',
        '+          image: "docker.io/envoyproxy/envoy:v1"  # sidecar, pinned on purpose',
    ]


def test_helm_edit_keeps_four_space_indent_quotes_and_comment() -> None:
    before = helm_text("2.1.1")
    after = manifests.set_version(before, HELM, "2.1.0")
    assert changed_lines(before, after) == [
        '-    tag: "2.1.1"    # the release pipeline writes this',
        '+    tag: "2.1.0"    # the release pipeline writes this',
    ]


def test_kustomize_edit_keeps_unindented_sequences() -> None:
    before = kustomize_text("1.0.1")
    after = manifests.set_version(before, KUSTOMIZE, "1.0.0")
    assert changed_lines(before, after) == ["-  newTag: 1.0.1", "+  newTag: 1.0.0"]


def test_kustomize_adds_a_missing_new_tag() -> None:
    before = kustomize_text("1.0.1").replace("  newTag: 1.0.1\n", "")
    after = manifests.set_version(before, KUSTOMIZE, "1.0.0")
    assert changed_lines(before, after) == ["+  newTag: 1.0.0"]


def test_edit_in_a_multi_document_file() -> None:
    service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: checkout\n"
    before = f"---\n{service}---\n{rollout_text('1.5.0')}"
    after = manifests.set_version(before, ROLLOUT, "1.4.2")
    assert changed_lines(before, after) == [
        "-          image: registry.example.com/checkout:1.5.0",
        "+          image: registry.example.com/checkout:1.4.2",
    ]


def test_same_version_changes_nothing() -> None:
    before = rollout_text("1.5.0")
    assert manifests.set_version(before, ROLLOUT, "1.5.0") == before


@pytest.mark.parametrize("bad", ["", "1.5.0 ", "-rc1", "a:b", "x" * 129, "1.0\nkind: Pod"])
def test_refuses_an_invalid_tag(bad: str) -> None:
    with pytest.raises(BadInputError, match="not a valid image tag"):
        manifests.set_version(rollout_text("1.5.0"), ROLLOUT, bad)


def test_refuses_an_edit_that_would_reformat() -> None:
    # Mixed indentation: a re-dump cannot keep both styles, so the edit is refused.
    before = helm_text("2.1.1") + "extra:\n  nested:\n      deep: 1\n"
    with pytest.raises(BadInputError, match="reformat"):
        manifests.set_version(before, HELM, "2.1.0")


# --- pausing -------------------------------------------------------------------------------


def test_pause_adds_one_line_and_resume_restores_the_file() -> None:
    before = rollout_text("1.5.0")
    paused = manifests.set_paused(before, True, path=ROLLOUT_PATH)
    assert changed_lines(before, paused) == ["+  paused: true"]
    assert manifests.set_paused(paused, True) == paused
    assert manifests.set_paused(paused, False) == before
    assert manifests.set_paused(before, False) == before
    assert_valid_rollout(paused)


def test_pause_flips_an_existing_false() -> None:
    before = rollout_text("1.5.0").replace("  replicas: 6\n", "  replicas: 6\n  paused: false\n")
    after = manifests.set_paused(before, True)
    assert changed_lines(before, after) == ["-  paused: false", "+  paused: true"]


def test_pause_refuses_a_non_rollout() -> None:
    with pytest.raises(BadInputError, match=r"^apps/x.yaml: kind: expected Rollout"):
        manifests.set_paused(helm_text("1"), True, path="apps/x.yaml")


# --- properties ----------------------------------------------------------------------------

tags = st.from_regex(manifests.TAG_PATTERN, fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(tag=tags)
def test_set_then_read_returns_the_tag(tag: str) -> None:
    for target, text in (
        (ROLLOUT, rollout_text("1.5.0")),
        (HELM, helm_text("2.1.1")),
        (KUSTOMIZE, kustomize_text("1.0.1")),
    ):
        edited = manifests.set_version(text, target, tag)
        assert manifests.read_version(edited, target) == tag
        assert len(changed_lines(text, edited)) in (0, 2)


@settings(max_examples=15, deadline=None)
@given(tag=tags)
def test_edited_rollouts_stay_valid_against_the_crd(tag: str) -> None:
    assert_valid_rollout(manifests.set_version(rollout_text("1.5.0"), ROLLOUT, tag))
