"""Credentials for git, handed over through the environment of the git process only.

A token in a remote URL would be stored in the clone's `.git/config` and shown in
`/proc/<pid>/cmdline` of git and its helpers; here git's one credential helper is
configured through `GIT_CONFIG_*` variables and reads the credentials from two more.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from safedeploy.domain.urls import Credentials

# git asks this helper, and only it (the empty value first drops any configured helper),
# for the credentials of the one remote: it reads them from the environment of the git
# process, so they are in no file, no URL and no command line.
_CREDENTIAL_HELPER = (
    "!f() { cat >/dev/null; "
    'test "$1" = get && test -n "$GITCRED_PASSWORD" || return 0; '
    'printf "username=%s\\npassword=%s\\n" "$GITCRED_USERNAME" '
    '"$GITCRED_PASSWORD"; }; f'
)
GITHUB_GIT_USER = "x-access-token"


class HostToken(NamedTuple):
    """A token for git on one host only (GITHUB_TOKEN on the configured GitHub host)."""

    host: str
    token: str


def credential_env(credentials: Credentials | None, *, only: bool = True) -> dict[str, str]:
    """git's configuration and the credentials, all through the environment.

    `only`: the helpers configured elsewhere are dropped, so that none of them can send
    a token it holds to a host of the catalog's choosing.
    """
    count = int(os.environ.get("GIT_CONFIG_COUNT", "0") or "0")
    helpers = ["", _CREDENTIAL_HELPER] if only else [_CREDENTIAL_HELPER]
    env = {"GIT_CONFIG_COUNT": str(count + len(helpers))}
    for number, helper in enumerate(helpers, start=count):
        env[f"GIT_CONFIG_KEY_{number}"] = "credential.helper"
        env[f"GIT_CONFIG_VALUE_{number}"] = helper
    # Always set, so that values inherited from the caller's environment never count.
    env["GITCRED_USERNAME"] = (credentials.username or GITHUB_GIT_USER) if credentials else ""
    env["GITCRED_PASSWORD"] = credentials.password if credentials else ""
    return env
