"""URLs as safedeploy shows, stores and trusts them: the one place credentials are removed.

A URL may carry user-info (`https://user:token@host/...`). Every boundary where a URL is
rendered (a message, a state file, a commit, a pull request body, a commit status) shows
it through `redact`, and the adapters that connect somewhere take the credentials out of
the URL first (`split_credentials`) and hand them over another way (an HTTP header, git's
credential helper through the environment), so the URL they keep is clean to begin with.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple
from urllib.parse import unquote, urlsplit, urlunsplit

# scheme://user-info@ : the user-info is anything up to the last "@" before the path.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s@]*(?:@[^/?#\s@]*)*@")
# git's scp-like form: user@host:path (no scheme).
_SCP_LIKE = re.compile(r"^(?P<user>[^@/:\s]+)@(?P<host>[^:/\s]+):(?P<path>.*)$")
MASK = "***"


class Credentials(NamedTuple):
    username: str
    password: str


def redact(text: str) -> str:
    """`text` with the user-info of every URL in it replaced by `***`."""
    return _USERINFO.sub(rf"\g<scheme>{MASK}@", text)


def split_credentials(url: str) -> tuple[str, Credentials | None]:
    """The URL without its user-info, and the user-info (None when it had none)."""
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    clean = urlunsplit(parts._replace(netloc=host))
    return clean, Credentials(unquote(username), unquote(password))


def host_of(remote: str) -> str | None:
    """The host a remote connects to, lower case; None for a local path or file:// URL."""
    if "://" in remote:
        parts = urlsplit(remote)
        if parts.scheme == "file":
            return None
        return (parts.hostname or "").lower() or None
    scp = _SCP_LIKE.match(remote)
    if scp is not None and "/" not in remote.split(":", 1)[0]:
        return scp.group("host").lower()
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def remote_refusal(remote: str, allowed_hosts: frozenset[str]) -> str | None:
    """Why safedeploy will not connect to `remote` (None: it may).

    Local paths need no host. `http://` sends everything, credentials included, in the
    clear, so it is accepted only on this machine; every other host must be allowed.
    """
    host = host_of(remote)
    if host is None:
        return None
    shown = redact(remote)
    if urlsplit(remote).scheme == "http" and not is_loopback(host):
        return f"{shown}: plain http:// is refused except on loopback; use https://"
    if host not in allowed_hosts:
        allowed = ", ".join(sorted(allowed_hosts)) or "none"
        return (
            f"{shown}: host {host} is not in environment.allowed_hosts ({allowed}); add it "
            "to safedeploy.toml to allow it"
        )
    return None
