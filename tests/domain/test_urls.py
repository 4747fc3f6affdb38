from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from safedeploy.domain.urls import (
    Credentials,
    host_of,
    is_loopback,
    redact,
    remote_refusal,
    split_credentials,
)

SECRET_CHARS = string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:"


def test_redact_masks_the_user_info_of_every_url_in_a_text() -> None:
    text = "fatal: https://u:p@h/r failed, then http://admin:PW@prom:9090/api?x=a@b"
    assert redact(text) == "fatal: https://***@h/r failed, then http://***@prom:9090/api?x=a@b"
    # An "@" in a path or query is not user-info; scp-like remotes carry a user, no secret.
    assert redact("https://h/a@b") == "https://h/a@b"
    assert redact("git@github.com:acme/env.git") == "git@github.com:acme/env.git"


@given(
    user=st.text(SECRET_CHARS.replace(":", ""), min_size=1, max_size=12),
    password=st.text(SECRET_CHARS + "@", min_size=6, max_size=24),
    scheme=st.sampled_from(["http", "https", "ssh", "git+https"]),
)
def test_no_password_survives_redaction(user: str, password: str, scheme: str) -> None:
    url = f"{scheme}://{user}:{password}@example.com:8443/path?q=1"
    shown = redact(f"cannot reach {url}: refused")
    assert password not in shown
    assert shown == f"cannot reach {scheme}://***@example.com:8443/path?q=1: refused"


def test_split_credentials_takes_the_user_info_out_of_the_url() -> None:
    clean, found = split_credentials("https://x-access-token:tok%40en@github.com/a/b.git")
    assert clean == "https://github.com/a/b.git"
    assert found == Credentials("x-access-token", "tok@en")
    assert split_credentials("https://github.com/a/b.git") == ("https://github.com/a/b.git", None)
    assert split_credentials("/srv/env.git") == ("/srv/env.git", None)


def test_host_of_each_kind_of_remote() -> None:
    assert host_of("https://u:p@GitHub.com:443/a/b") == "github.com"
    assert host_of("git@gitlab.example.com:team/env.git") == "gitlab.example.com"
    assert host_of("ssh://git@git.example.com/env.git") == "git.example.com"
    assert host_of("/srv/env.git") is None
    assert host_of("../env.git") is None
    assert host_of("file:///srv/env.git") is None


def test_loopback() -> None:
    assert all(is_loopback(h) for h in ("localhost", "127.0.0.1", "127.8.0.1", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("example.com", "10.0.0.1", "localhost.evil.com"))


def test_remote_refusal() -> None:
    allowed = frozenset({"github.com"})
    assert remote_refusal("https://github.com/acme/env.git", allowed) is None
    assert remote_refusal("/srv/env.git", frozenset()) is None
    other = remote_refusal("https://u:secret@evil.example/env.git", allowed)
    assert other is not None
    assert "host evil.example is not in environment.allowed_hosts (github.com)" in other
    assert "secret" not in other
    plain = remote_refusal("http://github.com/acme/env.git", allowed)
    assert plain is not None and "plain http:// is refused" in plain
    assert remote_refusal("http://127.0.0.1:8080/env.git", frozenset({"127.0.0.1"})) is None
    # Loopback lifts the http:// refusal, not the allow-list.
    assert remote_refusal("http://127.0.0.1:8080/env.git", allowed) is not None
