from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safedeploy.adapters import manifests
from safedeploy.domain.catalog import Target
from safedeploy.domain.images import TAG_PATTERN, VERSION_PATTERN
from safedeploy.errors import BadInputError
from testing.corpus import Case
from testing.gitrepos import (
    HELM_PATH,
    KUSTOMIZE_PATH,
    ROLLOUT_PATH,
    helm_text,
    kustomize_text,
    rollout_text,
)
from testing.manifests import assert_valid_rollout, changed_lines

ROLLOUT = Target(path=ROLLOUT_PATH, kind="rollout", container="checkout")
HELM = Target(path=HELM_PATH, kind="helm")
KUSTOMIZE = Target(path=KUSTOMIZE_PATH, kind="kustomize", image="search")
DIGEST = "sha256:" + "a" * 64
OLDER = "sha256:" + "b" * 64

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: registry.example.com/web-migrate:{version}
      containers:
      - name: web
        image: registry.example.com/web:{version}
"""


def target(kind: str, path: str = "x.yaml", **fields: str) -> Target:
    return Target.model_validate({"path": path, "kind": kind, **fields})


def deployment(version: str, kind: str = "Deployment") -> str:
    return DEPLOYMENT.replace("{version}", version).replace("kind: Deployment", f"kind: {kind}")


# --- reading -------------------------------------------------------------------------------


def test_reads_each_kind() -> None:
    assert manifests.read_version(rollout_text("1.5.0"), ROLLOUT) == "1.5.0"
    assert manifests.read_version(helm_text("2.1.1"), HELM) == "2.1.1"
    assert manifests.read_version(kustomize_text("1.0.1"), KUSTOMIZE) == "1.0.1"


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet"])
def test_reads_plain_workloads_and_their_init_containers(kind: str) -> None:
    text = deployment("2.0.0", kind)
    assert manifests.read_version(text, target(kind.lower(), container="web")) == "2.0.0"
    assert manifests.read_version(text, target(kind.lower(), container="migrate")) == "2.0.0"
    # One container in `containers`: it is the version without being named.
    assert manifests.read_version(text, target(kind.lower())) == "2.0.0"


@pytest.mark.parametrize("version", ["1.10", "1.0", "010", "1e3", "20240101", "0x1F", "true"])
def test_versions_are_the_text_the_file_holds(version: str) -> None:
    """YAML would read these as numbers, dates or booleans; a version is never converted."""
    assert manifests.read_version(helm_text(version).replace('"', ""), HELM) == version
    assert manifests.read_version(kustomize_text(version), KUSTOMIZE) == version


def test_reads_named_container_and_registry_port() -> None:
    envoy = target("rollout", container="envoy")
    assert manifests.read_version(rollout_text("1.5.0"), envoy) == "v1.29.1"
    text = rollout_text("1.5.0").replace("registry.example.com/", "registry.example.com:5000/")
    assert manifests.read_version(text, ROLLOUT) == "1.5.0"


@pytest.mark.parametrize(
    ("image", "version"),
    [
        (f"registry.example.com/checkout@{DIGEST}", DIGEST),
        (f"registry.example.com/checkout:1.5.0@{DIGEST}", f"1.5.0@{DIGEST}"),
        (f"registry.example.com:5000/checkout@{DIGEST}", DIGEST),
    ],
)
def test_reads_digest_pinned_images(image: str, version: str) -> None:
    text = rollout_text("1.5.0").replace("registry.example.com/checkout:1.5.0", image)
    assert manifests.read_version(text, ROLLOUT) == version


def test_reads_a_rollout_through_its_workload_ref_in_the_same_file() -> None:
    rollout = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web}\n"
        "spec:\n  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
    )
    text = f"{rollout}---\n{deployment('3.1.4')}"
    assert manifests.read_version(text, target("rollout", container="web")) == "3.1.4"
    edited = manifests.set_version(text, target("rollout", container="web"), "3.1.3")
    assert changed_lines(text, edited) == [
        "-        image: registry.example.com/web:3.1.4",
        "+        image: registry.example.com/web:3.1.3",
    ]


def test_a_workload_ref_to_another_file_is_followed_through_workload_path() -> None:
    rollout = (
        "kind: Rollout\nmetadata: {name: web}\n"
        "spec:\n  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
    )
    files = {"rollout.yaml": rollout, "deployment.yaml": deployment("3.1.4")}
    alone = target("rollout", path="rollout.yaml", container="web")
    with pytest.raises(BadInputError, match=r"^rollout.yaml:4: spec.workloadRef: Deployment 'web'"):
        manifests.read_version(rollout, alone)
    pointed = alone.model_copy(update={"workload_path": "deployment.yaml"})
    located = manifests.version_target(pointed, files.__getitem__)
    assert (located.path, located.kind, located.name) == ("deployment.yaml", "deployment", "web")
    assert manifests.read_version(files["deployment.yaml"], located) == "3.1.4"


def test_helm_shapes() -> None:
    values = """\
image: registry.example.com/app:1.2.3   # one string
app:
  image:
    repository: registry.example.com/app
    tag: 1.2.4
sidecar:
  image: {repository: registry.example.com/side, tag: "0.9"}
pinned:
  image:
    repository: registry.example.com/app
    tag: 1.2.5
    digest: {digest}
""".replace("{digest}", DIGEST)
    assert manifests.read_version(values, target("helm", values_key="image")) == "1.2.3"
    assert manifests.read_version(values, target("helm", values_key="app.image.tag")) == "1.2.4"
    assert manifests.read_version(values, target("helm", values_key="app.image")) == "1.2.4"
    assert manifests.read_version(values, target("helm", values_key="sidecar.image.tag")) == "0.9"
    digest = target("helm", values_key="pinned.image.digest")
    assert manifests.read_version(values, digest) == DIGEST
    with pytest.raises(BadInputError, match=r"^x.yaml:12: pinned.image.digest: set beside"):
        manifests.read_version(values, target("helm", values_key="pinned.image.tag"))


def test_kustomize_digest_is_the_version_when_pinned() -> None:
    text = kustomize_text("1.0.1").replace("  newTag: 7.2.4", f"  digest: {DIGEST}")
    redis = target("kustomize", image="redis")
    assert manifests.read_version(text, redis) == DIGEST
    edited = manifests.set_version(text, redis, OLDER)
    assert changed_lines(text, edited) == [f"-  digest: {DIGEST}", f"+  digest: {OLDER}"]


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        (rollout_text("1.5.0").replace(":1.5.0", ""), ROLLOUT, ":34: .*neither a tag nor"),
        (
            rollout_text("1.5.0").replace("kind: Rollout", "kind: Deployment"),
            ROLLOUT,
            ": kind: expected a Rollout, found Deployment 'checkout' \\(line 2\\)",
        ),
        (rollout_text("1.5.0"), target("rollout", container="nope"), ":31: .*no container named"),
        (rollout_text("1.5.0"), target("rollout"), ":31: .*2 containers \\(checkout, envoy\\)"),
        (
            rollout_text("1.5.0").replace("  template:", "  workloadRef:"),
            ROLLOUT,
            ":27: spec.workloadRef: points at no kind",
        ),
        (
            rollout_text("1.5.0") + "---\n" + rollout_text("1.5.0"),
            ROLLOUT,
            ":47: kind: 2 Rollout documents \\(lines 2, 47\\); set spec.target.name",
        ),
        (
            rollout_text("1.5.0").replace("- name: envoy", "- name: checkout"),
            ROLLOUT,
            ":43: .*2 containers named 'checkout' \\(lines 32, 43\\)",
        ),
        (
            rollout_text("1.5.0").replace("      containers:", "      sidecars:"),
            ROLLOUT,
            ":31: spec.template.spec: no container named 'checkout' \\(none\\)",
        ),
        (
            helm_text("2.1.1"),
            target("helm", values_key="image.version"),
            ":5: image.version: missing \\(found repository, tag, pullPolicy\\)",
        ),
        (helm_text("2.1.1"), target("helm", values_key="app.image.tag"), ":2: app: missing"),
        (helm_text("2.1.1"), target("helm", values_key="service"), ":10: service: a mapping"),
        (helm_text(""), HELM, ":6: image.tag: empty \\(the chart then runs its appVersion\\)"),
        (helm_text("{{ .Values.x }}"), HELM, ":6: image.tag: '{{ .Values.x }}' is not an image"),
        (helm_text("2.1.1") + "---\na: 1\n", HELM, ": 2 YAML documents"),
        (
            "image:\n- registry.example.com/payments:2.1.1\n",
            HELM,
            ":2: image: expected a mapping, found a list; supported: values_key naming a tag",
        ),
        (
            "image: {{ .Values.tag }}\n",  # a template where a value belongs: a mapping key
            target("helm", values_key="image"),
            ":1: image: a mapping without tag \\(found no keys\\); supported: ",
        ),
        (
            "kind: Kustomization\nimages:\n  search: {newTag: 1.0.1}\n",
            KUSTOMIZE,
            ":3: images: found a mapping; supported: a list of entries with name and newTag",
        ),
        (
            kustomize_text("1.0.1").replace("images:", "pictures:"),
            KUSTOMIZE,
            ":1: images: missing; supported: a list of entries",
        ),
        (
            kustomize_text("1.0.1"),
            target("kustomize", image="web"),
            ":8: images: no image named 'web' \\(found search, redis\\)",
        ),
        (
            kustomize_text("1.0.1") + "- name: search\n  newTag: 2\n",
            KUSTOMIZE,
            ":13: images\\[search\\]: listed 2 times",
        ),
        (
            kustomize_text("1.0.1").replace("  newTag: 1.0.1\n", ""),
            KUSTOMIZE,
            ":8: images\\[search\\]: neither newTag nor digest",
        ),
        ("a: [unclosed", ROLLOUT, ":2: not valid YAML"),
        (
            rollout_text("1.5.0").replace("  replicas: 6\n", "  replicas: 6\n  template: {}\n"),
            ROLLOUT,
            ":27: spec.template: written 2 times \\(lines 12, 27\\)",
        ),
        (
            'base: &b {image: "r/x:1"}\nkind: Rollout\nspec:\n  template:\n    spec:\n'
            "      containers:\n      - name: checkout\n        <<: *b\n",
            ROLLOUT,
            ":8: .*merge key",
        ),
    ],
)
def test_refuses_what_it_cannot_read_naming_file_line_and_field(
    text: str, where: Target, expected: str
) -> None:
    with pytest.raises(BadInputError) as caught:
        manifests.read_version(text, where)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(where.path), message
    assert re.search(f"^{re.escape(where.path)}{expected}", message), message


def test_unknown_kind_is_bad_input() -> None:
    with pytest.raises(BadInputError, match=r"^x\.jsonnet: kind: 'jsonnet', expected daemonset"):
        # A corpus case is a target that never went through the catalog's checks.
        manifests.read_version("a: 1\n", Case("x.jsonnet", "jsonnet", "", 1))


# --- editing: exactly the value that moves -------------------------------------------------


def test_rollout_edit_is_the_image_value() -> None:
    before = rollout_text("1.5.0")
    after = manifests.set_version(before, ROLLOUT, "1.4.2")
    assert after == rollout_text("1.4.2")
    assert_valid_rollout(after)


def test_edit_keeps_quotes_and_trailing_comment() -> None:
    before = rollout_text("1.5.0")
    after = manifests.set_version(before, target("rollout", container="envoy"), "v1")
    assert changed_lines(before, after) == [
        '-          image: "docker.io/envoyproxy/envoy:v1.29.1"  # sidecar, pinned on purpose',
        '+          image: "docker.io/envoyproxy/envoy:v1"  # sidecar, pinned on purpose',
    ]


@pytest.mark.parametrize(
    ("written", "version", "expected"),
    [
        ("1.11", "1.10", "1.10"),  # a plain number stays plain, as the file wrote it
        ("20240102", "20240101", "20240101"),
        ("v1.11", "1.10", '"1.10"'),  # text that would become a number is quoted
        ("v1.11", "yes", '"yes"'),  # a YAML 1.1 boolean, for Kubernetes tools
        ("v1.11", "v1.10", "v1.10"),
        ("'v1.11'", "1.10", "'1.10'"),
        ('"v1.11"', "1.10", '"1.10"'),
        ("1.11  # pinned", "1.10", "1.10  # pinned"),
    ],
)
def test_quoting_is_kept_and_added_only_where_yaml_would_misread(
    written: str, version: str, expected: str
) -> None:
    before = kustomize_text("0").replace("newTag: 0", f"newTag: {written}")
    after = manifests.set_version(before, KUSTOMIZE, version)
    assert after == before.replace(f"newTag: {written}", f"newTag: {expected}")
    assert manifests.read_version(after, KUSTOMIZE) == version


def test_digest_pinned_images_move_to_another_digest() -> None:
    pinned = rollout_text("1.5.0").replace(":1.5.0", f"@{DIGEST}")
    after = manifests.set_version(pinned, ROLLOUT, OLDER)
    assert after == pinned.replace(DIGEST, OLDER)
    both = rollout_text("1.5.0").replace(":1.5.0", f":1.5.0@{DIGEST}")
    after = manifests.set_version(both, ROLLOUT, f"1.4.2@{OLDER}")
    assert after == both.replace(f"1.5.0@{DIGEST}", f"1.4.2@{OLDER}")
    # A history that went from a tag to a digest rolls back to the tag.
    assert manifests.set_version(pinned, ROLLOUT, "1.4.2") == rollout_text("1.4.2")


def test_helm_edit_keeps_four_space_indent_quotes_and_comment() -> None:
    before = helm_text("2.1.1")
    after = manifests.set_version(before, HELM, "2.1.0")
    assert changed_lines(before, after) == [
        '-    tag: "2.1.1"    # the release pipeline writes this',
        '+    tag: "2.1.0"    # the release pipeline writes this',
    ]


def test_edit_in_a_multi_document_file_with_a_header_and_odd_formatting() -> None:
    service = "apiVersion: v1\nkind: Service\nmetadata :  \n  name: checkout   \n\n\n"
    header = "# Copyright the authors.\n# SPDX-License-Identifier: Apache-2.0\n"
    before = f"{header}---\n{service}---\n{rollout_text('1.5.0')}...\n"
    after = manifests.set_version(before, ROLLOUT, "1.4.2")
    assert after == before.replace("checkout:1.5.0", "checkout:1.4.2")


def test_a_file_without_a_final_newline_keeps_it_so() -> None:
    before = kustomize_text("1.0.1").rstrip("\n")
    redis = target("kustomize", image="redis")
    assert manifests.set_version(before, redis, "7.2.3") == before.replace("7.2.4", "7.2.3")


def test_same_version_changes_nothing() -> None:
    before = rollout_text("1.5.0")
    assert manifests.set_version(before, ROLLOUT, "1.5.0") == before


@pytest.mark.parametrize("bad", ["", "1.5.0 ", "-rc1", "a:b", "x" * 129, "1.0\nkind: Pod"])
def test_refuses_an_invalid_version(bad: str) -> None:
    with pytest.raises(BadInputError, match=r"^apps/checkout/rollout.yaml:34: .*not an image tag"):
        manifests.set_version(rollout_text("1.5.0"), ROLLOUT, bad)


def test_a_tag_field_takes_no_digest_and_a_digest_field_no_tag() -> None:
    with pytest.raises(BadInputError, match=r":10: images\[search\].newTag: holds a tag"):
        manifests.set_version(kustomize_text("1.0.1"), KUSTOMIZE, DIGEST)
    pinned = kustomize_text("1.0.1").replace("newTag: 1.0.1", f"digest: {DIGEST}")
    with pytest.raises(BadInputError, match=r":10: images\[search\].digest: holds a digest"):
        manifests.set_version(pinned, KUSTOMIZE, "1.0.0")


def test_refuses_a_value_shared_through_an_anchor() -> None:
    text = "image: &tag\n  tag: 1.0.0\nother: *tag\n"
    with pytest.raises(BadInputError, match=r"^x.yaml:2: image.tag: .*alias"):
        manifests.set_version(text, target("helm"), "1.0.1")
    text = "image:\n  tag: &t 1.0.0\nother: *t\n"
    with pytest.raises(BadInputError, match=r"^x.yaml:2: image.tag: .*alias"):
        manifests.set_version(text, target("helm"), "1.0.1")
    text = "image:\n  tag: &t 1.0.0\n"
    with pytest.raises(BadInputError, match=r"^x.yaml:2: image.tag: .*anchor \(&\)"):
        manifests.set_version(text, target("helm"), "1.0.1")


@pytest.mark.parametrize("style", ["|-", ">-"])
def test_refuses_a_version_written_as_a_block(style: str) -> None:
    text = f"image:\n  tag: {style}\n    1.0.0\n"
    assert manifests.read_version(text, target("helm")) == "1.0.0"
    with pytest.raises(
        BadInputError, match=rf"^x.yaml:2: image.tag: a block scalar \({style[0]}\)"
    ):
        manifests.set_version(text, target("helm"), "1.0.1")


# --- properties ----------------------------------------------------------------------------

versions = st.from_regex(VERSION_PATTERN, fullmatch=True)
tags = st.from_regex(TAG_PATTERN, fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(version=versions, tag=tags)
def test_set_then_read_returns_the_version(version: str, tag: str) -> None:
    for where, text, new in (
        (ROLLOUT, rollout_text("1.5.0"), version),
        (HELM, helm_text("2.1.1"), tag),
        (KUSTOMIZE, kustomize_text("1.0.1"), tag),
    ):
        edited = manifests.set_version(text, where, new)
        assert manifests.read_version(edited, where) == new
        assert len(changed_lines(text, edited)) in (0, 2)


@settings(max_examples=15, deadline=None)
@given(version=versions)
def test_edited_rollouts_stay_valid_against_the_crd(version: str) -> None:
    assert_valid_rollout(manifests.set_version(rollout_text("1.5.0"), ROLLOUT, version))
