"""Who is deciding: the person behind an approval, a rejection or an incident transition.

With the GitHub provider the actor is the owner of the token (GitHub's `GET /user`), and a
`--by` naming someone else is refused. Without GitHub the actor is proven by a signature:
the command signs with the signing key git is configured with (`user.signingKey`, and
`gpg.format = ssh` for an SSH key), and git checks it against the allowed-signers file
that `approvals.allowed_signers` names (git's `gpg.ssh.allowedSignersFile` format),
before anything is pushed and again on the decision's own commit. A team may instead
choose `approvals.identity = "declared"`: `--by` is taken as given and everything the
decision writes says "identity not verified". Anything else is refused.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from safedeploy.adapters.state_repo import CommitSignature
from safedeploy.domain import signers
from safedeploy.domain.instants import format_instant
from safedeploy.domain.one_line import one_line
from safedeploy.domain.proposals import UNVERIFIED
from safedeploy.errors import BadInputError, NotAuthorizedError
from safedeploy.usecases.committed import Record, committed_text
from safedeploy.usecases.context import Context

ACTOR_VARIABLE = "GITHUB_ACTOR"
Method = Literal["github", "signature", "declared"]


@dataclass(frozen=True)
class Identity:
    actor: str
    method: Method
    # What the record says of how `actor` was established.
    proof: str
    # The fingerprint of the signing key: the decision's commit must carry it too.
    key: str | None = None

    @property
    def verified(self) -> bool:
        return self.method != "declared"

    @property
    def label(self) -> str:
        """`alice`, or `alice (identity not verified)`: how every record names the actor."""
        return self.actor if self.verified else f"{self.actor} ({UNVERIFIED})"


def establish(ctx: Context, record: Record, by: str | None, what: str, at: datetime) -> Identity:
    """The identity of whoever runs this command to do `what` ("approve <id>")."""
    claimed = one_line(by or "", "--by").strip()
    if record.declared:
        actor = claimed or one_line(ctx.environ.get(ACTOR_VARIABLE, ""), ACTOR_VARIABLE).strip()
        if not actor:
            raise BadInputError(f"who wants to {what}? pass --by NAME or set {ACTOR_VARIABLE}")
        return Identity(actor, "declared", UNVERIFIED)
    if record.head is None:
        raise NotAuthorizedError(
            f"{claimed or 'nobody'} cannot {what}: {ctx.store.root} is not a Git work tree with "
            "a commit, so the approvers have no record and no identity can be verified "
            '(commit the state directory, or set approvals.identity = "declared")'
        )
    if record.settings.github.provider == "github":
        return _github(ctx, record, claimed, what)
    return _signature(ctx, record, claimed, what, at)


def _github(ctx: Context, record: Record, claimed: str, what: str) -> Identity:
    from safedeploy.adapters.github import normalize_api_url

    committed = normalize_api_url(record.settings.github.api_url)
    client = ctx.github
    if client is None or client.api_url != committed:
        shown = client.api_url if client is not None else f"provider {ctx.settings.github.provider}"
        raise NotAuthorizedError(
            f"{claimed or 'nobody'} cannot {what}: identities are checked with the GitHub of "
            f"safedeploy.toml {record.where} ({committed}), and this run's settings say "
            f"{shown} (an environment override?)"
        )
    login = client.authenticated_login()
    if claimed and claimed.casefold() != login.casefold():
        raise NotAuthorizedError(
            f"--by {claimed}: the GitHub token belongs to {login}, and safedeploy acts as the "
            f"token's owner, so {claimed} cannot {what} with it"
        )
    return Identity(login, "github", f"GitHub user {login} (the token's owner, {committed})")


def _signature(ctx: Context, record: Record, claimed: str, what: str, at: datetime) -> Identity:
    who = claimed or "nobody"
    allowed = _allowed_signers(ctx, record, who, what)
    message = f"safedeploy: {claimed or 'someone'} signs to {what} at {format_instant(at)}"
    with allowed.file() as path:
        signature = ctx.state_repo.signature(ctx.state_repo.sign_probe(message), path)
    principals, key = allowed.principals(signature)
    if not principals:
        raise NotAuthorizedError(
            f"{who} cannot {what}: the signing key git uses here ({signature.key or 'none'}) "
            f"is not in {allowed.origin} (git says {_STATUS.get(signature.status, '?')})"
        )
    if claimed and claimed not in principals:
        raise NotAuthorizedError(
            f"--by {claimed}: the signing key {key} belongs to {', '.join(principals)} in "
            f"{allowed.origin}, so {claimed} cannot {what} with it"
        )
    actor = claimed or principals[0]
    kind = "SSH" if key.startswith("SHA256:") else "GPG"
    return Identity(actor, "signature", f"{kind} key {key} of {actor} in {allowed.origin}", key)


def confirm(ctx: Context, record: Record, identity: Identity, sha: str | None) -> None:
    """The decision's own commit is signed with the key that proved the identity."""
    if identity.method != "signature" or sha is None:
        return
    allowed = _allowed_signers(ctx, record, identity.actor, f"sign {sha[:12]}")
    with allowed.file() as path:
        principals, key = allowed.principals(ctx.state_repo.signature(sha, path))
    if key != identity.key or identity.actor not in principals:
        raise NotAuthorizedError(
            f"{identity.actor}: state commit {sha[:12]} is not signed with the key "
            f"{identity.key} that proved the identity (git signed it with {key or 'none'})"
        )


# git's %G? letters, for refusals.
_STATUS = {
    "G": "good signature",
    "U": "good signature, but of a key the allowed signers do not list",
    "N": "no signature",
    "B": "bad signature",
    "X": "expired signature",
    "Y": "signature by an expired key",
    "R": "signature by a revoked key",
    "E": "cannot check: the key is missing",
}


@dataclass(frozen=True)
class _AllowedSigners:
    origin: str
    text: str
    keys: tuple[signers.AllowedSigner, ...]

    @contextmanager
    def file(self) -> Iterator[Path]:
        """The SSH lines in a file for git, gone when the block ends."""
        with tempfile.TemporaryDirectory(prefix="safedeploy-signers-") as scratch:
            path = Path(scratch) / "allowed_signers"
            path.write_text(signers.ssh_lines(self.text), encoding="utf-8")
            yield path

    def principals(self, signature: CommitSignature) -> tuple[tuple[str, ...], str]:
        """Whose key signed, by this file, and the key's fingerprint; nobody's if git does
        not call the signature good."""
        if signature.key.startswith("SHA256:"):
            if signature.status != "G":
                return (), signature.key
            ssh = [k for k in self.keys if not k.is_gpg]
            found = signers.principals_of(ssh, [signature.key])
            return found or ((signature.signer,) if signature.signer else ()), signature.key
        # GPG: git says the signature is good (G, or U for a key the local keyring does
        # not trust); this file, not the keyring, says whose key it is.
        if signature.status not in ("G", "U"):
            return (), signature.key
        gpg = [k for k in self.keys if k.is_gpg]
        return signers.principals_of(gpg, [signature.key, signature.primary_key]), signature.key


def _allowed_signers(ctx: Context, record: Record, who: str, what: str) -> _AllowedSigners:
    name = record.settings.approvals.allowed_signers
    if not name:
        raise NotAuthorizedError(
            f"{who} cannot {what}: no verified identity without GitHub: name an allowed-signers "
            "file in approvals.allowed_signers (git's gpg.ssh.allowedSignersFile format), use "
            'the github provider, or set approvals.identity = "declared"'
        )
    if Path(name).is_absolute():
        path = Path(name)
        text = path.read_text(encoding="utf-8") if path.is_file() else None
        origin = name
    else:
        text = committed_text(ctx, record, name)
        origin = f"{name} {record.where}"
    if text is None:
        raise NotAuthorizedError(f"{who} cannot {what}: approvals.allowed_signers: no {origin}")
    return _AllowedSigners(origin, text, signers.parse_allowed_signers(text, origin))
