"""Settings: the file, its environment overrides, and URLs that must be URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from safedeploy.adapters.settings import load_settings, parse_settings
from safedeploy.errors import BadInputError


@pytest.mark.parametrize(
    ("variable", "key"),
    [
        ("SAFEDEPLOY_PROMETHEUS_URL", "prometheus.url"),
        ("SAFEDEPLOY_WEBHOOK_URL", "notify.webhook_url"),
        ("SAFEDEPLOY_GITHUB_API_URL", "github.api_url"),
    ],
)
def test_a_url_without_a_scheme_names_the_variable_and_the_key(
    tmp_path: Path, variable: str, key: str
) -> None:
    with pytest.raises(BadInputError) as caught:
        load_settings(tmp_path, {variable: "127.0.0.1:9090"})
    assert str(caught.value) == (
        f"{variable} (environment): {key}: '127.0.0.1:9090' is not an http:// or https:// URL "
        "(write http://127.0.0.1:9090)"
    )


@pytest.mark.parametrize("url", ["ftp://prometheus:9090", "http://", "prometheus"])
def test_other_non_http_urls_in_the_file_name_the_file(tmp_path: Path, url: str) -> None:
    (tmp_path / "safedeploy.toml").write_text(f'[prometheus]\nurl = "{url}"\n')
    with pytest.raises(BadInputError, match=r"safedeploy.toml: prometheus.url: .*not an http"):
        load_settings(tmp_path, {})


def test_http_and_https_urls_are_kept_as_written(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        {
            "SAFEDEPLOY_PROMETHEUS_URL": "http://127.0.0.1:9090/prefix/",
            "SAFEDEPLOY_WEBHOOK_URL": "https://hooks.example.com/x",
        },
    )
    assert settings.prometheus.url == "http://127.0.0.1:9090/prefix/"
    assert settings.notify.webhook_url == "https://hooks.example.com/x"
    assert settings.github.api_url == "https://api.github.com"


def test_allowed_hosts_default_to_the_configured_repos() -> None:
    settings = parse_settings(
        '[environment]\nrepo = "git@GitHub.com:acme/env.git"\n', "safedeploy.toml", {}
    )
    assert settings.allowed_hosts == frozenset({"github.com"})
    enterprise = parse_settings(
        '[github]\nrepo = "acme/env"\napi_url = "https://ghe.example.com/api/v3"\n',
        "safedeploy.toml",
        {},
    )
    assert enterprise.github.git_host == "ghe.example.com"
    assert enterprise.allowed_hosts == frozenset({"ghe.example.com"})
    assert parse_settings(None, "safedeploy.toml", {}).allowed_hosts == frozenset()


def test_allowed_hosts_from_the_file_or_the_environment() -> None:
    listed = parse_settings(
        '[environment]\nrepo = "https://a.example/env.git"\nallowed_hosts = ["B.example"]\n',
        "safedeploy.toml",
        {},
    )
    assert listed.allowed_hosts == frozenset({"b.example"})  # the list replaces the default
    overridden = parse_settings(
        None, "safedeploy.toml", {"SAFEDEPLOY_ENVIRONMENT_ALLOWED_HOSTS": "a.example, c.example"}
    )
    assert overridden.allowed_hosts == frozenset({"a.example", "c.example"})
