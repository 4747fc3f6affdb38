"""Real signing keys, made with `ssh-keygen` (or `gpg`) and used by `git`, for identity tests.

A key signs as git signs for a person: `gpg.format = ssh` and `user.signingKey` in the
state repository's own configuration. Whose key it is comes from an allowed-signers file
in git's `gpg.ssh.allowedSignersFile` format, which the tests commit to the state
repository beside the catalog.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class SigningKey:
    principal: str
    private: Path
    public: str  # `ssh-ed25519 AAAA... comment`, as the .pub file holds it

    @property
    def fingerprint(self) -> str:
        """`SHA256:...`, as `ssh-keygen -l` prints it."""
        listed = subprocess.run(
            ["ssh-keygen", "-l", "-f", f"{self.private}.pub"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return listed.split()[1]

    def allowed(self, principals: str | None = None) -> str:
        """This key's line of an allowed-signers file, for `principals` (default: its own)."""
        return f"{principals or self.principal} {self.public}"


def make_key(folder: Path, principal: str) -> SigningKey:
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / principal
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(private)],
        check=True,
        capture_output=True,
    )
    public = Path(f"{private}.pub").read_text(encoding="utf-8").strip()
    return SigningKey(principal, private, public)


def sign_with(repo: Path, key: SigningKey) -> None:
    """Commits made in `repo` are signed with `key` from now on (git's own settings)."""
    for name, value in (("gpg.format", "ssh"), ("user.signingKey", str(key.private))):
        subprocess.run(["git", "config", name, value], cwd=repo, check=True)


def signature_status(repo: Path, rev: str, allowed_signers: Path) -> tuple[str, str]:
    """git's `%G?` and `%GK` of `rev`'s signature, checked against `allowed_signers`."""
    out = subprocess.run(
        [
            "git",
            "-c",
            f"gpg.ssh.allowedSignersFile={allowed_signers}",
            "log",
            "-1",
            "--format=%G?%x1f%GF",
            rev,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    status, _, key = out.partition("\x1f")
    return status, key


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SigningKey]:
    """alice's, bob's and mallory's keys, made once per session."""
    folder = tmp_path_factory.mktemp("keys")
    return {name: make_key(folder, name) for name in ("alice", "bob", "mallory")}


@dataclass(frozen=True)
class GpgKey:
    home: Path  # GNUPGHOME, the keyring that holds it
    fingerprint: str


def sign_with_gpg(repo: Path, key: GpgKey) -> None:
    """Commits made in `repo` are signed with the GPG key (git's default openpgp format)."""
    subprocess.run(["git", "config", "user.signingKey", key.fingerprint], cwd=repo, check=True)


@pytest.fixture(scope="session")
def gpg_key() -> Iterator[GpgKey]:
    """alice's GPG signing key in a keyring of its own; its agent is stopped at the end."""
    # gpg-agent's socket lives in the home: a short path keeps it under the socket limit.
    home = Path(tempfile.mkdtemp(prefix="gpg-", dir="/tmp"))
    home.chmod(0o700)
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        ["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key",
         "alice <alice@example.com>", "ed25519", "sign", "never"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    listed = subprocess.run(
        ["gpg", "--list-keys", "--with-colons"], env=env, check=True, capture_output=True, text=True
    ).stdout
    fingerprint = next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr"))
    try:
        yield GpgKey(home, fingerprint)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)
        shutil.rmtree(home, ignore_errors=True)
