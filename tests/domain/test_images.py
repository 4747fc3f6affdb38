from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safedeploy.domain.images import (
    DIGEST_PATTERN,
    TAG_PATTERN,
    ImageRef,
    is_version,
    parse_image,
    split_version,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nginx", ImageRef("nginx", None, None)),
        ("nginx:1.10", ImageRef("nginx", "1.10", None)),
        ("registry:5000/team/app", ImageRef("registry:5000/team/app", None, None)),
        ("registry:5000/team/app:v2", ImageRef("registry:5000/team/app", "v2", None)),
        (f"busybox@{DIGEST}", ImageRef("busybox", None, DIGEST)),
        (f"busybox:1.38.0@{DIGEST}", ImageRef("busybox", "1.38.0", DIGEST)),
    ],
)
def test_parse_image_and_print_it_back(text: str, expected: ImageRef) -> None:
    assert parse_image(text) == expected
    assert str(expected) == text


def test_a_version_is_what_follows_the_repository() -> None:
    assert parse_image(f"busybox:1.38.0@{DIGEST}").version == f"1.38.0@{DIGEST}"
    assert parse_image(f"busybox@{DIGEST}").version == DIGEST
    assert str(parse_image(f"busybox:1.38.0@{DIGEST}").with_version("1.37")) == "busybox:1.37"
    assert str(parse_image("busybox:1.38").with_version(DIGEST)) == f"busybox@{DIGEST}"


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("1.10", True),
        ("v1.2.3-rc.1_b", True),
        (DIGEST, True),
        (f"1.0@{DIGEST}", True),
        ("sha256:abc", False),  # 32 hex digits at least, as Docker has it
        ("0:0", False),
        ("-rc1", False),
        ("", False),
        ("1.0 ", False),
        ("x" * 129, False),
    ],
)
def test_the_version_grammar_is_dockers(version: str, ok: bool) -> None:
    assert is_version(version) is ok


@given(
    tag=st.none() | st.from_regex(TAG_PATTERN, fullmatch=True),
    digest=st.none() | st.from_regex(DIGEST_PATTERN, fullmatch=True),
)
def test_split_version_undoes_join(tag: str | None, digest: str | None) -> None:
    image = ImageRef("registry.example.com/app", tag, digest)
    if tag is None and digest is None:
        return
    assert split_version(image.version) == (tag, digest)
    assert parse_image(str(image)) == image
