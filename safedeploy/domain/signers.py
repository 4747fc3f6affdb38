"""The allowed-signers file: which keys speak for which people.

The format is git's own `gpg.ssh.allowedSignersFile` (ssh-keygen's ALLOWED SIGNERS):
one key per line, `principals [options] keytype base64-key [comment]`, `#` comments and
blank lines ignored. git's format has no GPG keys, so one key type is added: a line whose
key type is `gpg` names a GPG key by its fingerprint (`alice gpg 0123...CDEF`, spaces
allowed, nothing after it); git is never shown those lines. Parsing here is pure: git
and ssh-keygen check the signatures, this only says whose key a fingerprint is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from typing import Final

from pydantic import BaseModel, ConfigDict

from safedeploy.errors import BadInputError

GPG: Final = "gpg"
# The key types ssh-keygen writes (and certificates of them), the ones git can check.
_SSH_TYPE: Final = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)"
    r"@openssh\.com)(-cert-v01@openssh\.com)?$"
)
_GPG_FINGERPRINT: Final = re.compile(r"^[0-9A-F]{40}$|^[0-9A-F]{64}$")
# A quoted option value may hold spaces: `namespaces="git",valid-after="20260101"`.
_TOKEN: Final = re.compile(r'(?:[^\s"]+|"[^"]*")+')


class AllowedSigner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    principals: tuple[str, ...]
    key_type: str
    # `SHA256:...` as git and ssh-keygen print it, or a GPG fingerprint in upper case.
    fingerprint: str

    @property
    def is_gpg(self) -> bool:
        return self.key_type == GPG


def ssh_fingerprint(blob: str) -> str:
    """`SHA256:<base64>` of a public key, the form `ssh-keygen -l` and git's `%GF` print."""
    digest = hashlib.sha256(base64.b64decode(blob, validate=True)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def parse_allowed_signers(text: str, origin: str) -> tuple[AllowedSigner, ...]:
    """Every key of the file; a line that is not a key is refused, naming file and line."""
    signers: list[AllowedSigner] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = _TOKEN.findall(line)
        if len(tokens) < 3:
            raise BadInputError(f"{origin}:{number}: expected `principals [options] type key`")
        principals, rest = tokens[0], tokens[1:]
        if not _is_key_type(rest[0]) and len(rest) > 2:
            rest = rest[1:]  # the options
        key_type, key = rest[0], rest[1]
        if key_type == GPG:
            key = "".join(rest[1:])  # gpg prints a fingerprint in groups of four
        signers.append(
            AllowedSigner(
                line=number,
                principals=tuple(p.strip('"') for p in principals.split(",") if p.strip('"')),
                key_type=key_type,
                fingerprint=_fingerprint(key_type, key, f"{origin}:{number}"),
            )
        )
    return tuple(signers)


def _is_key_type(token: str) -> bool:
    return token == GPG or _SSH_TYPE.fullmatch(token) is not None


def _fingerprint(key_type: str, key: str, where: str) -> str:
    if key_type == GPG:
        fingerprint = key.replace(" ", "").upper()
        if _GPG_FINGERPRINT.fullmatch(fingerprint) is None:
            raise BadInputError(f"{where}: a gpg key is named by its full fingerprint (40 hex)")
        return fingerprint
    if _SSH_TYPE.fullmatch(key_type) is None:
        raise BadInputError(f"{where}: {key_type!r} is not an SSH key type or gpg")
    try:
        return ssh_fingerprint(key)
    except (binascii.Error, ValueError):
        raise BadInputError(f"{where}: the {key_type} key is not valid base64") from None


def ssh_lines(text: str) -> str:
    """The file without its `gpg` lines: what git's allowedSignersFile is shown."""
    kept = [
        raw
        for raw in text.splitlines()
        if not (len(tokens := _TOKEN.findall(raw.strip())) > 1 and GPG in tokens[1:3])
    ]
    return "\n".join(kept) + "\n"


def principals_of(signers: Iterable[AllowedSigner], fingerprints: Iterable[str]) -> tuple[str, ...]:
    """Every principal the file lists for any of these key fingerprints, in file order.

    A wildcard principal (`*@example.com`) says who may sign, not who someone is, so it
    names nobody here."""
    wanted = {f.upper() if not f.startswith("SHA256:") else f for f in fingerprints if f}
    found: dict[str, None] = {}
    for signer in signers:
        if signer.fingerprint in wanted:
            found.update((p, None) for p in signer.principals if not set(p) & set("*?!"))
    return tuple(found)
