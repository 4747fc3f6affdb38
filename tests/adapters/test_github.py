from __future__ import annotations

import pytest

from safedeploy.adapters.github import (
    DEFAULT_API_URL,
    GitHubClient,
    Throttle,
    normalize_api_url,
    token_from_environment,
)
from safedeploy.errors import BadInputError, GitHubError
from testing.github_server import FakeGitHub

TOKEN = "ghp_test-token-0123456789"
NO_WAIT = Throttle(seconds_between_requests=0, seconds_between_writes=0, retries=0)
HEAD = "safedeploy/rb-1"


def client(server: FakeGitHub, repo: str = "acme/env") -> GitHubClient:
    return GitHubClient(repo, server.base_url, TOKEN, throttle=NO_WAIT)


def open_pr(gh: GitHubClient) -> tuple[str, int, bool]:
    return gh.find_or_open_pull_request(
        HEAD, "main", "Roll back checkout to 1.4.2", "Evidence: ...", ["safedeploy", "rollback"]
    )


def test_opens_a_labelled_pull_request(github_server: FakeGitHub) -> None:
    url, number, created = open_pr(client(github_server))
    assert (url, number, created) == ("https://github.example.com/acme/env/pull/1", 1, True)
    (create,) = github_server.requests_to("/repos/acme/env/pulls", "POST")
    assert create.body == {
        "title": "Roll back checkout to 1.4.2",
        "body": "Evidence: ...",
        "base": "main",
        "head": HEAD,
    }
    (labels,) = github_server.requests_to("/issues/1/labels", "POST")
    assert labels.body == ["safedeploy", "rollback"] or labels.body == {
        "labels": ["safedeploy", "rollback"]
    }
    assert [lb["name"] for lb in github_server.pulls["acme/env"][0]["labels"]] == [
        "safedeploy",
        "rollback",
    ]


def test_second_call_finds_the_open_pull_request(github_server: FakeGitHub) -> None:
    first = open_pr(client(github_server))
    second = open_pr(client(github_server))
    assert second == (first[0], first[1], False)
    assert len(github_server.pulls["acme/env"]) == 1
    assert len(github_server.requests_to("/pulls", "POST")) == 1
    assert len(github_server.requests_to("/labels", "POST")) == 1
    listing = github_server.requests_to("/repos/acme/env/pulls", "GET")[-1]
    assert listing.query["head"] == [f"acme:{HEAD}"] and listing.query["state"] == ["open"]


def test_authorization_header_carries_the_token(github_server: FakeGitHub) -> None:
    open_pr(client(github_server))
    assert github_server.requests
    assert {r.headers.get("Authorization") for r in github_server.requests} == {f"token {TOKEN}"}


def test_race_on_create_returns_the_other_pull_request(github_server: FakeGitHub) -> None:
    gh = client(github_server)
    # Another run opens the PR between our listing and our create.
    other = client(github_server)
    original = gh._open_pull
    calls: list[int] = []

    def listing_then_race(repo: object, head: str) -> object:
        calls.append(1)
        if len(calls) == 1:
            open_pr(other)
            return None
        return original(repo, head)  # type: ignore[arg-type]

    gh._open_pull = listing_then_race  # type: ignore[method-assign,assignment]
    assert open_pr(gh) == ("https://github.example.com/acme/env/pull/1", 1, False)
    assert len(github_server.pulls["acme/env"]) == 1


def test_validation_failure_is_a_github_error(github_server: FakeGitHub) -> None:
    github_server.fail_next("/repos/acme/env/pulls", 422, method="POST")
    with pytest.raises(GitHubError) as caught:
        open_pr(client(github_server))
    message = str(caught.value)
    assert "422 rejected as invalid: Validation Failed; Injected failure" in message
    assert f"open pull request for {HEAD}" in message and "acme/env" in message


def test_server_error_is_not_retried_for_writes(github_server: FakeGitHub) -> None:
    github_server.fail_next("/repos/acme/env/pulls", 500, method="POST")
    gh = GitHubClient(
        "acme/env", github_server.base_url, TOKEN, throttle=NO_WAIT._replace(retries=2)
    )
    with pytest.raises(GitHubError, match="500 server error, safe to retry"):
        open_pr(gh)
    assert len(github_server.requests_to("/pulls", "POST")) == 1
    assert open_pr(gh)[2] is True  # the next approval run succeeds


def test_reads_are_retried_on_gateway_errors(github_server: FakeGitHub) -> None:
    github_server.fail_next("/repos/acme/env", 502, count=1, method="GET")
    gh = GitHubClient("acme/env", github_server.base_url, TOKEN, throttle=Throttle(0, 0, retries=2))
    assert open_pr(gh)[2] is True
    assert len(github_server.requests_to("/repos/acme/env", "GET")) == 2


def test_rate_limit_names_the_reset_time(github_server: FakeGitHub) -> None:
    github_server.fail_next("/repos/acme/env/pulls", 403, method="GET", rate_limited=True)
    with pytest.raises(GitHubError) as caught:
        open_pr(client(github_server))
    assert "API rate limit exhausted, resets at 20" in str(caught.value)


def test_missing_repository(github_server: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match="404 not found, or the token cannot see it"):
        open_pr(client(github_server, "acme/absent"))


def test_commit_status_is_posted(github_server: FakeGitHub) -> None:
    sha = "a" * 40
    client(github_server).post_commit_status(
        sha, "failure", "safedeploy/gate", "x" * 200, target_url="https://ci.example.com/1"
    )
    (post,) = github_server.requests_to(f"/statuses/{sha}", "POST")
    assert post.body == {
        "state": "failure",
        "target_url": "https://ci.example.com/1",
        "description": "x" * 140,
        "context": "safedeploy/gate",
    }
    assert github_server.statuses[("acme/env", sha)][0]["state"] == "failure"


def test_commit_status_failure(github_server: FakeGitHub) -> None:
    github_server.fail_next("/statuses/" + "b" * 40, 500)
    with pytest.raises(GitHubError, match="post status safedeploy/gate on bbbbbbbbbbbb"):
        client(github_server).post_commit_status("b" * 40, "success", "safedeploy/gate", "ok")


@pytest.mark.parametrize("status", [422, 500, 403])
def test_the_token_never_appears_in_errors(github_server: FakeGitHub, status: int) -> None:
    github_server.fail_next("/repos/acme/env/pulls", status, rate_limited=status == 403)
    with pytest.raises(GitHubError) as caught:
        open_pr(client(github_server))
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_token_comes_from_the_environment() -> None:
    assert token_from_environment({"GITHUB_TOKEN": TOKEN}) == TOKEN
    for environ in ({}, {"GITHUB_TOKEN": "  "}):
        with pytest.raises(BadInputError, match=r"^GITHUB_TOKEN is not set$"):
            token_from_environment(environ)
    with pytest.raises(BadInputError, match=r"^GITHUB_TOKEN is not set$"):
        GitHubClient.from_environment("acme/env", None, {})


def test_bad_repository_name() -> None:
    with pytest.raises(BadInputError, match="not owner/name"):
        GitHubClient("acme", None, TOKEN)


def test_api_urls() -> None:
    assert normalize_api_url(None) == DEFAULT_API_URL
    assert normalize_api_url("https://github.com/") == DEFAULT_API_URL
    assert normalize_api_url("https://ghe.example.com/api/v3/") == "https://ghe.example.com/api/v3"
