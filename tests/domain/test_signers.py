"""The allowed-signers file, read as git reads it; its fingerprints as ssh-keygen prints them."""

from __future__ import annotations

import re

import pytest

from safedeploy.domain.signers import (
    parse_allowed_signers,
    principals_of,
    ssh_fingerprint,
    ssh_lines,
)
from safedeploy.errors import BadInputError
from testing.signing import SigningKey

GPG_FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"


def test_fingerprints_are_those_ssh_keygen_prints(signing_keys: dict[str, SigningKey]) -> None:
    for key in signing_keys.values():
        assert ssh_fingerprint(key.public.split()[1]) == key.fingerprint


def test_principals_options_comments_and_gpg_lines(signing_keys: dict[str, SigningKey]) -> None:
    alice, bob = signing_keys["alice"], signing_keys["bob"]
    text = "\n".join(
        [
            "# decisions on checkout",
            "",
            f'alice,"alice@example.com" namespaces="git",valid-after="20260101" {alice.public}',
            f"bob {bob.public.split()[0]} {bob.public.split()[1]}",
            f"carol gpg {GPG_FINGERPRINT[:20].lower()} {GPG_FINGERPRINT[20:]}",
            f"*@example.com {bob.public}",
        ]
    )
    signers = parse_allowed_signers(text, "allowed_signers")
    assert [(s.line, s.principals, s.key_type) for s in signers] == [
        (3, ("alice", "alice@example.com"), "ssh-ed25519"),
        (4, ("bob",), "ssh-ed25519"),
        (5, ("carol",), "gpg"),
        (6, ("*@example.com",), "ssh-ed25519"),
    ]
    assert principals_of(signers, [alice.fingerprint]) == ("alice", "alice@example.com")
    # A wildcard says who may sign, never who someone is.
    assert principals_of(signers, [bob.fingerprint]) == ("bob",)
    assert principals_of(signers, [GPG_FINGERPRINT.lower()]) == ("carol",)
    assert principals_of(signers, [signing_keys["mallory"].fingerprint]) == ()
    # git is never shown the gpg lines, which are not its format.
    shown = ssh_lines(text)
    assert "carol" not in shown and alice.public in shown and bob.public in shown


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("alice", "allowed_signers:1: expected `principals [options] type key`"),
        ("alice ssh-ed25519 not!base64", "allowed_signers:1: the ssh-ed25519 key is not valid"),
        ("alice ssh-foo AAAA", "allowed_signers:1: 'ssh-foo' is not an SSH key type or gpg"),
        ("alice gpg 0123", "allowed_signers:1: a gpg key is named by its full fingerprint"),
    ],
)
def test_a_line_that_is_not_a_key_is_refused_naming_file_and_line(line: str, problem: str) -> None:
    with pytest.raises(BadInputError, match=re.escape(problem)):
        parse_allowed_signers(line, "allowed_signers")
